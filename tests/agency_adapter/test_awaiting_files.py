"""A received document whose files the hub cannot give yet: its mailbox message is acked at
once, the document waits in the adapter's store, and the fetcher takes it in when the files
come, exactly once, however long the hub takes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from agency_adapter import fetcher
from agency_adapter.attachments.store import AttachmentStore
from agency_adapter.documents import service as documents
from agency_adapter.lifecycle.service import _revocation
from agency_adapter.models import AwaitingFiles, RecallKind
from agency_adapter.receiving import receive
from schemas.keys import create_ca, write_certificates
from schemas.model import ExternalAttachment
from tests.agency_adapter.adapter_stack import Adapter, running_adapter
from tests.agency_adapter.attachment_exchange import (
    INLINE_LIMIT,
    MIB,
    TIFF,
    Exchange,
    delivered_by_hub,
    exchange_on,
    post_file,
    random_file,
)
from tests.agency_adapter.conftest import COMMUNE, DISTRICT
from tests.agency_adapter.cutting_proxy import forwarding
from tests.agency_adapter.documents import act, answered, show
from tests.hub.served import free_port
from tests.hub.test_metrics import parse, value

QUICK = {"attachment_retry_s": 0.1, "attachment_max_backoff_s": 0.4}
MISTAKE = "Gửi nhầm đơn vị"
SUBJECT = "V/v bản đồ quy hoạch"  # what post_file sends


@pytest.fixture
async def exchange(tmp_path: Path) -> AsyncIterator[Exchange]:
    async with exchange_on(tmp_path) as ready:
        yield ready


async def awaiting(adapter: Adapter) -> list[AwaitingFiles]:
    async with adapter.runtime.sessions() as session:
        return list(await session.scalars(select(AwaitingFiles).order_by(AwaitingFiles.id)))


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


async def tried(adapter: Adapter, attempts: int) -> list[AwaitingFiles]:
    """The rows once the first has been tried `attempts` times."""
    for _ in range(200):
        rows = await awaiting(adapter)
        if rows and rows[0].attempts >= attempts:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"no document waited for its files {attempts} times: {rows}")


async def sent_and_routed(exchange: Exchange, commune: Adapter, source: Path) -> str:
    """Post the file from the commune; its id, once the hub put it in the district's mailbox."""
    sent = await post_file(commune.client, source)
    assert sent.status_code == 202, sent.text
    document: str = sent.json()["id"]
    await delivered_by_hub(exchange.hub, (await show(commune, document))["document_id"])
    return document


async def mailbox_left(exchange: Exchange) -> list[Any]:
    """What the district's mailbox still holds, its adapter stopped (taken, to look at it)."""
    return await exchange.hub.drain(DISTRICT, expect=0, timeout=2)


async def test_a_recipient_cut_off_from_the_hub_acks_and_takes_the_document_when_it_returns(
    exchange: Exchange, tmp_path: Path
) -> None:
    source = tmp_path / "ban-do.tif"
    digest = random_file(source, MIB)
    port = free_port()  # the district's hub_url: nothing listens there until the hub returns
    cut_off = {"hub_url": f"http://127.0.0.1:{port}", **QUICK}
    async with exchange.adapter(COMMUNE) as commune:
        sent = await sent_and_routed(exchange, commune, source)
        signed = (await commune.client.get(f"/v1/documents/{sent}/edxml")).content
        async with exchange.adapter(DISTRICT, **cut_off) as district:
            (row,) = await tried(district, attempts=2)
            metrics = parse((await district.client.get("/metrics")).text)
            # The same envelope delivered again while it waits: still one row.
            await exchange.hub.runtime.broker.publish_to_mailbox(DISTRICT, signed, row.envelope_id)
            await asyncio.sleep(0.5)
            again = await awaiting(district)
            told = await district.events()
        left = await mailbox_left(exchange)
        async with exchange.adapter(DISTRICT, **cut_off) as district:
            await tried(district, attempts=row.attempts + 1)  # still away after the restart
            async with forwarding(exchange.hub_url, port):  # the hub is back
                (received,) = await district.wait_for("document.received")
                line = await answered(commune, sent, DISTRICT, count=1)
                file = await district.client.get(
                    f"/v1/documents/{received['document']}/attachments/1"
                )
                await asyncio.sleep(1)  # time enough for a second copy to show
                inbox = (await district.client.get("/v1/documents")).json()["items"]
                events = [e["type"] for e in await district.events()]
                after = await awaiting(district)
    assert "downloading attachment 'ban-do.tif'" in (row.last_error or "")
    assert value(metrics, "lienthong_adapter_awaiting_files") == 1
    assert value(metrics, "lienthong_adapter_awaiting_files_oldest_seconds") > 0
    assert [r.id for r in again] == [row.id] and told == []  # neither stored nor refused
    assert left == []  # acked at once, the repeat too: nothing for the broker to dead-letter
    assert hashlib.sha256(file.content).hexdigest() == digest
    assert len(inbox) == 1 and events == ["document.received"] and after == []
    assert [s["code"] for s in line["statuses"]] == ["01"]


