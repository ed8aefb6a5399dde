"""Crashes and outages: nothing accepted is lost, nothing is delivered twice."""

from __future__ import annotations

import asyncio
import subprocess
from urllib.parse import urlsplit

import aio_pika
import asyncpg

from tests.hub.hub_stack import HubStack, document
from tests.hub.intake.conftest import COMMUNE_A, COMMUNE_B, DISTRICT
from tests.hub.mailboxes import refusing, set_policy
from tests.services import POSTGRES_ADMIN_DSN

CRASH_EXIT_CODE = 86


async def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    await asyncio.to_thread(process.wait, 30)


async def test_a_worker_killed_between_commit_and_ack_leaves_exactly_one_copy(
    hub: HubStack,
) -> None:
    commune = hub.members[COMMUNE_A]
    await hub.publish(commune, commune.sign(document(COMMUNE_A, DISTRICT, COMMUNE_B)))
    crashing = hub.worker_process(crash_after_commit="true")
    assert await asyncio.to_thread(crashing.wait, 90) == CRASH_EXIT_CODE
    assert await hub.drain(DISTRICT, expect=0, timeout=1) == []
    worker = hub.worker_process()
    try:
        district = await hub.drain(DISTRICT, expect=1)
        commune_b = await hub.drain(COMMUNE_B, expect=1)
    finally:
        await _stop(worker)
    assert len(district) == 1 and len(commune_b) == 1


async def test_two_worker_processes_share_the_intake_without_double_delivery(hub: HubStack) -> None:
    commune = hub.members[COMMUNE_A]
    bodies = [commune.sign(document(COMMUNE_A, DISTRICT)) for _ in range(30)]
    workers = [hub.worker_process(), hub.worker_process()]
    try:
        for index, body in enumerate(bodies):
            await hub.publish(commune, body, message_id=f"env-{index}")
        received = await hub.drain(DISTRICT, expect=len(bodies), timeout=60)
    finally:
        for worker in workers:
            await _stop(worker)
    assert sorted(m.message_id or "" for m in received) == sorted(f"env-{i}" for i in range(30))


async def _allow_connections(database: str, allowed: bool) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                database,
            )
    finally:
        await admin.close()


async def test_while_postgresql_is_away_the_worker_waits_and_burns_nothing(hub: HubStack) -> None:
    commune = hub.members[COMMUNE_A]
    database = urlsplit(hub.settings.database_url).path.lstrip("/")
    async with hub.worker():
        await _allow_connections(database, False)
        try:
            await hub.publish(
                commune, commune.sign(document(COMMUNE_A, DISTRICT)), message_id="during"
            )
            await asyncio.sleep(3)
            dead = await hub.drain_queue(hub.settings.dead_letter_queue, expect=0, timeout=1)
            routed = await hub.drain(DISTRICT, expect=0, timeout=1)
        finally:
            await _allow_connections(database, True)
        received = await hub.drain(DISTRICT, expect=1)
    assert dead == [] and routed == []
    assert [m.message_id for m in received] == ["during"]


async def _restart_rabbitmq() -> None:
    for step in (["rabbitmqctl", "-q", "stop_app"], ["rabbitmqctl", "-q", "start_app"],
                 ["rabbitmqctl", "-q", "await_startup"]):  # fmt: skip
        await asyncio.to_thread(subprocess.run, step, check=True, capture_output=True, timeout=120)


async def test_a_rabbitmq_restart_while_envelopes_flow_loses_nothing(hub: HubStack) -> None:
    commune = hub.members[COMMUNE_A]
    worker = hub.worker_process()
    try:
        for index in range(15):
            await hub.publish(
                commune, commune.sign(document(COMMUNE_A, DISTRICT)), message_id=f"a-{index}"
            )
        await _restart_rabbitmq()
        for index in range(15):
            await hub.publish(
                commune, commune.sign(document(COMMUNE_A, DISTRICT)), message_id=f"b-{index}"
            )
        received = await hub.drain(DISTRICT, expect=30, timeout=90)
    finally:
        await _stop(worker)
    expected = {f"a-{i}" for i in range(15)} | {f"b-{i}" for i in range(15)}
    assert {m.message_id for m in received} == expected


async def _waiting(hub: HubStack, code: str) -> list[object]:
    """Messages beyond the filler in a mailbox, without taking any."""
    connection = await aio_pika.connect(hub.settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(hub.settings.mailbox_queue(code), passive=True)
        count = queue.declaration_result.message_count or 0
    return [object()] * (count - 1)


async def test_one_recipient_refusing_never_duplicates_the_others(hub: HubStack) -> None:
    """B's mailbox refuses publishes for a while: A gets one copy, B gets its own later."""
    district = hub.members[DISTRICT]
    full = await refusing(hub, COMMUNE_B)
    try:
        async with hub.worker():
            await hub.publish(district, district.sign(document(DISTRICT, COMMUNE_A, COMMUNE_B)))
            first_a = await hub.drain(COMMUNE_A, expect=1)
            while_full = await _waiting(hub, COMMUNE_B)
            await set_policy(hub.settings.vhost, full, None)
            commune_b = await hub.drain(COMMUNE_B, expect=2)
            again_a = await hub.drain(COMMUNE_A, expect=0, timeout=2)
    finally:
        await set_policy(hub.settings.vhost, full, None)
    assert (len(first_a), len(while_full), len(again_a)) == (1, 0, 0)
    assert [m.message_id for m in commune_b] == ["filler", first_a[0].message_id]
