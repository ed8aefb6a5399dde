"""Removing the files of documents deleted on mistake from the adapter's store."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agency_adapter.attachments import repository
from agency_adapter.attachments.store import AttachmentStore
from agency_adapter.db import transaction


async def remove_purged_files(
    sessions: async_sessionmaker[AsyncSession], store: AttachmentStore
) -> int:
    """Delete the stored files of purged documents, except those a document that is not
    purged lists too (same SHA-256, same bytes); then forget their rows. Files go before the
    commit: after a crash in between, the rows are still there and the next run finishes.
    Returns how many files were deleted."""
    async with transaction(sessions) as session:
        files = await repository.files_of_purged(session)
        if not files:
            return 0
        digests = {file.sha256 for file in files}
        unheld = digests - await repository.still_held(session, digests)
        for digest in unheld:
            await asyncio.to_thread(store.remove, digest)
        await repository.forget(session, files)
    return len(unheld)
