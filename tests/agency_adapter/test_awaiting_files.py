"""A received document whose files the hub cannot give yet: its mailbox message is acked at
once, the document waits in the adapter's store, and the fetcher takes it in when the files
come, exactly once, however long the hub takes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from agency_adapter import fetcher
from agency_adapter.attachments.store import AttachmentStore
from agency_adapter.receiving import receive
from schemas.keys import create_ca, write_certificates
from tests.agency_adapter.adapter_stack import running_adapter
from tests.agency_adapter.attachment_exchange import (
    MIB,
    TIFF,
    Exchange,
    delivered_by_hub,
    random_file,
)
from tests.agency_adapter.codes import COMMUNE, DISTRICT
from tests.agency_adapter.cutting_proxy import forwarding
from tests.agency_adapter.documents import act, answered, show
from tests.agency_adapter.waiting_documents import (
    MISTAKE,
    QUICK,
    SUBJECT,
    awaiting,
    sent_and_routed,
    tried,
)
from tests.hub.served import free_port
from tests.hub.test_metrics import parse, value


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


async def test_a_purge_keeps_a_file_a_waiting_document_lists(
    exchange: Exchange, tmp_path: Path
) -> None:
    """A document deleted on mistake shares a file with one still waiting for another file:
    the shared file, fetched already, stays for the waiting one."""
    shared, other = tmp_path / "ban-do.tif", tmp_path / "phu-luc.tif"
    kept, late = random_file(shared, MIB), random_file(other, MIB)
    metadata = json.dumps({"to": [DISTRICT], "subject": "V/v hai tệp"})
    async with exchange.adapter(COMMUNE) as commune:
        first = await sent_and_routed(exchange, commune, shared)
        async with exchange.adapter(DISTRICT) as district:
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
