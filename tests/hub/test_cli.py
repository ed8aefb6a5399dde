"""The hub's commands as an operator runs them, on the real services."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import asyncpg
import httpx
import pytest
from aiormq.exceptions import ChannelAccessRefused

from hub.broker_admin import BrokerAdmin
from tests.hub.hub_stack import LIENTHONG, HubStack, hub_stack
from tests.hub.served import free_port
from tests.sdk_fixtures import DIRECTORY_CSV
from tests.services import POSTGRES_ADMIN_DSN, database_exists, unique_name


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[HubStack]:
    async with hub_stack(tmp_path) as hub:
        yield hub


async def cli(hub: HubStack, *args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [str(LIENTHONG), *map(str, args)]
    return await asyncio.to_thread(
        subprocess.run, command, env=hub.env(), capture_output=True, text=True, timeout=120,
        check=False, cwd=hub.directory,
    )  # fmt: skip


async def test_importing_the_province_directory(stack: HubStack, tmp_path: Path) -> None:
    credentials = tmp_path / "credentials.csv"
    done = await cli(stack, "agency", "import", DIRECTORY_CSV, "--credentials", credentials)
    assert done.returncode == 0, done.stderr
    assert "created 78, updated 0, unchanged 0; 11 groups" in done.stdout
    rows = list(csv.DictReader(credentials.open()))
    assert len(rows) == 78 and oct(credentials.stat().st_mode & 0o777) == "0o600"
    again = await cli(stack, "agency", "import", DIRECTORY_CSV)
    assert "created 0, updated 0, unchanged 78" in again.stdout
    listed = json.loads((await cli(stack, "agency", "list", "--json")).stdout)
    district = next(a for a in listed if a["name"] == "UBND huyện Hải Hậu")
    assert district["parent_code"] == "000.00.00.H40" and district["level"] == "district"
    commune = rows[-1]
    await _prove_least_privilege(stack, commune, other=rows[0]["mailbox"])


async def _prove_least_privilege(stack: HubStack, row: dict[str, str], other: str) -> None:
    url = stack.settings.amqp_url.replace(
        "guest:guest", f"{row['broker_user']}:{row['broker_password']}"
    )
    connection = await aio_pika.connect(url)
    async with connection:
        own = await (await connection.channel()).get_queue(row["mailbox"], ensure=False)
        assert await own.get(fail=False) is None  # may read its own mailbox
        channel = await connection.channel()
        with pytest.raises(ChannelAccessRefused):
            await (await channel.get_queue(other, ensure=False)).get(fail=False)


async def test_agency_lifecycle_and_certificates(stack: HubStack, tmp_path: Path) -> None:
    added = await cli(stack, "agency", "add", "000.00.29.H40", "--name", "UBND huyện Hải Hậu",
                      "--level", "district")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "broker password (shown once" in added.stdout
    keys = await cli(
        stack, "keys", "agency", "000.00.29.H40", "--ca-dir", tmp_path, "--out", tmp_path
    )
    assert keys.returncode == 0, keys.stderr
    cert = await cli(
        stack, "agency", "cert", "add", "000.00.29.H40", tmp_path / "000.00.29.H40.cert.pem"
    )
    assert cert.returncode == 0, cert.stderr
    fingerprint = cert.stdout.split()[2]
    shown = json.loads((await cli(stack, "agency", "show", "000.00.29.H40")).stdout)
    assert shown["certificates"][0]["fingerprint"] == fingerprint
    assert (
        await cli(stack, "agency", "suspend", "000.00.29.H40")
    ).stdout.strip() == "000.00.29.H40 is suspended"
    revoked = await cli(stack, "agency", "cert", "revoke", "000.00.29.H40", fingerprint[:10])
    assert revoked.returncode == 0 and fingerprint in revoked.stdout


async def test_operator_mistakes_get_one_clear_line(stack: HubStack, tmp_path: Path) -> None:
    unknown = await cli(stack, "agency", "show", "000.99.99.H40")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "lienthong: no agency with code '000.99.99.H40' is registered"
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,level,parent_code\n000.00.01.H40,Sở,ministry,\n")
    refused = await cli(stack, "agency", "import", bad)
    assert (
        refused.returncode == 2 and "row 2" in refused.stderr and "Traceback" not in refused.stderr
    )


async def test_audit_verify_finds_a_tampered_row(stack: HubStack) -> None:
    await cli(stack, "agency", "import", DIRECTORY_CSV)
    intact = await cli(stack, "audit", "verify")
    assert intact.returncode == 0 and "audit chain intact: 78 entries" in intact.stdout
    dsn = stack.settings.database_url.replace("+asyncpg", "")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("UPDATE audit_entry SET subject = '000.00.99.H40' WHERE id = 40")
    finally:
        await connection.close()
    broken = await cli(stack, "audit", "verify")
    assert broken.returncode == 1
    assert "audit chain BROKEN at entry 40: its content was changed" in broken.stderr


async def test_serve_answers_over_http(stack: HubStack) -> None:
    port = free_port()
    env = stack.env(api_port=str(port), operator_tokens='{"ops-token": "viewer"}')
    process = subprocess.Popen([str(LIENTHONG), "hub", "serve", "--role", "api"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            for _ in range(150):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.2)
            assert (await client.get("/readyz")).json() == {"database": "ok", "broker": "ok"}
            # the command became the lean serving process, under the pid that was started
            cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
            assert cmdline[1:7] == [b"-OO", b"-P", b"-m", b"hub", b"--role", b"api"]
            # -OO drops the libraries' docstrings, not the hub's: the API is still described
            spec = (await client.get("/openapi.json")).json()
            operations = [op for path in spec["paths"].values() for op in path.values()]
            assert operations and all(op.get("description") for op in operations)
            # with a fixed mmap threshold: large buffers go back to the system when freed
            environment = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
            assert b"MALLOC_MMAP_THRESHOLD_=131072" in environment
            assert (await client.get("/v1/agencies")).status_code == 401
            listed = await client.get("/v1/agencies", headers={"Authorization": "Bearer ops-token"})
            assert listed.status_code == 200 and listed.json() == []
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)


async def test_serve_with_an_unreadable_trust_bundle_stops_with_one_line(
    stack: HubStack, tmp_path: Path
) -> None:
    env = stack.env(api_port=str(free_port()), trust_bundle=str(tmp_path / "missing.pem"))
    done = await asyncio.to_thread(
        subprocess.run, [str(LIENTHONG), "hub", "serve"], env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "lienthong hub: the trust bundle (LIENTHONG_TRUST_BUNDLE) cannot be used" in done.stderr
    assert "Traceback" not in done.stderr and "Uvicorn running" not in done.stderr


async def test_db_upgrade_creates_a_missing_database(stack: HubStack) -> None:
    name = unique_name("lienthong_fresh")
    url = stack.settings.database_url.rsplit("/", 1)[0] + f"/{name}"
    env = stack.env(database_url=url)
    try:
        done = await asyncio.to_thread(
            subprocess.run, [str(LIENTHONG), "db", "upgrade"], env=env, capture_output=True,
            text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert await database_exists(name)
    finally:
        admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_the_hub_gets_a_broker_account_of_its_own(stack: HubStack) -> None:
    username = f"{stack.settings.broker_user_prefix}hub"
    done = await cli(stack, "hub", "broker-account", username)
    assert done.returncode == 0, done.stderr
    password = done.stdout.split("(shown once): ")[1].split()[0]
    async with BrokerAdmin(stack.settings) as admin:
        permissions = await admin.permissions(username)
    assert permissions is not None and "lienthong\\.intake" in permissions.write
    url = stack.settings.amqp_url.replace("guest:guest", f"{username}:{password}")
    connection = await aio_pika.connect(url)
    await connection.close()


async def test_bad_files_and_settings_are_one_line_each(stack: HubStack, tmp_path: Path) -> None:
    not_a_list = tmp_path / "agencies.json"
    not_a_list.write_text('{"code": "000.00.00.H40"}')
    twice = tmp_path / "twice.csv"
    twice.write_text(
        "code,name,level,parent_code\n000.00.00.H40,A,province,\n000.00.00.H40,B,province,\n"
    )
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(b"code,name,level,parent_code\n000.00.00.H40,S\xd5,province,\n")
    outcomes = [
        (await cli(stack, "agency", "import", not_a_list), 2, "must hold a list of agencies"),
        (await cli(stack, "agency", "import", twice), 1, "appear more than once: 000.00.00.H40"),
        (await cli(stack, "agency", "import", latin1), 2, "cannot be read"),
    ]
    for done, code, message in outcomes:
        assert (done.returncode, message in done.stderr, "Traceback" in done.stderr) == (
            code,
            True,
            False,
        ), done.stderr


async def test_an_unreachable_database_is_named_not_traced(stack: HubStack) -> None:
    env = stack.env(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    for args in (["agency", "list"], ["db", "upgrade"]):
        done = await asyncio.to_thread(
            subprocess.run, [str(LIENTHONG), *args], env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 1 and "LIENTHONG_DATABASE_URL" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    tokens = stack.env(operator_tokens="{not json")
    done = await asyncio.to_thread(
        subprocess.run, [str(LIENTHONG), "agency", "list"], env=tokens, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "LIENTHONG_" in done.stderr and "Traceback" not in done.stderr
