"""SQL about files kept outside packages. Flushes only; the edge commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agency_adapter.models import AwaitingFiles, Box, Document, ExternalFile, Recall, RecallKind

# Built once (see db.py): every round of the relay runs it.
_FILES_TO_UPLOAD = (
    select(Document.envelope_id, ExternalFile)
    .join(ExternalFile.document)
    .where(
        Document.box == Box.OUTBOX,
        Document.envelope_id.in_(bindparam("envelopes", expanding=True)),
    )
    .order_by(ExternalFile.id)
)


async def files_to_upload(
    session: AsyncSession, envelope_ids: Sequence[str]
) -> dict[str, list[ExternalFile]]:
    """The external files of the outbox documents in these envelopes, by envelope id."""
    found: dict[str, list[ExternalFile]] = defaultdict(list)
    for envelope_id, file in await session.execute(_FILES_TO_UPLOAD, {"envelopes": envelope_ids}):
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
    """Those of `digests` that a document not purged still lists, or a document waiting for
    its files needs (it may have fetched them already)."""
    query = (
        select(ExternalFile.sha256)
        .join(ExternalFile.document)
        .where(Document.deleted_at.is_(None), ExternalFile.sha256.in_(digests))
    )
    held = set(await session.scalars(query))
    return held | (digests & await awaited_files(session))


async def forget(session: AsyncSession, files: Sequence[ExternalFile]) -> None:
    await session.execute(delete(ExternalFile).where(ExternalFile.id.in_([f.id for f in files])))


# Documents awaiting their files ---------------------------------------------------------


async def is_awaiting(session: AsyncSession, envelope_id: str) -> bool:
    query = select(AwaitingFiles.id).where(AwaitingFiles.envelope_id == envelope_id)
    return (await session.scalar(query.limit(1))) is not None


async def awaiting_due(session: AsyncSession, now: float, limit: int) -> list[int]:
    """Ids of the rows whose next attempt is due, oldest first."""
    query = select(AwaitingFiles.id).where(AwaitingFiles.next_attempt_at <= now)
    return list(await session.scalars(query.order_by(AwaitingFiles.id).limit(limit)))


async def awaited_files(session: AsyncSession) -> set[str]:
    """The SHA-256 of every file a waiting document still needs."""
    return {digest for files in await session.scalars(select(AwaitingFiles.files))
            for digest in files}  # fmt: skip


async def next_attempt_at(session: AsyncSession) -> float | None:
    """When the soonest row is due (epoch seconds); None when no document awaits."""
    return await session.scalar(select(func.min(AwaitingFiles.next_attempt_at)))


async def awaiting_document(session: AsyncSession, sender: str,
                            document_id: str) -> list[AwaitingFiles]:  # fmt: skip
    """Rows of the document with this sender and DocumentId (a deletion drops them)."""
    query = select(AwaitingFiles).where(
        AwaitingFiles.sender_code == sender, AwaitingFiles.document_id == document_id
    )
    return list(await session.scalars(query.order_by(AwaitingFiles.id)))


async def awaiting_from(session: AsyncSession, sender: str) -> list[AwaitingFiles]:
    """Every row of one sender, oldest first (a deletion follows its versions among them)."""
    query = select(AwaitingFiles).where(AwaitingFiles.sender_code == sender)
    return list(await session.scalars(query.order_by(AwaitingFiles.id)))


async def take_awaiting(session: AsyncSession, row_id: int) -> bool:
    """Delete the row; False when it was gone already (a deletion on mistake dropped it)."""
    result = await session.execute(delete(AwaitingFiles).where(AwaitingFiles.id == row_id))
    return bool(getattr(result, "rowcount", 0))


async def postpone_awaiting(session: AsyncSession, row_id: int, error: str,
                            next_at: float) -> None:  # fmt: skip
    await session.execute(update(AwaitingFiles).where(AwaitingFiles.id == row_id).values(
        attempts=AwaitingFiles.attempts + 1, last_error=error[:500], next_attempt_at=next_at,
    ))  # fmt: skip


async def defer_awaiting(session: AsyncSession, row_id: int, note: str, next_at: float) -> None:
    """Try the row again at `next_at`, not counting an attempt (it waits for another row)."""
    await session.execute(update(AwaitingFiles).where(AwaitingFiles.id == row_id).values(
        last_error=note[:500], next_attempt_at=next_at,
    ))  # fmt: skip
