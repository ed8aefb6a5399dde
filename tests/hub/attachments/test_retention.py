"""How long the store keeps a file: purged with the document deleted on mistake (unless another
live document carries it), expired after the retention period, audited either way."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update

from hub.attachments.repository import Usage
from hub.attachments.retention import (
    EXPIRED,
    PURGED,
    STALE_UPLOADS,
    UNCLAIMED,
    AttachmentSweeper,
    Retention,
    fate,
    purge,
)
from hub.attachments.store import FilesystemStore
from hub.audit import verify_chain
from hub.db import transaction
from hub.models import AuditEntry, Envelope
from schemas.model import DocumentPackage
from tests.hub.attachments.conftest import COMMUNE_A, COMMUNE_B, DISTRICT
from tests.hub.attachments.transfer import (
    carrying,
    download,
    eventually,
    put,
    sha,
    status,
    upload,
)
from tests.hub.hub_stack import HubStack, document, revocation

DAY = 24 * 3600


async def _send(hub: HubStack, *docs: DocumentPackage) -> None:
    district = hub.members[DISTRICT]
    async with hub.worker():
        for doc in docs:
            await hub.publish(district, district.sign(doc))
            for recipient in doc.recipients:
                assert len(await hub.drain(recipient.organ_id, expect=1)) == 1


async def _audited(hub: HubStack, action: str) -> list[AuditEntry]:
    async with hub.runtime.sessions() as session:
        assert (await verify_chain(session)).broken_at is None
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(await session.scalars(query))


def _age(path: os.PathLike[str], days: float) -> None:
    moment = time.time() - days * DAY
    os.utime(path, (moment, moment))


async def test_a_deletion_on_mistake_purges_the_files_no_live_document_still_carries(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    district = hub.members[DISTRICT]
    only, shared, other = os.urandom(30_000), os.urandom(20_000), os.urandom(10_000)
    for data in (only, shared, other):
        await upload(client, district, data)
    first = carrying(document(DISTRICT, COMMUNE_A), ("only.tif", only), ("shared.tif", shared))
    second = carrying(document(DISTRICT, COMMUNE_A, COMMUNE_B),
                      ("shared.tif", shared), ("other.tif", other))  # fmt: skip
    await _send(hub, first, second)
    for data in (only, shared, other):
        _age(store.blob_path(sha(data)), days=1)  # sent yesterday, not claimed since
    # The first everywhere it went; the second only at commune A (commune B keeps it).
    await _send(hub, revocation(first, COMMUNE_A, delete=True),
                revocation(second, COMMUNE_A, delete=True))  # fmt: skip

    async def purged() -> bool:
        return not store.blob_path(sha(only)).exists()

    await eventually(purged)
    assert store.blob_path(sha(shared)).exists() and store.blob_path(sha(other)).exists()
    (entry,) = await _audited(hub, PURGED)
    assert entry.subject == sha(only) and entry.detail["size"] == 30_000
    assert (await download(client, hub.members[COMMUNE_A], sha(shared))).status_code == 403
    assert (await download(client, hub.members[COMMUNE_B], sha(shared))).content == shared
    assert (await download(client, district, sha(only))).status_code == 404


async def test_a_purge_right_after_a_deletion_spares_a_file_claimed_moments_before(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    """A sender deletes a document sent by mistake and sends its file again, rightly: it asks
    the store for the file (a claim) before the deletion is recorded, and its new document
    comes after the purge. A file nobody used lately still goes with the deletion."""
    district = hub.members[DISTRICT]
    again, older = os.urandom(20_000), os.urandom(10_000)
    for data in (again, older):
        await upload(client, district, data)
    wrong = carrying(document(DISTRICT, COMMUNE_A), ("ban-do.tif", again), ("cu.tif", older))
    await _send(hub, wrong)
    _age(store.blob_path(sha(again)), days=1)
    _age(store.blob_path(sha(older)), days=11 / (24 * 60))  # eleven minutes ago
    assert (await status(client, district, sha(again)))["complete"] is True  # claimed now
    await _send(hub, revocation(wrong, COMMUNE_A, delete=True))

    async def older_purged() -> bool:
        return not store.blob_path(sha(older)).exists()

    await eventually(older_purged)
    assert await purge(hub.runtime.sessions, store, [sha(again)], Retention.of(hub.settings)) == []
    assert store.blob_path(sha(again)).exists()
    await _send(hub, carrying(document(DISTRICT, COMMUNE_B), ("ban-do.tif", again)))
    assert (await download(client, hub.members[COMMUNE_B], sha(again))).content == again
    assert [entry.subject for entry in await _audited(hub, PURGED)] == [sha(older)]


async def test_the_sweeper_removes_files_past_retention_and_audits_each(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    district = hub.members[DISTRICT]
    old, recent = os.urandom(8000), os.urandom(9000)
    for data in (old, recent):
        await upload(client, district, data)
    old_doc = carrying(document(DISTRICT, COMMUNE_A), ("old.tif", old))
    await _send(hub, old_doc, carrying(document(DISTRICT, COMMUNE_B), ("recent.tif", recent)))
    retention = timedelta(days=hub.settings.attachment_retention_days + 1)
    async with transaction(hub.runtime.sessions) as session:
        await session.execute(
            update(Envelope)
            .where(Envelope.document_id == old_doc.document_id)
            .values(received_at=datetime.now(UTC) - retention)
        )
    for data in (old, recent):  # nobody uploaded or claimed them lately either
        _age(store.blob_path(sha(data)), days=30)
    sweeper = AttachmentSweeper(hub.settings, hub.runtime.sessions, store)
    done = await sweeper.sweep()
    assert done[EXPIRED] == 1 and done[PURGED] == done[UNCLAIMED] == 0
    assert not store.blob_path(sha(old)).exists() and store.blob_path(sha(recent)).exists()
    (entry,) = await _audited(hub, EXPIRED)
    assert entry.subject == sha(old) and entry.actor == "hub" and entry.detail["size"] == 8000
    assert (await sweeper.sweep())[EXPIRED] == 0


async def test_the_sweeper_finishes_interrupted_purges_and_clears_abandoned_uploads(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    district = hub.members[DISTRICT]
    deleted, abandoned, fresh, partial = (os.urandom(size) for size in (4000, 5000, 6000, 7000))
    doc = carrying(document(DISTRICT, COMMUNE_A), ("deleted.tif", deleted))
    for data in (deleted, abandoned, fresh):
        await upload(client, district, data)
    await put(client, district, sha(partial), partial[:3000], (0, len(partial)))
    await put(client, hub.members[COMMUNE_A], sha(partial), partial[:1000], (0, len(partial)))
    await _send(hub, doc)
    _age(store.blob_path(sha(deleted)), days=1)
    await _send(hub, revocation(doc, COMMUNE_A, delete=True))

    async def purged() -> bool:
        return not store.blob_path(sha(deleted)).exists()

    await eventually(purged)
    # As if the hub had crashed between committing that purge and deleting the file.
    store.blob_path(sha(deleted)).write_bytes(deleted)
    _age(store.blob_path(sha(deleted)), days=1)
    _age(store.blob_path(sha(abandoned)), days=hub.settings.attachment_partial_days + 1)
    _age(store.partial_path(DISTRICT, sha(partial)), days=hub.settings.attachment_partial_days + 1)
    done = await AttachmentSweeper(hub.settings, hub.runtime.sessions, store).sweep()
    assert (done[PURGED], done[UNCLAIMED], done[STALE_UPLOADS], done[EXPIRED]) == (1, 1, 1, 0)
    assert not store.blob_path(sha(deleted)).exists()
    assert not store.blob_path(sha(abandoned)).exists() and store.blob_path(sha(fresh)).exists()
    assert not store.partial_path(DISTRICT, sha(partial)).exists()
    assert store.partial_path(COMMUNE_A, sha(partial)).exists()
    assert [e.subject for e in await _audited(hub, PURGED)] == [sha(deleted)] * 2
    assert [e.subject for e in await _audited(hub, UNCLAIMED)] == [sha(abandoned)]


def test_what_keeps_a_file() -> None:
    now = datetime(2036, 1, 1, tzinfo=UTC)
    keep = Retention(keep=timedelta(days=3650), grace=timedelta(days=7))
    long_ago, lately = now - timedelta(days=4000), now - timedelta(days=1)
    old_upload = now - timedelta(days=30)
    assert fate(Usage(lately, None), old_upload, now, keep) is None
    assert fate(Usage(long_ago, None), old_upload, now, keep) == EXPIRED
    assert fate(Usage(long_ago, None), lately, now, keep) is None  # claimed for a new package
    assert fate(Usage(None, lately), old_upload, now, keep) == PURGED
    assert fate(Usage(lately, lately), old_upload, now, keep) is None  # another one still live
    # Uploaded again after the deletion: its new package may be on its way.
    assert fate(Usage(None, now - timedelta(days=2)), lately, now, keep) is None
    assert fate(Usage(None, long_ago), old_upload, now, keep) == PURGED
    assert fate(None, lately, now, keep) is None
    assert fate(None, old_upload, now, keep) == UNCLAIMED
