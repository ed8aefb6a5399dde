"""Messages handed over together are admitted in one transaction, each exactly once."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.audit import verify_chain
from hub.models import AuditEntry, Envelope, Quarantine
from schemas.model import StatusCode
from schemas.writer import write_package
from tests.hub.hub_stack import HubStack, document
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
