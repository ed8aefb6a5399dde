"""New versions of documents waiting for their files: stored in order behind the version
they revise, and reached by a deletion of any version; a deletion itself never waits."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from pathlib import Path

import pytest

from agency_adapter.documents import service as documents
from agency_adapter.lifecycle.service import _revocation
from agency_adapter.models import AwaitingFiles, RecallKind
from schemas.model import ExternalAttachment
from tests.agency_adapter.adapter_stack import Adapter
from tests.agency_adapter.attachment_exchange import (
    INLINE_LIMIT,
    MIB,
    Exchange,
    delivered_by_hub,
    random_file,
)
from tests.agency_adapter.codes import COMMUNE, DISTRICT
from tests.agency_adapter.cutting_proxy import forwarding
from tests.agency_adapter.documents import act, show
from tests.agency_adapter.waiting_documents import (
    MISTAKE,
    QUICK,
    SUBJECT,
    awaiting,
    sent_and_routed,
    tried,
)
from tests.hub.served import free_port


async def waiting_rows(adapter: Adapter, count: int) -> list[AwaitingFiles]:
    """The rows, once there are `count` of them."""
    for _ in range(200):
        rows = await awaiting(adapter)
        if len(rows) == count:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"not {count} documents waiting for their files: {rows}")


def update_with(size: int) -> dict[str, object]:
    """A new version whose only file is `size` random bytes (outside the package if large)."""
    annex = {"name": "phu-luc.pdf", "content_type": "application/pdf",
             "content_base64": base64.b64encode(os.urandom(size)).decode()}  # fmt: skip
    return {"kind": "update", "reason": "Sửa phụ lục", "attachments": [annex]}


async def test_a_new_version_waits_behind_the_version_it_revises(
    exchange: Exchange, tmp_path: Path
) -> None:
    """The original waits for its large file; its update, whose small file travels inline,
    comes meanwhile: it waits behind it, and both are stored in order, linked."""
    source = tmp_path / "ban-do.tif"
    random_file(source, MIB)
    port = free_port()
    cut_off = {"hub_url": f"http://127.0.0.1:{port}", **QUICK}
    async with exchange.adapter(COMMUNE) as commune:
        sent = await sent_and_routed(exchange, commune, source)
        async with exchange.adapter(DISTRICT, **cut_off) as district:
            await tried(district, attempts=1)
            revised = await act(commune, sent, "revisions", update_with(1000))
            assert revised.status_code == 202, revised.text
            await waiting_rows(district, 2)
            early = await district.events()
            async with forwarding(exchange.hub_url, port):
                original, version = await district.wait_for("document.received", count=2)
                old = await show(district, original["document"])
    assert early == []
    assert "kind" not in original["payload"] and version["payload"]["kind"] == "update"
    assert version["payload"]["supersedes"] == original["document"]
    assert old["superseded_by"] == version["document"]


@pytest.mark.parametrize("deleted", ["original", "update"])
async def test_deleting_either_version_while_the_update_waits_purges_both(
    exchange: Exchange, deleted: str
) -> None:
    """The original is here, its update waits for its large file: a deletion of either
    drops the update (a tombstone, never fetched nor announced) and purges the original."""
    port = free_port()
    cut_off = {"hub_url": f"http://127.0.0.1:{port}", **QUICK}
    first = {"to": [DISTRICT], "subject": SUBJECT, "content": "Nội dung gốc"}
    async with (
        exchange.adapter(COMMUNE) as commune, exchange.adapter(DISTRICT, **cut_off) as district,
    ):  # fmt: skip
        sent = (await commune.client.post("/v1/documents", json=first)).json()["id"]
        (original,) = await district.wait_for("document.received")
        revised = await act(commune, sent, "revisions", update_with(INLINE_LIMIT + 1))
        assert revised.status_code == 202, revised.text
        await tried(district, attempts=1)
        target = sent if deleted == "original" else revised.json()["id"]
        assert (await act(commune, target, "delete", {"reason": MISTAKE})).status_code == 202
        await district.wait_for("document.deleted")
        rows = await awaiting(district)
        async with forwarding(exchange.hub_url, port):  # the hub is back: nothing to fetch
            await asyncio.sleep(1)
            events = [e["type"] for e in await district.events()]
            gone = await district.client.get("/v1/documents", params={"status": "deleted"})
            old = await show(district, original["document"])
    assert rows == []
    assert events == ["document.received", "document.deleted"]
    assert len(gone.json()["items"]) == 2 and old["content"] is None


async def test_a_deletion_listing_files_outside_is_handled_at_once(exchange: Exchange) -> None:
    """A deletion is never set aside for files, whatever it lists: it keeps its priority."""
    port = free_port()
    cut_off = {"hub_url": f"http://127.0.0.1:{port}", **QUICK}
    first = {"to": [DISTRICT], "subject": SUBJECT}
    listed = ExternalAttachment(name="la.tif", content_type=None, size=10, sha256="ab" * 32)
    async with (
        exchange.adapter(COMMUNE) as commune, exchange.adapter(DISTRICT, **cut_off) as district,
    ):  # fmt: skip
        sent = (await commune.client.post("/v1/documents", json=first)).json()["id"]
        (received,) = await district.wait_for("document.received")
        async with commune.runtime.sessions() as session:
            document = await documents.get(session, uuid.UUID(sent))
        ctx = commune.runtime.ctx
        deletion = _revocation(ctx, document, [DISTRICT], MISTAKE, RecallKind.DELETE)
        assert deletion.lienthong is not None and deletion.lienthong.envelope_id is not None
        lienthong = deletion.lienthong.model_copy(update={"external_attachments": (listed,)})
        signed = documents.sign(ctx, deletion.model_copy(update={"lienthong": lienthong}))
        broker = exchange.hub.runtime.broker
        await broker.publish_to_mailbox(DISTRICT, signed, deletion.lienthong.envelope_id)
        (deleted,) = await district.wait_for("document.deleted")
        rows = await awaiting(district)
    assert deleted["document"] == received["document"] and rows == []


async def test_an_original_stored_after_its_newer_version_is_linked_and_not_live(
    exchange: Exchange, tmp_path: Path
) -> None:
    """The update came first (stored at once), the original after it, waiting for its file:
    when it is stored, both are linked and it is announced as superseded."""
    source = tmp_path / "ban-do.tif"
    random_file(source, MIB)
    port = free_port()
    cut_off = {"hub_url": f"http://127.0.0.1:{port}", **QUICK}
    async with exchange.adapter(COMMUNE) as commune:
        sent = await sent_and_routed(exchange, commune, source)
        revised = await act(commune, sent, "revisions", update_with(1000))
        assert revised.status_code == 202, revised.text
        await delivered_by_hub(
            exchange.hub, (await show(commune, revised.json()["id"]))["document_id"]
        )
        original, update = await exchange.hub.drain(DISTRICT, expect=2)
        broker = exchange.hub.runtime.broker
        for message in (update, original):  # the other way round
            await broker.publish_to_mailbox(DISTRICT, message.body, message.message_id)
        async with exchange.adapter(DISTRICT, **cut_off) as district:
            (newer,) = await district.wait_for("document.received")
            async with forwarding(exchange.hub_url, port):
                _, older = await district.wait_for("document.received", count=2)
                shown = await show(district, newer["document"])
    assert newer["payload"]["kind"] == "update" and "kind" not in older["payload"]
    assert older["payload"]["superseded_by"] == newer["document"]
    assert shown["supersedes"] == older["document"]
