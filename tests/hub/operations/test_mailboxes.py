"""Mailbox health: what waits, who reads, what is stuck; and the intake backlog."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import partial
from typing import Any

import aio_pika
from sqlalchemy import select

from hub.models import TimelineEvent
from hub.operations import service
from hub.operations.payloads import MailboxRow
from tests.hub.hub_stack import HubStack, document, status_on
from tests.hub.operations.conftest import (
    COMMUNE_A,
    COMMUNE_B,
    DISTRICT,
    PROVINCE,
    queued_delivery,
    wait_for,
)


async def _rows(hub: HubStack, **options: Any) -> dict[str, MailboxRow]:
    async with hub.runtime.sessions() as session:
        rows = await service.mailboxes(session, hub.settings, **options)
    return {row.code: row for row in rows}


async def _rows_once(hub: HubStack, code: str, ready: int, **extra: int) -> dict[str, MailboxRow]:
    """Rows as soon as the statistics show `ready` messages (and `extra` figures) at `code`."""

    async def check() -> dict[str, MailboxRow] | None:
        rows = await _rows(hub)
        row = rows[code]
        settled = row.messages == ready and all(getattr(row, k) == v for k, v in extra.items())
        return rows if settled else None

    return await wait_for(check)


async def _send(hub: HubStack, sender: str, recipient: str, envelope_id: str) -> None:
    member = hub.members[sender]
    await hub.publish(member, member.sign(document(sender, recipient)), message_id=envelope_id)
    await queued_delivery(hub, envelope_id, recipient)


async def test_a_waiting_document_nobody_reads_makes_its_mailbox_stuck(hub: HubStack) -> None:
    async with hub.worker():
        await _send(hub, PROVINCE, DISTRICT, "doc-1")
        rows = await _rows_once(hub, DISTRICT, ready=1)
    assert list(rows) == sorted([PROVINCE, DISTRICT, COMMUNE_A, COMMUNE_B])
    district = rows[DISTRICT]
    assert district.stuck and district.consumers == 0 and district.queue_found
    assert district.queue == hub.settings.mailbox_queue(DISTRICT)
    assert district.name == f"Agency {DISTRICT}" and district.level == "district"
    assert district.oldest_age_s is not None and 0 <= district.oldest_age_s < 60
    assert district.last_consumed_at is None
    # The province got nothing and is not stuck (its refusals and statuses would show here).
    assert not rows[PROVINCE].stuck and rows[PROVINCE].messages == 0
    assert rows[PROVINCE].oldest_age_s is None


async def test_a_mailbox_being_read_is_stuck_only_when_its_oldest_waits_too_long(
    hub: HubStack,
) -> None:
    district = hub.members[DISTRICT]
    async with hub.worker():
        await _send(hub, PROVINCE, DISTRICT, "doc-1")
        await _send(hub, PROVINCE, DISTRICT, "doc-2")
    connection = await hub.connect_as(district)  # an adapter holding one message, unacked
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=1)
    queue = await channel.get_queue(hub.settings.mailbox_queue(DISTRICT), ensure=False)
    held: list[aio_pika.abc.AbstractIncomingMessage] = []
    await queue.consume(partial(_hold, held))
    await _rows_once(hub, DISTRICT, ready=1, consumers=1, unacknowledged=1)
    patient = (await _rows(hub, stuck_after_s=3600))[DISTRICT]
    impatient = (await _rows(hub, stuck_after_s=0))[DISTRICT]
    assert not patient.stuck and patient.consumers == 1
    assert impatient.stuck and impatient.oldest_age_s is not None


async def _hold(held: list[aio_pika.abc.AbstractIncomingMessage],
                message: aio_pika.abc.AbstractIncomingMessage) -> None:  # fmt: skip
    held.append(message)


async def _age_between(hub: HubStack, queued_at: datetime) -> tuple[float, float, float | None]:
    before = datetime.now(UTC)
    age = (await _rows(hub))[DISTRICT].oldest_age_s
    after = datetime.now(UTC)
    return (before - queued_at).total_seconds(), (after - queued_at).total_seconds(), age


async def _answered(hub: HubStack, document_id: str) -> datetime:
    async def check() -> datetime | None:
        async with hub.runtime.sessions() as session:
            query = select(TimelineEvent.at).where(
                TimelineEvent.source_envelope_id == document_id, TimelineEvent.status_code == "01"
            )
            return (await session.scalars(query)).one_or_none()

    return await wait_for(check)


async def test_the_oldest_waiting_document_is_the_oldest_not_answered_with_01(
    hub: HubStack,
) -> None:
    district = hub.members[DISTRICT]
    first_doc, second_doc = document(PROVINCE, DISTRICT), document(PROVINCE, DISTRICT)
    province = hub.members[PROVINCE]
    async with hub.worker():
        await hub.publish(province, province.sign(first_doc), message_id="doc-1")
        first = await queued_delivery(hub, "doc-1", DISTRICT)
        await asyncio.sleep(2)
        await hub.publish(province, province.sign(second_doc), message_id="doc-2")
        second = await queued_delivery(hub, "doc-2", DISTRICT)
        await _rows_once(hub, DISTRICT, ready=2)
        low, high, age = await _age_between(hub, first.queued_at or datetime.min)
        assert age is not None and low <= age <= high
        answer = status_on(first_doc, DISTRICT, "01")
        await hub.publish(district, district.sign(answer), message_id="answer-1")
        answered_at = await _answered(hub, "answer-1")
    rows = await _rows(hub)
    assert rows[DISTRICT].last_consumed_at == answered_at
    low, high, age = await _age_between(hub, second.queued_at or datetime.min)
    assert age is not None and low <= age <= high


async def test_intake_backlog_counts_what_the_workers_have_not_handled(hub: HubStack) -> None:
    province = hub.members[PROVINCE]
    for index in range(3):
        await hub.publish(province, province.sign(document(PROVINCE, DISTRICT)), f"b-{index}")

    async def backlog(expected: int) -> int | None:
        found = await service.intake_backlog(hub.settings)
        return found if found == expected else None

    assert await wait_for(lambda: backlog(3)) == 3
    async with hub.worker():
        assert await wait_for(lambda: backlog(0)) == 0


async def test_a_mailbox_queue_missing_from_rabbitmq_is_shown(hub: HubStack) -> None:
    connection = await aio_pika.connect(hub.settings.amqp_url)
    async with connection:
        await (await connection.channel()).queue_delete(hub.settings.mailbox_queue(COMMUNE_B))
    rows = await _rows(hub)
    assert not rows[COMMUNE_B].queue_found and rows[COMMUNE_A].queue_found
