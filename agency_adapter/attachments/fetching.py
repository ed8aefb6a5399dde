"""A received document's files that travel outside its package: fetched from the hub's store,
checked against the signed package, before the document is stored and its message acked."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agency_adapter.attachments import repository
from agency_adapter.attachments.hub_client import HubAttachments
from schemas.model import DocumentPackage, Package


async def _not_needed(sessions: async_sessionmaker[AsyncSession], package: DocumentPackage,
                      envelope_id: str) -> bool:  # fmt: skip
    """A repeat of a document stored already, or one deleted on mistake before it came (it
    is kept as a tombstone only, and the hub may have purged its files)."""
    async with sessions() as session:
        if await repository.already_received(session, envelope_id):
            return True
        sender, document_id = package.sender.organ_id, package.document_id or ""
        return await repository.deleted_before_arrival(session, sender, document_id)


async def fetch_files(sessions: async_sessionmaker[AsyncSession], hub: HubAttachments,
                      package: Package, envelope_id: str) -> None:  # fmt: skip
    """Download what the store lacks. AttachmentMismatch: the hub's bytes are not those the
    sender signed for; HubUnavailable: try again later (what arrived is kept)."""
    if not isinstance(package, DocumentPackage) or package.lienthong is None:
        return
    listed = package.lienthong.external_attachments
    if not listed or await _not_needed(sessions, package, envelope_id):
        return
    for file in listed:
        await hub.download(file.sha256, file.size, file.name)
