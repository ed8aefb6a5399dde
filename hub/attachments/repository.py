"""SQL of the attachment store: who may fetch or list a file, what keeps it, and the locks that
keep intake and removals from crossing. Flushes only; the caller's edge commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, delete, exists, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import (
    AttachmentPossession,
    Delivery,
    DeliveryState,
    Envelope,
    EnvelopeAttachment,
    TimelineEvent,
)

DELETED = "delete-requested"
# Advisory locks of one file: (namespace, first 32 bits of its digest). The two-key lock space
# is apart from the one-key locks of the audit chain and the migrations.
_LOCK_NAMESPACE = 0x6174  # 'at'


def _lock_key(sha256: str) -> int:
    """The digest's first 32 bits as a signed int4 (collisions only make two files wait)."""
    return int.from_bytes(bytes.fromhex(sha256[:8]), "big", signed=True)


async def hold_shared(session: AsyncSession, sha256: str) -> None:
    """Until the transaction ends, no removal of this file can start (intake takes this)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock_shared(:namespace, :key)"),
        {"namespace": _LOCK_NAMESPACE, "key": _lock_key(sha256)},
    )


async def hold_exclusive(session: AsyncSession, sha256: str) -> None:
    """Until the transaction ends, no intake can claim this file (a removal takes this)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, :key)"),
        {"namespace": _LOCK_NAMESPACE, "key": _lock_key(sha256)},
    )


async def carried_by(session: AsyncSession, envelope_pk: object) -> list[str]:
    query = select(EnvelopeAttachment.sha256).where(EnvelopeAttachment.envelope_pk == envelope_pk)
    return list(await session.scalars(query))


def _deleted_here(agency: str) -> ColumnElement[bool]:
    return exists().where(
        TimelineEvent.document_pk == Envelope.id,
        TimelineEvent.recipient_code == agency,
        TimelineEvent.event == DELETED,
    )


async def may_download(session: AsyncSession, agency: str, sha256: str) -> bool:
    """Whether the agency sent, or (and still holds) received, an envelope carrying the file.

    A copy recalled before it left the hub, or deleted on mistake there, gives no right to it."""
    received = exists().where(
        Delivery.envelope_pk == Envelope.id,
        Delivery.recipient_code == agency,
        Delivery.state != DeliveryState.CANCELLED,
    )
    query = (
        select(EnvelopeAttachment.envelope_pk)
        .join(Envelope, Envelope.id == EnvelopeAttachment.envelope_pk)
        .where(
            EnvelopeAttachment.sha256 == sha256,
            (Envelope.sender_code == agency) | (received & ~_deleted_here(agency)),
        )
        .limit(1)
    )
    return (await session.scalar(query)) is not None


async def record_possession(session: AsyncSession, agency: str, sha256: str) -> None:
    """The agency has just uploaded the file's bytes, their digest checked."""
    row = {"agency_code": agency, "sha256": sha256}
    upsert = insert(AttachmentPossession).values(row)
    await session.execute(
        upsert.on_conflict_do_update(
            index_elements=[AttachmentPossession.agency_code, AttachmentPossession.sha256],
            set_={"at": func.now()},
        )
    )


async def forget_possession(session: AsyncSession, sha256: str) -> None:
    """The file leaves the store: whoever uploads it again must send its bytes again."""
    await session.execute(delete(AttachmentPossession).where(AttachmentPossession.sha256 == sha256))


async def entitled(session: AsyncSession, agency: str, sha256: str) -> bool:
    """Whether the agency may list the file in a package and hear that the store has it: it
    uploaded the bytes itself, or it may download them."""
    held = select(AttachmentPossession.sha256).where(
        AttachmentPossession.agency_code == agency, AttachmentPossession.sha256 == sha256
    )
    return (await session.scalar(held)) is not None or await may_download(session, agency, sha256)


@dataclass(frozen=True)
class Usage:
    """What the envelopes carrying one file say about keeping it."""

    newest_live: datetime | None  # the newest envelope not deleted everywhere, when it arrived
    newest_deletion: datetime | None  # when the last envelope deleted everywhere was deleted


def _deleted_at() -> ColumnElement[datetime | None]:
    """When the envelope was deleted on mistake at every recipient; NULL while any still has
    it (a deletion may address only some of them)."""
    undeleted = exists().where(
        Delivery.envelope_pk == Envelope.id,
        ~exists().where(
            TimelineEvent.document_pk == Envelope.id,
            TimelineEvent.recipient_code == Delivery.recipient_code,
            TimelineEvent.event == DELETED,
        ),
    )
    last = (
        select(func.max(TimelineEvent.at))
        .where(TimelineEvent.document_pk == Envelope.id, TimelineEvent.event == DELETED)
        .scalar_subquery()
    )
    return case((~undeleted, last), else_=None)


async def usage(session: AsyncSession, sha256s: Sequence[str]) -> dict[str, Usage]:
    """For each file some envelope carries, its usage (files no envelope carries are absent)."""
    rows = (
        select(
            EnvelopeAttachment.sha256,
            Envelope.received_at,
            _deleted_at().label("deleted_at"),
        )
        .join(Envelope, Envelope.id == EnvelopeAttachment.envelope_pk)
        .where(EnvelopeAttachment.sha256.in_(sha256s))
        .subquery()
    )
    query = select(
        rows.c.sha256,
        func.max(rows.c.received_at).filter(rows.c.deleted_at.is_(None)),
        func.max(rows.c.deleted_at),
    ).group_by(rows.c.sha256)
    return {sha: Usage(live, deleted) for sha, live, deleted in await session.execute(query)}
