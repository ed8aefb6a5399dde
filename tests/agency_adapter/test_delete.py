"""Delete-on-mistake: recipients must purge the content, keep a tombstone and confirm."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest

from agency_adapter.models import Box
from schemas.model import BusinessDocType, Organization
from schemas.writer import write_package
from tests.agency_adapter.adapter_stack import Adapter
from tests.agency_adapter.attachment_exchange import delivered_by_hub
from tests.agency_adapter.codes import COMMUNE, DISTRICT
from tests.agency_adapter.conftest import District
from tests.agency_adapter.documents import (
    PDF,
    act,
    answered,
    decision,
    send,
    sent_and_queued,
    show,
)
from tests.hub.hub_stack import revocation
from tests.schemas.packages import document as make_document
from tests.services import unique_name

MISTAKE = "Gửi nhầm văn bản của đơn vị khác"


async def _is_tombstone(commune: Adapter, held: str) -> dict[str, Any]:
    shown = await show(commune, held)
    assert shown["state"] == "deleted" and shown["removal_reason"] == MISTAKE
    assert shown["content"] is None and shown["attachments"] == [] and shown["deleted_at"]
    assert shown["subject"] == "V/v phân bổ kinh phí năm 2027"  # the tombstone says what it was
    for gone in (f"/v1/documents/{held}/edxml", f"/v1/documents/{held}/attachments/1"):
        answer = await commune.client.get(gone)
        assert answer.status_code == 410 and MISTAKE in answer.json()["detail"]
    inbox = (await commune.client.get("/v1/documents")).json()["items"]
    assert held not in [d["id"] for d in inbox]
    return shown


async def test_a_deletion_while_the_recipient_adapter_is_stopped(district: District) -> None:
    """When the adapter comes back, the deletion queued behind the document is applied
    before the document is announced: the local system never hears of it, and the content
    is purged before anyone could ask for it."""
    sent = await sent_and_queued(district.hub, district.adapter, decision(COMMUNE))
    deleted = await act(district.adapter, sent, "delete", {"reason": MISTAKE})
    assert deleted.status_code == 202, deleted.text
    assert deleted.json()["recipient_timelines"][0]["state"] == "delete-requested"
    async with district.commune(COMMUNE) as commune:
        line = await answered(district.adapter, sent, COMMUNE, count=2)
        (held,) = (await commune.client.get("/v1/documents", params={"status": "deleted"})).json()[
            "items"
        ]
        await _is_tombstone(commune, held["id"])
        assert [e["type"] for e in await commune.events()] == []
    # 01 and 15 in either order: sent a moment apart, admitted side by side by the hub.
    assert line["state"] == "deleted"
    assert sorted(s["code"] for s in line["statuses"]) == ["01", "15"]
    original = await district.adapter.client.get(f"/v1/documents/{sent}/attachments/1")
    assert original.content == PDF  # the sender keeps its original


async def test_a_deletion_after_the_local_system_read_and_accepted_it(district: District) -> None:
    async with district.commune(COMMUNE) as commune:
        sent = await send(district.adapter, decision(COMMUNE))
        (received,) = await commune.wait_for("document.received")
        held = received["document"]
        read = await commune.client.get(f"/v1/documents/{held}/attachments/1")
        assert read.content == PDF
        await act(commune, held, "status", {"code": "03"})
        await act(district.adapter, sent, "recall", {"reason": "Sai số liệu"})
        await commune.wait_for("document.recall-requested")
        await act(district.adapter, sent, "delete", {"reason": MISTAKE})  # overrides the recall
        await commune.wait_for("document.deleted")
        shown = await _is_tombstone(commune, held)
        assert shown["recall"]["kind"] == "delete" and shown["recall"]["outcome"] == "15"
        line = await answered(district.adapter, sent, COMMUNE, count=3)
        assert line["state"] == "deleted"
        again = await act(district.adapter, sent, "delete", {"reason": MISTAKE})
        assert again.status_code == 409 and "already deleted" in again.text
        too_late = await act(commune, held, "recall-decision", {"agree": True})
        assert too_late.status_code == 409
        store = Path(commune.runtime.ctx.settings.database_url.removeprefix("sqlite+aiosqlite:///"))
        files = [store, store.with_name(store.name + "-wal")]
        left = [f.name for f in files if f.exists() and base64.b64encode(PDF) in f.read_bytes()]
    assert left == []  # overwritten on disk, not just unlinked


@pytest.mark.parametrize(("delete", "state"), [(False, "withdrawn"), (True, "deleted")])
async def test_a_recall_or_deletion_that_overtook_its_document(
    district: District, delete: bool, state: str
) -> None:
    """The recall reaches the mailbox first (as when the hub still held the document): the
    commune answers 15 at once, and the document is never announced when it comes."""
    package = make_document(
        sender=Organization(organ_id=DISTRICT), recipients=(Organization(organ_id=COMMUNE),),
        document_id=f"{DISTRICT},2026/11/26,{unique_name('doc')}",
        subject="V/v phân bổ kinh phí năm 2027",
    )  # fmt: skip
    recall = revocation(package, COMMUNE, delete=delete)
    assert recall.business_type is BusinessDocType.REVOCATION
    signed = district.hub.members[DISTRICT].sign(recall)
    await district.hub.runtime.broker.publish_to_mailbox(COMMUNE, signed, "recall-first")
    xml = {"Content-Type": "application/xml"}
    sent = await district.adapter.client.post("/v1/documents", content=write_package(package),
                                              headers=xml)  # fmt: skip
    assert sent.status_code == 202, sent.text
    await delivered_by_hub(district.hub, package.document_id or "")
    async with district.commune(COMMUNE) as commune:
        line = await answered(district.adapter, sent.json()["id"], COMMUNE, count=1)
        asked = await commune.client.get("/v1/documents", params={"status": state})
        for _ in range(100):
            if asked.json()["items"]:
                break
            await asyncio.sleep(0.1)
            asked = await commune.client.get("/v1/documents", params={"status": state})
        (held,) = asked.json()["items"]
        assert held["box"] == Box.INBOX and held["document_id"] == package.document_id
        assert [e["type"] for e in await commune.events()] == []
    assert [s["code"] for s in line["statuses"]] == ["15"]
    assert "on arrival" in line["statuses"][0]["description"]
