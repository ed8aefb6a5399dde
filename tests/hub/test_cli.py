"""The hub's commands as an operator runs them, on the real services."""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import asyncpg
import pytest
from aiormq.exceptions import ChannelAccessRefused

from tests.hub.hub_stack import LIENTHONG, HubStack, hub_stack
from tests.sdk_fixtures import DIRECTORY_CSV


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
