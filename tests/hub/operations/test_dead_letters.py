"""Dead letters: kept by the keeper, listed, replayed once, discarded, audited."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from hub.broker import DeadLettered
from hub.db import transaction
from hub.errors import Conflict, NotFound
from hub.models import AuditEntry, DeadLetter
from hub.operations import service
from hub.operations.payloads import DeadLetterRow
from tests.hub.hub_stack import HubStack, document
from tests.hub.operations.conftest import (
    DISTRICT,
    PROVINCE,
    keeper,
    queued_delivery,
    ready_count,
    reject,
    take,
    wait_for,
)


async def _deliver(hub: HubStack, envelope_id: str) -> bytes:
    """A document from the province in the district's mailbox; returns its signed bytes."""
    province = hub.members[PROVINCE]
    body = province.sign(document(PROVINCE, DISTRICT))
    async with hub.worker():
        await hub.publish(province, body, message_id=envelope_id)
        await queued_delivery(hub, envelope_id, DISTRICT)
    return body


async def _kept(
    hub: HubStack, count: int = 1, state: str | None = "waiting"
) -> list[DeadLetterRow]:
    async def check() -> list[DeadLetterRow] | None:
        async with hub.runtime.sessions() as session:
            rows = await service.dead_letters(session, state)
        return rows if len(rows) == count else None

    return await wait_for(check)


async def _audit(hub: HubStack, action: str) -> list[AuditEntry]:
    async with hub.runtime.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(await session.scalars(query))


async def _replay(hub: HubStack, ident: int, actor: str) -> DeadLetterRow:
    async with transaction(hub.runtime.sessions) as session:
        return await service.replay(session, hub.runtime.broker, ident, actor)


async def _discard(hub: HubStack, ident: int, actor: str) -> DeadLetterRow:
    async with transaction(hub.runtime.sessions) as session:
        return await service.discard(session, ident, actor)


async def test_a_rejected_mailbox_message_is_kept_and_replayed_exactly_once(hub: HubStack) -> None:
    body = await _deliver(hub, "doc-1")
    mailbox = hub.settings.mailbox_queue(DISTRICT)
    async with keeper(hub):
        await reject(hub, mailbox)
        (row,) = await _kept(hub)
    assert await ready_count(hub, hub.settings.dead_letter_queue) == 0  # acked once kept
    assert (row.message_id, row.queue, row.reason) == ("doc-1", mailbox, "rejected")
    assert row.destination == f"mailbox:{DISTRICT}" and row.routing_key == DISTRICT
    assert row.size == len(body) and row.attempts == 1
    async with hub.runtime.sessions() as session:
        entry = await service.dead_letter(session, row.id)
    assert entry.body.encode() == body and entry.headers["x-death"][0]["queue"] == mailbox
    assert len(await _audit(hub, "dead-letter")) == 1
    # Two operators press "replay" at once: one copy goes out, the other is told why not.
    results = await asyncio.gather(
        _replay(hub, row.id, "op-a"), _replay(hub, row.id, "op-b"), return_exceptions=True
    )
    assert sorted(type(result).__name__ for result in results) == ["Conflict", "DeadLetterRow"]
    copies = await hub.drain(DISTRICT, expect=1)
    assert [(m.body, m.message_id) for m in copies] == [(body, "doc-1")]
    (replayed,) = await _kept(hub, state="replayed")
    (audited,) = await _audit(hub, "dlq-replay")
    assert replayed.decided_by == audited.actor and audited.actor in {"op-a", "op-b"}
    assert audited.subject == "doc-1" and audited.detail["dead_letter"] == row.id
    assert await _kept(hub, count=0) == []  # nothing waiting any more


async def test_a_message_over_the_delivery_limit_is_kept_then_discarded(hub: HubStack) -> None:
    await _deliver(hub, "doc-1")
    mailbox = hub.settings.mailbox_queue(DISTRICT)
    async with keeper(hub):
        for _ in range(hub.settings.delivery_limit + 1):  # an adapter failing on it every time
            connection, message = await take(hub, mailbox)
            async with connection:
                await message.nack(requeue=True)
        (row,) = await _kept(hub)
    assert row.reason == "delivery_limit" and row.attempts == hub.settings.delivery_limit + 1
    discarded = await _discard(hub, row.id, "op-a")
    assert discarded.state == "discarded" and discarded.decided_by == "op-a"
    with pytest.raises(Conflict, match=f"dead letter {row.id} was already discarded by op-a"):
        await _replay(hub, row.id, "op-b")
    with pytest.raises(Conflict, match="already discarded"):
        await _discard(hub, row.id, "op-b")
    with pytest.raises(NotFound, match="no dead letter 4242"):
        await _discard(hub, 4242, "op-b")
    assert [entry.actor for entry in await _audit(hub, "dlq-discard")] == ["op-a"]
    assert await hub.drain(DISTRICT, expect=0, timeout=1) == []


async def test_an_intake_dead_letter_goes_through_the_intake_again(hub: HubStack) -> None:
    """RabbitMQ would not let the hub publish it under the province's name, so the intake
    takes it again in-process, with every check, under the name RabbitMQ validated."""
    province = hub.members[PROVINCE]
    await hub.publish(province, province.sign(document(PROVINCE, DISTRICT)), message_id="in-1")
    async with keeper(hub):
        await reject(hub, hub.settings.intake_queue)
        (row,) = await _kept(hub)
    assert row.destination == "intake" and row.queue == hub.settings.intake_queue
    with pytest.raises(Conflict, match=r"cannot go back to intake.*impersonator"):
        await _replay(hub, row.id, "op-a")  # without the in-process intake: refused, kept
    (still,) = await _kept(hub)
    assert still.state == "waiting" and await _audit(hub, "dlq-replay") == []
    async with transaction(hub.runtime.sessions) as session:
        replayed = await service.replay(session, hub.runtime.broker, row.id, "op-a",
                                        intake=service.readmission(hub.runtime))  # fmt: skip
    assert replayed.state == "replayed"
    (delivered,) = await hub.drain(DISTRICT, expect=1)
    assert delivered.message_id == "in-1"
    assert [entry.actor for entry in await _audit(hub, "dlq-replay")] == ["op-a"]
    assert [entry.actor for entry in await _audit(hub, "accept")] == [PROVINCE]


def _letter(queue: str) -> DeadLettered:
    death = {"count": 1, "reason": "expired", "queue": queue, "time": "2026-11-26T08:00:00+00:00",
             "exchange": "", "routing-keys": [queue]}  # fmt: skip
    return DeadLettered(b"<edXMLEnvelope/>", "m-1", None, {"x-death": [death]})


async def test_the_same_death_is_kept_once_and_an_unknown_origin_is_not_replayed(
    hub: HubStack,
) -> None:
    async with transaction(hub.runtime.sessions) as session:
        first = await service.keep(session, _letter("elsewhere"), hub.settings)
    async with transaction(hub.runtime.sessions) as session:
        again = await service.keep(session, _letter("elsewhere"), hub.settings)
    async with hub.runtime.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(DeadLetter))
    assert isinstance(first, int) and again is None and count == 1
    with pytest.raises(Conflict, match="came from 'elsewhere': nowhere to replay it to"):
        await _replay(hub, first, "op-a")
    assert (await _discard(hub, first, "op-a")).state == "discarded"
