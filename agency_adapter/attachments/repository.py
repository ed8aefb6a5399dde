"""SQL about files kept outside packages. Flushes only; the edge commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from agency_adapter.models import Box, Document, ExternalFile, Recall, RecallKind


async def files_to_upload(
    session: AsyncSession, envelope_ids: Sequence[str]
) -> dict[str, list[ExternalFile]]:
    """The external files of the outbox documents in these envelopes, by envelope id."""
    query = (
        select(Document.envelope_id, ExternalFile)
        .join(ExternalFile.document)
        .where(Document.box == Box.OUTBOX, Document.envelope_id.in_(envelope_ids))
        .order_by(ExternalFile.id)
    )
    found: dict[str, list[ExternalFile]] = defaultdict(list)
    for envelope_id, file in await session.execute(query):
        found[envelope_id].append(file)
    return found


async def already_received(session: AsyncSession, envelope_id: str) -> bool:
    query = select(Document.id).where(Document.envelope_id == envelope_id)
    return (await session.scalar(query.limit(1))) is not None


async def deleted_before_arrival(session: AsyncSession, sender: str, document_id: str) -> bool:
    """Whether the sender deleted the document on mistake before it reached us (its files
    are then neither needed nor, perhaps, still at the hub)."""
    query = select(Recall.id).where(
        Recall.box == Box.INBOX, Recall.document_pk.is_(None), Recall.kind == RecallKind.DELETE,
        Recall.sender_code == sender, Recall.document_id == document_id,
    )  # fmt: skip
    return (await session.scalar(query.limit(1))) is not None


async def files_of_purged(session: AsyncSession) -> list[ExternalFile]:
    """Rows of files whose documents were purged (deleted on mistake)."""
    query = select(ExternalFile).join(ExternalFile.document).where(Document.deleted_at.is_not(None))
    return list(await session.scalars(query))


async def still_held(session: AsyncSession, digests: set[str]) -> set[str]:
    """Those of `digests` that a document not purged still lists."""
    query = (
        select(ExternalFile.sha256)
        .join(ExternalFile.document)
        .where(Document.deleted_at.is_(None), ExternalFile.sha256.in_(digests))
    )
    return set(await session.scalars(query))


async def forget(session: AsyncSession, files: Sequence[ExternalFile]) -> None:
    await session.execute(delete(ExternalFile).where(ExternalFile.id.in_([f.id for f in files])))
