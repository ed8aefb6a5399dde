"""Messages handed over together are admitted in one transaction, each exactly once."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.audit import verify_chain
from hub.models import AuditEntry, Envelope, Quarantine
from schemas.model import StatusCode, StatusPackage
from schemas.reader import read_package
from schemas.writer import write_package
from tests.hub.hub_stack import HubStack, document, status_on
from tests.hub.intake.conftest import COMMUNE_A, DISTRICT
from tests.hub.intake.test_refusals import refusal_of

COUNT = 12


async def test_a_backlog_with_a_repeat_and_a_refusal_comes_out_right(hub: HubStack) -> None:
    commune = hub.members[COMMUNE_A]
    bodies = [commune.sign(document(COMMUNE_A, DISTRICT, subject=f"số {n}")) for n in range(COUNT)]
    await hub.runtime.broker.declare_topology(list(hub.members))
    for n, body in enumerate(bodies):  # waiting before the worker starts: handed over together
        await hub.publish(commune, body, message_id=f"env-{n}")
    await hub.publish(commune, bodies[3], message_id="env-3")  # a repeat among them
    await hub.publish(commune, write_package(document(COMMUNE_A, DISTRICT)), message_id="bare")
    async with hub.worker():
        received = await hub.drain(DISTRICT, expect=COUNT)
        answered = await hub.drain(COMMUNE_A, expect=1)
    assert sorted(m.message_id for m in received) == sorted(f"env-{n}" for n in range(COUNT))
    refusal = refusal_of(answered[0].body, hub)
    assert refusal.status_code is StatusCode.REFUSED
    assert refusal.response_for.document_id == "bare"
    async with hub.runtime.sessions() as session:
        kinds = select(Envelope.kind, func.count()).group_by(Envelope.kind)
        assert dict((await session.execute(kinds)).all()) == {"document": COUNT, "status": 1}
        assert await session.scalar(select(func.count()).select_from(Quarantine)) == 1
        accepted = select(func.count()).where(AuditEntry.action == "accept")
        assert await session.scalar(accepted) == COUNT
        assert (await verify_chain(session)).broken_at is None


async def test_statuses_admitted_with_documents_find_theirs_written_or_not(hub: HubStack) -> None:
    """A status is routed by its document: one delivered earlier, and one admitted a moment
    before it in the same transaction, not yet written."""
    commune, district = hub.members[COMMUNE_A], hub.members[DISTRICT]
    await hub.runtime.broker.declare_topology(list(hub.members))
    earlier = document(COMMUNE_A, DISTRICT, subject="gửi hôm qua")
    await hub.publish(commune, commune.sign(earlier))
    async with hub.worker():
        await hub.drain(DISTRICT, expect=1)
    backlog = [document(COMMUNE_A, DISTRICT, subject=f"số {n}") for n in range(4)]
    for doc in backlog[:2]:
        await hub.publish(commune, commune.sign(doc))
    await hub.publish(district, district.sign(status_on(earlier, DISTRICT, "01")))
    for doc in backlog[2:]:
        await hub.publish(commune, commune.sign(doc))
    await hub.publish(district, district.sign(status_on(backlog[3], DISTRICT, "01")))
    async with hub.worker():
        received = await hub.drain(DISTRICT, expect=4)
        answered = await hub.drain(COMMUNE_A, expect=2)
    assert len(received) == 4
    about = {read_status(m.body).response_for.document_id for m in answered}
    assert about == {earlier.document_id, backlog[3].document_id}
    async with hub.runtime.sessions() as session:
        kinds = select(Envelope.kind, func.count()).group_by(Envelope.kind)
        assert dict((await session.execute(kinds)).all()) == {"document": 5, "status": 2}
        assert await session.scalar(select(func.count()).select_from(Quarantine)) == 0
        assert (await verify_chain(session)).broken_at is None


def read_status(body: bytes) -> StatusPackage:
    package = read_package(body).package
    assert isinstance(package, StatusPackage)
    return package