async def test_a_deletion_while_the_files_are_awaited_drops_them(
    exchange: Exchange, tmp_path: Path
) -> None:
    """Deleted on mistake before its files came: they are never fetched; the document is a
    tombstone at once, never announced, and the sender hears 15."""
    source = tmp_path / "ban-do.tif"
    digest = random_file(source, MIB)
    port = free_port()
    cut_off = {"hub_url": f"http://127.0.0.1:{port}", **QUICK}
    async with exchange.adapter(COMMUNE) as commune:
        sent = await sent_and_routed(exchange, commune, source)
        async with exchange.adapter(DISTRICT, **cut_off) as district:
            await tried(district, attempts=1)
            assert (await act(commune, sent, "delete", {"reason": MISTAKE})).status_code == 202
            line = await answered(commune, sent, DISTRICT, count=1)
            async with forwarding(exchange.hub_url, port):  # the hub is back: nothing to fetch
                await asyncio.sleep(1)
                deleted = await district.client.get("/v1/documents", params={"status": "deleted"})
                rows = await awaiting(district)
                events = await district.events()
                store = district.runtime.ctx.attachments
        document_id = (await show(commune, sent))["document_id"]
    (tombstone,) = deleted.json()["items"]
    assert tombstone["document_id"] == document_id and tombstone["subject"] == SUBJECT
    assert rows == [] and events == []  # nothing waits, the local system never heard of it
    incoming = store.root / "incoming"
    assert not store.path(digest).exists()  # never fetched
    assert not incoming.exists() or list(incoming.iterdir()) == []
    assert line["state"] == "deleted" and [s["code"] for s in line["statuses"]] == ["15"]


async def test_a_file_missing_at_the_hub_keeps_its_document_waiting_until_it_is_back(
    exchange: Exchange, tmp_path: Path
) -> None:
    """The hub answers 404 (its file gone for a while): the document waits, the reason
    recorded, and comes in when the file is back."""
    source = tmp_path / "ban-do.tif"
    digest = random_file(source, MIB)
    stored, aside = exchange.stored_at_hub(digest), tmp_path / "aside"
    async with exchange.adapter(COMMUNE) as commune:
        sent = await sent_and_routed(exchange, commune, source)
        shutil.move(stored, aside)
        async with exchange.adapter(DISTRICT, **QUICK) as district:
            (row,) = await tried(district, attempts=2)
            shutil.move(aside, stored)
            (received,) = await district.wait_for("document.received")
            line = await answered(commune, sent, DISTRICT, count=1)
            file = await district.client.get(f"/v1/documents/{received['document']}/attachments/1")
    assert "404" in (row.last_error or "")
    assert hashlib.sha256(file.content).hexdigest() == digest
    assert [s["code"] for s in line["statuses"]] == ["01"]


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


async def test_a_waiting_document_is_stored_though_the_trust_bundle_changed_since(
    exchange: Exchange, tmp_path: Path
) -> None:
    """Its signature was verified when it came: a trust bundle that no longer anchors the
    sender's certificate (revoked meanwhile) does not undo a delivery accepted then."""
    source = tmp_path / "ban-do.tif"
    random_file(source, MIB)
    port = free_port()
    cut_off = {"hub_url": f"http://127.0.0.1:{port}", **QUICK}
    other = tmp_path / "other-ca.pem"
    write_certificates([create_ca("Another CA", algorithm="ec").certificate], other)
    async with exchange.adapter(COMMUNE) as commune:
        sent = await sent_and_routed(exchange, commune, source)
        async with exchange.adapter(DISTRICT, **cut_off) as district:
            await tried(district, attempts=1)
        distrusting = exchange.settings(DISTRICT, **cut_off).model_copy(
            update={"trust_bundle": other}
        )
        async with running_adapter(distrusting) as district, forwarding(exchange.hub_url, port):
            (received,) = await district.wait_for("document.received")
            events = [e["type"] for e in await district.events()]
            line = await answered(commune, sent, DISTRICT, count=1)
    assert events == ["document.received"] and received["payload"]["subject"] == SUBJECT
    assert [s["code"] for s in line["statuses"]] == ["01"]


