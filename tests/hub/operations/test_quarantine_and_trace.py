"""Quarantine (refused intake messages) and tracing documents by what an operator knows."""

from __future__ import annotations

import pytest

from hub.errors import InvalidRequest, NotFound
from hub.operations import service
from hub.operations.payloads import QuarantineRow, TracedDocument
from schemas.model import Code
from schemas.writer import write_package
from tests.hub.hub_stack import HubStack, document, status_on
from tests.hub.operations.conftest import (
    COMMUNE_A,
    DISTRICT,
    PROVINCE,
    queued_delivery,
    wait_for,
)


async def test_a_refused_package_is_listed_and_shown_with_its_bytes(hub: HubStack) -> None:
    province = hub.members[PROVINCE]
    unsigned = write_package(document(PROVINCE, DISTRICT))

    async def listed() -> list[QuarantineRow] | None:
        async with hub.runtime.sessions() as session:
            return await service.quarantined(session, limit=10) or None

    async with hub.worker():
        await hub.publish(province, unsigned, message_id="unsigned-1")
        (row,) = await wait_for(listed)
    assert "not signed" in row.reason and row.message_id == "unsigned-1"
    assert (row.sender_code, row.broker_user) == (PROVINCE, province.username)
    assert row.size == len(unsigned) and (row.refusal_envelope_id or "").startswith("refusal-")
    async with hub.runtime.sessions() as session:
        entry = await service.quarantine_entry(session, row.id)
        with pytest.raises(NotFound, match=f"no quarantined message {row.id + 1}"):
            await service.quarantine_entry(session, row.id + 1)
    assert entry.raw == unsigned and entry.body == unsigned.decode()
    assert "raw" not in entry.model_dump(mode="json")


async def _trace(hub: HubStack, text: str) -> list[TracedDocument]:
    async with hub.runtime.sessions() as session:
        return await service.trace(session, text)


async def test_trace_finds_documents_by_what_an_operator_knows(hub: HubStack) -> None:
    province = hub.members[PROVINCE]
    flood = document(PROVINCE, DISTRICT, subject="Kế hoạch phòng chống lụt bão năm 2026")
    flood = flood.model_copy(update={"code": Code(code_number="12", code_notation="KH-UBND")})
    report = document(PROVINCE, COMMUNE_A, subject="Báo cáo hoàn thành 100% chỉ tiêu")
    async with hub.worker():
        await hub.publish(province, province.sign(flood), message_id="flood")
        await queued_delivery(hub, "flood", DISTRICT)
        await hub.publish(province, province.sign(report), message_id="report")
        await queued_delivery(hub, "report", COMMUNE_A)
    expectations = {
        flood.document_id or "": ["flood"], "flood": ["flood"], "LỤT BÃO": ["flood"],
        "12/KH-UBND": ["flood"], DISTRICT: ["flood"], COMMUNE_A: ["report"], "%": ["report"],
        PROVINCE: ["report", "flood"], "000.00": [], "nothing like it": [],
    }  # fmt: skip
    for text, expected in expectations.items():
        assert [d.envelope_id for d in await _trace(hub, text)] == expected, text
    (found,) = await _trace(hub, "flood")
    assert (found.code_number, found.code_notation, found.kind) == ("12", "KH-UBND", "document")
    assert [r.recipient_code for r in found.recipients] == [DISTRICT]
    assert [e.event for e in found.recipients[0].events] == ["sent"]
    with pytest.raises(InvalidRequest, match="say what to look for"):
        await _trace(hub, "   ")


async def test_a_traced_document_shows_what_its_recipient_reported(hub: HubStack) -> None:
    province, district = hub.members[PROVINCE], hub.members[DISTRICT]
    doc = document(PROVINCE, DISTRICT)
    async with hub.worker():
        await hub.publish(province, province.sign(doc), message_id="doc-1")
        await queued_delivery(hub, "doc-1", DISTRICT)
        await hub.publish(district, district.sign(status_on(doc, DISTRICT, "01")))

        async def reported() -> list[TracedDocument] | None:
            found = await _trace(hub, doc.document_id or "")
            return found if found and found[0].recipients[0].last_status == "01" else None

        (traced,) = await wait_for(reported)
    assert traced.recipients[0].delivery_state == "queued"
    assert [e.status_code for e in traced.recipients[0].events] == [None, "01"]
