"""A received document's files that travel outside its package: whether it must wait for
them, and fetching them from the hub's store, checked against the signed package."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agency_adapter.attachments import repository
from agency_adapter.attachments.hub_client import HubAttachments
from agency_adapter.attachments.store import AttachmentStore
from agency_adapter.models import AwaitingFiles
from schemas.model import BusinessDocType, DocumentPackage, ExternalAttachment, Package


def listed_outside(package: Package) -> tuple[ExternalAttachment, ...]:
    """The files a document package lists outside itself (none for other packages)."""
    if not isinstance(package, DocumentPackage) or package.lienthong is None:
        return ()
    return package.lienthong.external_attachments


async def _not_needed(session: AsyncSession, package: Package, envelope_id: str) -> bool:
    """A repeat of a document stored already, or one deleted on mistake before it came (it
    is kept as a tombstone only, and the hub may have purged its files)."""
    if await repository.already_received(session, envelope_id):
        return True
    assert isinstance(package, DocumentPackage)
    sender, document_id = package.sender.organ_id, package.document_id or ""
    return await repository.deleted_before_arrival(session, sender, document_id)


async def waiting_version(session: AsyncSession, package: Package) -> AwaitingFiles | None:
    """The row of the version a new version (update, replacement) revises, if that one still
    waits for its files: versions are stored in order, so the new one waits behind it."""
    if not isinstance(package, DocumentPackage) or package.target_document_id is None:
        return None
    if package.business_type is BusinessDocType.REVOCATION:
        return None  # a recall or deletion is never held back
    sender, target = package.sender.organ_id, package.target_document_id
    rows = await repository.awaiting_document(session, sender, target)
    return rows[0] if rows else None


def all_here(store: AttachmentStore, package: Package) -> bool:
    return all(store.has(file.sha256, file.size) for file in listed_outside(package))


async def must_wait(session: AsyncSession, store: AttachmentStore, package: Package,
                    envelope_id: str) -> bool:  # fmt: skip
    """Whether the document needs files the store lacks, or revises a version that waits for
    its own, before it can be stored."""
    if all_here(store, package) and await waiting_version(session, package) is None:
        return False
    return not await _not_needed(session, package, envelope_id)


async def fetch_files(sessions: async_sessionmaker[AsyncSession], hub: HubAttachments,
                      package: Package, envelope_id: str) -> None:  # fmt: skip
    """Download what the store lacks. AttachmentMismatch: the hub's bytes are not those the
    sender signed for; HubUnavailable: try again later (what arrived is kept)."""
    listed = listed_outside(package)
    if not listed:
        return
    async with sessions() as session:
        if await _not_needed(session, package, envelope_id):
            return
    for file in listed:
        await hub.download(file.sha256, file.size, file.name)
