"""Recalls, deletions and new versions at the hub: only the sender's, only to its recipients,
recorded in the document's timeline, and a copy still at the hub never leaves it."""

from __future__ import annotations

from sqlalchemy import select

from hub.audit import verify_chain
from hub.models import AuditEntry, Delivery, Envelope
from hub.timeline.service import by_document_id, by_envelope_id
from schemas.model import BusinessDocType, DocumentPackage, StatusPackage
from schemas.reader import read_package
from tests.hub.hub_stack import HubStack, document, revision, revocation
from tests.hub.intake.conftest import COMMUNE_A, COMMUNE_B, DISTRICT
from tests.hub.mailboxes import refusing, set_policy


def _refusal(body: bytes) -> str:
    package = read_package(body).package
    assert isinstance(package, StatusPackage) and package.status_code.value == "02"
    return package.description or ""


async def _timeline_events(hub: HubStack, doc: DocumentPackage) -> dict[str, list[str]]:
    async with hub.runtime.sessions() as session:
        (timeline,) = await by_document_id(session, doc.document_id or "", DISTRICT)
    return {r.recipient_code: [e.event for e in r.events] for r in timeline.recipients}


async def test_a_recall_cancels_the_copy_still_at_the_hub(hub: HubStack) -> None:
    """B's mailbox refuses publishes, so B's copy waits at the hub; the recall cancels it and
    only the recall reaches B (it overtook its document); A, already served, gets the recall."""
    district = hub.members[DISTRICT]
    doc = document(DISTRICT, COMMUNE_A, COMMUNE_B)
    full = await refusing(hub, COMMUNE_B)
    try:
        async with hub.worker():
            await hub.publish(district, district.sign(doc))
            await hub.drain(COMMUNE_A, expect=1)
            recall = revocation(doc, COMMUNE_A, COMMUNE_B)
            await hub.publish(district, district.sign(recall))
            (recall_a,) = await hub.drain(COMMUNE_A, expect=1)
            await set_policy(hub.settings.vhost, full, None)
            at_b = await hub.drain(COMMUNE_B, expect=2)
    finally:
        await set_policy(hub.settings.vhost, full, None)
    assert [m.message_id for m in at_b] == ["filler", recall_a.message_id]
    async with hub.runtime.sessions() as session:
        states = dict((await session.execute(
            select(Delivery.recipient_code, Delivery.state).join(Envelope)
            .where(Envelope.document_id == doc.document_id, Envelope.business_type == 0)
        )).all())  # fmt: skip
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert (await verify_chain(session)).broken_at is None
    assert states == {COMMUNE_A: "queued", COMMUNE_B: "cancelled"}
    assert actions.index("cancel") == actions.index("recall") + 1  # one transaction
    events = await _timeline_events(hub, doc)
    assert events[COMMUNE_A] == ["sent", "recall-requested"]
    assert recall.lienthong is not None and recall.lienthong.envelope_id is not None
    async with hub.runtime.sessions() as session:
        via_recall = await by_envelope_id(session, recall.lienthong.envelope_id)
    assert via_recall.document_id == doc.document_id and via_recall.business_type == 0
    assert events[COMMUNE_B] == ["sent", "recall-requested", "cancelled"]


async def test_only_the_sender_recalls_and_only_from_its_recipients(hub: HubStack) -> None:
    district, commune = hub.members[DISTRICT], hub.members[COMMUNE_A]
    doc = document(DISTRICT, COMMUNE_A)
    async with hub.worker():
        await hub.publish(district, district.sign(doc))
        await hub.drain(COMMUNE_A, expect=1)
        forged = revocation(doc, COMMUNE_A, sender=COMMUNE_A)
        await hub.publish(commune, commune.sign(forged))
        (to_commune,) = await hub.drain(COMMUNE_A, expect=1)
        await hub.publish(district, district.sign(revocation(doc, COMMUNE_B, delete=True)))
        unknown = revocation(document(DISTRICT, COMMUNE_A), COMMUNE_A)
        await hub.publish(district, district.sign(unknown))
        to_district = await hub.drain(DISTRICT, expect=2)
        to_b = await hub.drain(COMMUNE_B, expect=0, timeout=1)
    assert f"'{COMMUNE_A}' did not send document" in _refusal(to_commune.body)
    reasons = sorted(_refusal(m.body) for m in to_district)
    assert f"{COMMUNE_B} did not receive document" in reasons[0]
    assert "recall of an unknown document" in reasons[1]
    assert to_b == []


async def test_a_new_version_is_routed_and_supersedes_the_old_one(hub: HubStack) -> None:
    district, commune = hub.members[DISTRICT], hub.members[COMMUNE_A]
    doc = document(DISTRICT, COMMUNE_A)
    async with hub.worker():
        await hub.publish(district, district.sign(doc))
        await hub.drain(COMMUNE_A, expect=1)
        replacement = revision(doc, BusinessDocType.REPLACEMENT, COMMUNE_A, COMMUNE_B)
        await hub.publish(district, district.sign(replacement))
        (at_a,) = await hub.drain(COMMUNE_A, expect=1)
        (at_b,) = await hub.drain(COMMUNE_B, expect=1)
        stolen = revision(doc, BusinessDocType.UPDATE, DISTRICT, sender=COMMUNE_A)
        await hub.publish(commune, commune.sign(stolen))
        (refused,) = await hub.drain(COMMUNE_A, expect=1)
    assert at_a.body == at_b.body
    package = read_package(at_a.body).package
    assert isinstance(package, DocumentPackage)
    assert package.target_document_id == doc.document_id
    assert "so it cannot update it" in _refusal(refused.body)
    assert (await _timeline_events(hub, doc))[COMMUNE_A] == ["sent", "superseded"]