async def test_a_row_failing_unexpectedly_is_postponed_and_the_others_go_on(
    exchange: Exchange, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug met while storing one waiting document: that row is tried again later (its
    attempt counted), and the documents behind it are stored meanwhile."""
    first, second = tmp_path / "lan-1.tif", tmp_path / "lan-2.tif"
    random_file(first, MIB)
    random_file(second, MIB)
    async with exchange.adapter(COMMUNE) as commune:
        broken = await show(commune, await sent_and_routed(exchange, commune, first))
        await sent_and_routed(exchange, commune, second)

        async def receive_but_one(session: Any, ctx: Any, message: Any, late: bool) -> None:
            if message.envelope_id == broken["envelope_id"]:
                raise RuntimeError("a bug met storing this one")
            await receive(session, ctx, message, late)

        monkeypatch.setattr(fetcher, "receive", receive_but_one)
        async with exchange.adapter(DISTRICT, **QUICK) as district:
            (received,) = await district.wait_for("document.received")
            (row,) = await tried(district, attempts=1)
    assert received["payload"]["envelope_id"] != broken["envelope_id"]
    assert row.envelope_id == broken["envelope_id"] and "a bug met" in (row.last_error or "")


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


async def test_a_purge_keeps_a_file_a_waiting_document_lists(
    exchange: Exchange, tmp_path: Path
) -> None:
    """A document deleted on mistake shares a file with one still waiting for another file:
    the shared file, fetched already, stays for the waiting one."""
    shared, other = tmp_path / "ban-do.tif", tmp_path / "phu-luc.tif"
    kept, late = random_file(shared, MIB), random_file(other, MIB)
    metadata = json.dumps({"to": [DISTRICT], "subject": "V/v hai tệp"})
    async with exchange.adapter(COMMUNE) as commune:
        async with exchange.adapter(DISTRICT) as district:
            first = await sent_and_routed(exchange, commune, shared)
            await district.wait_for("document.received")
        with shared.open("rb") as one, other.open("rb") as two:
            files = [("files", (shared.name, one, TIFF)), ("files", (other.name, two, TIFF))]
            posted = await commune.client.post(
                "/v1/documents", data={"metadata": metadata}, files=files
            )
        second = posted.json()["id"]
        await delivered_by_hub(exchange.hub, (await show(commune, second))["document_id"])
        stored, aside = exchange.stored_at_hub(late), tmp_path / "aside"
        shutil.move(stored, aside)
        slow = {"attachment_retry_s": 2.0, "attachment_max_backoff_s": 2.0}  # not fetched anew
        async with exchange.adapter(DISTRICT, **slow) as district:
            await tried(district, attempts=1)
            assert (await act(commune, first, "delete", {"reason": MISTAKE})).status_code == 202
            await district.wait_for("document.deleted")
            await asyncio.sleep(0.5)  # the purge's files are removed right after it
            still_there = district.runtime.ctx.attachments.has(kept, MIB)
            shutil.move(aside, stored)
            received = await district.wait_for("document.received", count=2)
    assert still_there
    assert received[-1]["payload"]["subject"] == "V/v hai tệp"


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


async def test_a_file_removed_before_its_turn_is_fetched_again_outside_the_turn(
    exchange: Exchange, tmp_path: Path
) -> None:
    """The file came, but a purge removed it (shared with a document deleted on mistake)
    while the document waited for its mailbox turn: it is fetched again outside the turn,
    so recalls and deletions do not wait on that download (here: on a hub gone away)."""
    source = tmp_path / "ban-do.tif"
    digest = random_file(source, MIB)
    port = free_port()
    cut_off = {"hub_url": f"http://127.0.0.1:{port}", **QUICK}
    async with exchange.adapter(COMMUNE) as commune:
        await sent_and_routed(exchange, commune, source)
        async with exchange.adapter(DISTRICT, **cut_off) as district:
            await tried(district, attempts=1)
            store, turns = district.runtime.ctx.attachments, district.runtime.workers.turns
            async with turns.turn(urgent=True):  # the mailbox is busy
                async with forwarding(exchange.hub_url, port):
                    await fetched(store, digest)
                store.remove(digest)  # the purge, with the hub away again
            await asyncio.sleep(0.1)  # the fetcher takes its turn, finds the file gone
            started = time.monotonic()
            async with turns.turn(urgent=True):
                waited_s = time.monotonic() - started
            async with forwarding(exchange.hub_url, port):
                (received,) = await district.wait_for("document.received")
                url = f"/v1/documents/{received['document']}/attachments/1"
                file = await district.client.get(url)
    assert waited_s < 0.5
    assert hashlib.sha256(file.content).hexdigest() == digest


async def fetched(store: AttachmentStore, digest: str) -> None:
    for _ in range(200):
        if store.has(digest, MIB):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the file was not fetched")
