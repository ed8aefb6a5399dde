"""SQL of recalls, deletions and versions. Flushes only; the edge commits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from agency_adapter.documents.repository import WITH_HISTORY
from agency_adapter.models import Box, Document, Recall


async def seen(session: AsyncSession, envelope_id: str) -> bool:
    """Whether a recall or deletion in this envelope was already received."""
    query = select(Recall.id).where(Recall.box == Box.INBOX, Recall.envelope_id == envelope_id)
    return (await session.scalar(query.limit(1))) is not None


# Built once (see db.py). Each finds its rows through an index that starts with the
# DocumentId it is given (migration a007), not by walking the inbox.
RECEIVED = (
    select(Document)
    .where(
        Document.box == Box.INBOX,
        Document.sender_code == bindparam("sender"),
        Document.document_id == bindparam("document_id"),
    )
    .options(*WITH_HISTORY)
    .order_by(Document.created_at.desc())
    .limit(1)
)
REVISING = (
    select(Document)
    .where(
        Document.box == Box.INBOX,
        Document.sender_code == bindparam("sender"),
        Document.revises_document_id == bindparam("document_id"),
    )
    .order_by(Document.created_at)
    .limit(1)
)


async def received(session: AsyncSession, sender: str, document_id: str) -> Document | None:
    """The received document (of any version kind) with this sender and DocumentId."""
    found = await session.scalars(RECEIVED, {"sender": sender, "document_id": document_id})
    return found.first()


async def revising(session: AsyncSession, sender: str, document_id: str) -> Document | None:
    """A received version (update, replacement) of the document with this DocumentId."""
    found = await session.scalars(REVISING, {"sender": sender, "document_id": document_id})
    return found.first()


# Built once (see db.py): every received document runs them.
_AHEAD = (  # recalls or deletions of a document not here yet
    Recall.box == Box.INBOX,
    Recall.document_pk.is_(None),
    Recall.sender_code == bindparam("sender"),
    Recall.document_id == bindparam("document_id"),
)
_AHEAD_OF_DOCUMENT = select(Recall).where(*_AHEAD).order_by(Recall.id)
_ARRIVAL = select(
    select(Document.id).where(Document.envelope_id == bindparam("envelope_id")).exists(),
    select(Recall.id).where(*_AHEAD).exists(),
)


async def ahead_of_document(session: AsyncSession, sender: str, document_id: str) -> list[Recall]:
    """Recalls or deletions received before the document they are about, oldest first."""
    values = {"sender": sender, "document_id": document_id}
    return list(await session.scalars(_AHEAD_OF_DOCUMENT, values))


@dataclass(frozen=True)
class Arrival:
    """What a received document's storing depends on: a copy already stored, and recalls or
    deletions of it that came first."""

    stored_before: bool
    recalled_ahead: bool


async def arrival(session: AsyncSession, envelope_id: str, sender: str,
                  document_id: str) -> Arrival:  # fmt: skip
    """Both questions in one round trip; the answer is almost always no and no."""
    values = {"envelope_id": envelope_id, "sender": sender, "document_id": document_id}
    stored_before, recalled_ahead = (await session.execute(_ARRIVAL, values)).one()
    return Arrival(bool(stored_before), bool(recalled_ahead))


async def requests_in(session: AsyncSession, envelope_id: str) -> list[Recall]:
    """The recall or deletion rows (one per recipient) sent in this envelope."""
    query = (
        select(Recall)
        .where(Recall.box == Box.OUTBOX, Recall.envelope_id == envelope_id)
        .options(selectinload(Recall.document).options(*WITH_HISTORY))
    )
    return list(await session.scalars(query))
