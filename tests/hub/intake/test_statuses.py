"""Status packages flow back to the sender (13 forward to recipients) and build the timeline."""

from __future__ import annotations

from hub.timeline.service import by_document_id
from schemas.model import DocumentPackage, StatusPackage
from schemas.reader import read_package
from tests.hub.hub_stack import HubStack, document, status_on
from tests.hub.intake.conftest import COMMUNE_A, COMMUNE_B, DISTRICT


async def _send_document(hub: HubStack, *recipients: str) -> DocumentPackage:
    district = hub.members[DISTRICT]
    doc = document(DISTRICT, *recipients)
    await hub.publish(district, district.sign(doc))
    for code in recipients:
        assert len(await hub.drain(code, expect=1)) == 1
    return doc


async def test_statuses_from_a_recipient_reach_the_sender_and_the_timeline(hub: HubStack) -> None:
    commune = hub.members[COMMUNE_A]
    async with hub.worker():
        doc = await _send_document(hub, COMMUNE_A, COMMUNE_B)
        for code in ("01", "03", "05", "06"):
            await hub.publish(commune, commune.sign(status_on(doc, COMMUNE_A, code)))
        received = await hub.drain(DISTRICT, expect=4)
    codes = []
    for message in received:
        package = read_package(message.body).package
        assert isinstance(package, StatusPackage)
        codes.append(package.status_code.value)
    assert sorted(codes) == ["01", "03", "05", "06"]
    async with hub.runtime.sessions() as session:
        (timeline,) = await by_document_id(session, doc.document_id or "", DISTRICT)
    per_recipient = {r.recipient_code: r for r in timeline.recipients}
    reported = [e.status_code for e in per_recipient[COMMUNE_A].events if e.status_code]
    assert sorted(reported) == ["01", "03", "05", "06"]
    assert per_recipient[COMMUNE_B].last_status is None
    assert [e.event for e in per_recipient[COMMUNE_B].events] == ["sent"]


async def test_a_take_back_request_from_the_sender_reaches_every_recipient(hub: HubStack) -> None:
    district = hub.members[DISTRICT]
    async with hub.worker():
        doc = await _send_document(hub, COMMUNE_A, COMMUNE_B)
        await hub.publish(district, district.sign(status_on(doc, DISTRICT, "13")))
        first = await hub.drain(COMMUNE_A, expect=1)
        second = await hub.drain(COMMUNE_B, expect=1)
    assert len(first) == len(second) == 1


async def test_only_a_recipient_may_report_and_only_the_sender_may_take_back(hub: HubStack) -> None:
    outsider = hub.members[COMMUNE_B]
    recipient = hub.members[COMMUNE_A]
    async with hub.worker():
        doc = await _send_document(hub, COMMUNE_A)
        await hub.publish(outsider, outsider.sign(status_on(doc, COMMUNE_B, "03")))
        await hub.publish(recipient, recipient.sign(status_on(doc, COMMUNE_A, "13")))
        outsider_answer = await hub.drain(COMMUNE_B, expect=1)
        recipient_answer = await hub.drain(COMMUNE_A, expect=1)
        to_sender = await hub.drain(DISTRICT, expect=0, timeout=1)
    assert to_sender == []
    assert "did not receive document" in _description(outsider_answer[0].body)
    assert "only the sender" in _description(recipient_answer[0].body)


async def test_a_status_on_an_unknown_document_is_refused(hub: HubStack) -> None:
    commune = hub.members[COMMUNE_A]
    ghost = document(DISTRICT, COMMUNE_A)
    async with hub.worker():
        await hub.publish(commune, commune.sign(status_on(ghost, COMMUNE_A, "03")))
        (answer,) = await hub.drain(COMMUNE_A, expect=1)
    assert "is about an unknown document" in _description(answer.body)


def _description(body: bytes) -> str:
    package = read_package(body).package
    assert isinstance(package, StatusPackage)
    return package.description or ""
