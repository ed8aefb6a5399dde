"""The operations commands as an operator runs them, against a hub worker process."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from schemas.writer import write_package
from tests.hub.hub_stack import LIENTHONG, HubStack, document
from tests.hub.operations.conftest import DISTRICT, PROVINCE, queued_delivery, reject, wait_for


async def cli(hub: HubStack, *args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    command = [str(LIENTHONG), *map(str, args)]
    return await asyncio.to_thread(
        subprocess.run, command, env=hub.env(**env), capture_output=True, text=True,
        timeout=120, check=False, cwd=hub.directory,
    )  # fmt: skip


async def cli_json(hub: HubStack, *args: str | Path) -> Any:
    done = await cli(hub, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def one_line_error(done: subprocess.CompletedProcess[str], starts: str) -> None:
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(starts) and done.stderr.count("\n") == 1, done.stderr


@pytest.fixture
async def worker(hub: HubStack) -> AsyncIterator[None]:
    """`lienthong hub serve --role worker`: intake and the dead-letter keeper."""
    process = hub.worker_process()
    try:
        yield
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)


async def test_dead_letters_from_list_to_replay(hub: HubStack, worker: None) -> None:
    province = hub.members[PROVINCE]
    body = province.sign(document(PROVINCE, DISTRICT, subject="Công văn về lịch tiếp dân"))
    await hub.publish(province, body, message_id="cli-doc")
    await queued_delivery(hub, "cli-doc", DISTRICT)
    await reject(hub, hub.settings.mailbox_queue(DISTRICT))

    async def kept() -> list[Any] | None:
        return await cli_json(hub, "dlq", "list") or None

    (row,) = await wait_for(kept)  # the worker process's keeper stored it
    assert (row["message_id"], row["reason"]) == ("cli-doc", "rejected")
    listed = await cli(hub, "dlq", "list")
    assert f"mailbox {DISTRICT}" in listed.stdout and "rejected" in listed.stdout
    shown = await cli(hub, "dlq", "show", str(row["id"]))
    assert "died in      " + hub.settings.mailbox_queue(DISTRICT) in shown.stdout
    replayed = await cli(hub, "dlq", "replay", str(row["id"]))
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == f"replayed dead letter {row['id']} to mailbox {DISTRICT} " \
        "(message cli-doc)\n"  # fmt: skip
    assert [m.body for m in await hub.drain(DISTRICT, expect=1)] == [body]
    again = await cli(hub, "dlq", "replay", str(row["id"]))
    one_line_error(again, f"lienthong: dead letter {row['id']} was already replayed by cli:")
    one_line_error(await cli(hub, "dlq", "discard", "4242"), "lienthong: no dead letter 4242")
    assert (await cli(hub, "dlq", "list")).stdout == "no dead letters waiting\n"
    assert [r["state"] for r in await cli_json(hub, "dlq", "list", "--state", "all")] == [
        "replayed"
    ]


async def test_queues_trace_and_quarantine(hub: HubStack, worker: None, tmp_path: Path) -> None:
    province = hub.members[PROVINCE]
    doc = document(PROVINCE, DISTRICT, subject="Giấy mời họp giao ban tháng 12")
    await hub.publish(province, province.sign(doc), message_id="invite")
    unsigned = write_package(document(PROVINCE, DISTRICT))
    await hub.publish(province, unsigned, message_id="unsigned")
    await queued_delivery(hub, "invite", DISTRICT)

    async def stuck() -> list[str] | None:
        found = await cli_json(hub, "queues")
        return [row["code"] for row in found["mailboxes"] if row["stuck"]] or None

    # The province has its refusal (02) waiting, the district the invitation; nobody reads.
    assert await wait_for(stuck) == [PROVINCE, DISTRICT]
    table = (await cli(hub, "queues")).stdout.splitlines()
    assert [line.split()[:2] for line in table[1:3]] == [["STUCK", PROVINCE], ["STUCK", DISTRICT]]
    assert len(table) == 2 + len(hub.members) and table[-1].startswith("4 mailboxes, 2 stuck")
    only_stuck = (await cli(hub, "queues", "--stuck")).stdout.splitlines()
    assert [line.split()[:2] for line in only_stuck[1:]] == [
        ["STUCK", PROVINCE],
        ["STUCK", DISTRICT],
        ["2", "mailboxes,"],
    ]
    traced = await cli(hub, "trace", "giao ban")
    assert traced.stdout.startswith("invite  ") and f"    {DISTRICT}: queued" in traced.stdout
    assert [d["envelope_id"] for d in await cli_json(hub, "trace", doc.document_id or "")] == [
        "invite"
    ]
    assert (
        await cli(hub, "trace", "no such thing")
    ).stdout == "no document matches 'no such thing'\n"
    (refused,) = await cli_json(hub, "quarantine", "list")
    assert refused["message_id"] == "unsigned" and "not signed" in refused["reason"]
    saved = tmp_path / "refused.xml"
    shown = await cli(hub, "quarantine", "show", str(refused["id"]), "--out", saved)
    assert "not signed" in shown.stdout and saved.read_bytes() == unsigned
    one_line_error(await cli(hub, "quarantine", "show", "4242"), "lienthong: no quarantined")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_service_is_one_line_not_a_traceback(hub: HubStack) -> None:
    management = f"http://guest:guest@127.0.0.1:{_closed_port()}/"
    done = await cli(hub, "queues", amqp_management_url=management)
    one_line_error(done, "lienthong: RabbitMQ management API: GET")
    broker = f"amqp://guest:guest@127.0.0.1:{_closed_port()}/"
    one_line_error(await cli(hub, "dlq", "replay", "1", amqp_url=broker), "lienthong: cannot reach")
    one_line_error(await cli(hub, "trace", " "), "lienthong: say what to look for")
