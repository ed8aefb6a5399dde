"""Envelopes reach the right mailboxes once, with timeline and audit recorded."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.audit import verify_chain
from hub.models import AuditEntry, Delivery, DeliveryState, Envelope
from hub.timeline.service import by_envelope_id
from tests.hub.hub_stack import HubStack, document
from tests.hub.intake.conftest import COMMUNE_A, COMMUNE_B, DISTRICT, PROVINCE


async def test_a_document_reaches_its_recipient_once_and_is_recorded(hub: HubStack) -> None:
    commune = hub.members[COMMUNE_A]
    body = commune.sign(document(COMMUNE_A, DISTRICT))
    async with hub.worker():
        await hub.publish(commune, body, message_id="env-1")
        received = await hub.drain(DISTRICT, expect=1)
    assert [(m.message_id, m.body) for m in received] == [("env-1", body)]
    async with hub.runtime.sessions() as session:
        delivery = (await session.scalars(select(Delivery))).one()
        assert (delivery.recipient_code, delivery.state) == (DISTRICT, DeliveryState.QUEUED)
        timeline = await by_envelope_id(session, "env-1")
        assert [r.recipient_code for r in timeline.recipients] == [DISTRICT]
        assert [e.event for e in timeline.recipients[0].events] == ["sent"]
        query = select(AuditEntry.action).where(AuditEntry.subject == "env-1")
        assert list(await session.scalars(query.order_by(AuditEntry.id))) == ["accept", "deliver"]
        assert (await verify_chain(session)).broken_at is None


async def test_the_same_envelope_twice_is_delivered_once(hub: HubStack) -> None:
    commune = hub.members[COMMUNE_A]
    body = commune.sign(document(COMMUNE_A, DISTRICT))
    async with hub.worker():
        await hub.publish(commune, body, message_id="env-1")
        await hub.publish(commune, body, message_id="env-1")
        await hub.publish(commune, body, message_id="env-1-again")
        received = await hub.drain(DISTRICT, expect=1)
    assert len(received) == 1
    async with hub.runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Envelope)) == 1


async def test_a_group_address_reaches_every_commune_of_the_district(hub: HubStack) -> None:
    district = hub.members[DISTRICT]
    body = district.sign(document(DISTRICT, f"{DISTRICT}-communes"))
    async with hub.worker():
        await hub.publish(district, body)
        first = await hub.drain(COMMUNE_A, expect=1)
        second = await hub.drain(COMMUNE_B, expect=1)
        province = await hub.drain(PROVINCE, expect=0, timeout=1)
    assert [m.body for m in first] == [body] and [m.body for m in second] == [body]
    assert province == []


async def test_a_province_wide_group_reaches_every_agency_below(hub: HubStack) -> None:
    province = hub.members[PROVINCE]
    body = province.sign(document(PROVINCE, f"{PROVINCE}-all"))
    async with hub.worker():
        await hub.publish(province, body)
        counts = [len(await hub.drain(code, expect=1)) for code in (DISTRICT, COMMUNE_A, COMMUNE_B)]
    assert counts == [1, 1, 1]
