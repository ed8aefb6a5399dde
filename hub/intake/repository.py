"""SQL of the intake. Flushes only; the consumer wrapper commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Row, Select, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer, joinedload, selectinload

from hub.models import Delivery, DeliveryState, Envelope, Quarantine
from schemas.model import BusinessDocType
from schemas.pending_rows import pending_rows, table_of

# Core statements on the tables where routing reads columns, not objects: through the ORM
# each execution costs more of the hub's CPU than the statement itself.
_ENVELOPE, _DELIVERY = table_of(Envelope), table_of(Delivery)


async def envelope_by_digest(session: AsyncSession, sha256: str) -> Envelope | None:
    query = (
        select(Envelope).where(Envelope.sha256 == sha256).options(selectinload(Envelope.deliveries))
    )
    return (await session.scalars(query.limit(1))).first()


async def envelope_by_id(session: AsyncSession, envelope_id: str) -> Envelope | None:
    query = (
        select(Envelope)
        .where(Envelope.envelope_id == envelope_id)
        .options(selectinload(Envelope.deliveries))
    )
    return (await session.scalars(query)).one_or_none()


# Documents with a DocumentId. A revocation carries the DocumentId of the document it recalls
# but is not itself one: statuses answering it (15, 16) belong to that document.
_A_DOCUMENT = (
    _ENVELOPE.c.kind == "document",
    _ENVELOPE.c.document_id == bindparam("document_id"),
    _ENVELOPE.c.business_type.is_distinct_from(int(BusinessDocType.REVOCATION)),
)
# Built once (see hub/db.py): every message runs them.
_DOCUMENTS = (
    select(Envelope)
    .where(*_A_DOCUMENT)
    # Deliveries in the same round trip; not the package's bytes, which routing never needs.
    .options(joinedload(Envelope.deliveries), defer(Envelope.body))
    .order_by(Envelope.received_at)
)
_KNOWN = (
    select(
        _ENVELOPE.c.id,
        _ENVELOPE.c.envelope_id,
        _ENVELOPE.c.document_id,
        _ENVELOPE.c.sender_code,
        _DELIVERY.c.recipient_code,
    )
    .outerjoin(_DELIVERY, _DELIVERY.c.envelope_pk == _ENVELOPE.c.id)
    .where(*_A_DOCUMENT)
    .order_by(_ENVELOPE.c.received_at, _ENVELOPE.c.id, _DELIVERY.c.id)
)
_DOCUMENTS_FROM = _DOCUMENTS.where(Envelope.sender_code == bindparam("sender"))
_KNOWN_FROM = _KNOWN.where(_ENVELOPE.c.sender_code == bindparam("sender"))


@dataclass(frozen=True)
class KnownDocument:
    """A document as the intake routes what reports on it or acts on it."""

    id: uuid.UUID
    envelope_id: str
    document_id: str | None
    sender_code: str
    recipients: list[str]  # those it was sent to, in the order recorded


async def documents(session: AsyncSession, document_id: str, sender: str | None) -> list[Envelope]:
    """Documents with this DocumentId (from this sender, when it is known), oldest first,
    with their deliveries."""
    query = _DOCUMENTS_FROM if sender else _DOCUMENTS
    with _written_if_needed(session, document_id):
        return list((await session.scalars(query, _values(document_id, sender))).unique())


async def known_documents(
    session: AsyncSession, document_id: str, sender: str | None
) -> list[KnownDocument]:
    """`documents`, as the columns routing reads rather than objects (which cost more to build
    than the query: every status looks its document up)."""
    query = _KNOWN_FROM if sender else _KNOWN
    with _written_if_needed(session, document_id):
        rows = await session.execute(query, _values(document_id, sender))
    found: dict[uuid.UUID, KnownDocument] = {}
    for pk, envelope_id, its_document_id, sender_code, recipient in rows:
        known = found.setdefault(pk, KnownDocument(pk, envelope_id, its_document_id,
                                                   sender_code, []))  # fmt: skip
        if recipient is not None:
            known.recipients.append(recipient)
    return list(found.values())


def _values(document_id: str, sender: str | None) -> dict[str, str | None]:
    return {"document_id": document_id, "sender": sender}


def _written_if_needed(session: AsyncSession, document_id: str) -> AbstractContextManager[object]:
    """Rows of messages admitted earlier in this transaction are written before the query only
    when one of them is such a document: a status rarely shares its transaction with its
    document, and writing the others now would cost them a statement per table again."""
    if any(row["document_id"] == document_id for row in pending_rows(session, Envelope)):
        return nullcontext()
    without: AbstractContextManager[object] = session.no_autoflush
    return without


_MARK_QUEUED = (  # Core: the transaction holds no Delivery objects to keep in step
    update(_DELIVERY)
    .where(_DELIVERY.c.id.in_(bindparam("ids", expanding=True)))
    .values(state=DeliveryState.QUEUED, queued_at=bindparam("at"))
)


async def mark_queued(session: AsyncSession, delivery_ids: Sequence[int]) -> None:
    await session.execute(_MARK_QUEUED, {"ids": list(delivery_ids), "at": datetime.now(UTC)})


async def cancel_pending(
    session: AsyncSession, envelope_pk: object, recipients: Sequence[str]
) -> list[str]:
    """Cancel deliveries of a document that have not left the hub; returns whose they were.

    A delivery being published right now is locked by its publisher: this waits, then finds
    it queued and leaves it alone, so a document is never both cancelled and delivered."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.envelope_pk == envelope_pk,
            Delivery.recipient_code.in_(recipients),
            Delivery.state == DeliveryState.PENDING,
        )
        .values(state=DeliveryState.CANCELLED)
        .returning(Delivery.recipient_code)
    )
    return list(result.scalars())


async def earlier_refusal(session: AsyncSession, sha256: str, message_id: str | None) -> str | None:
    """The refusal envelope already made for this very message (seen again after a crash)."""
    query = (
        select(Quarantine.refusal_envelope_id)
        .where(Quarantine.sha256 == sha256, Quarantine.message_id == message_id)
        .order_by(Quarantine.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


@lru_cache(maxsize=4)
def _pending(of_envelopes: bool, wait: bool) -> Select[int, str, str, bytes]:
    """Pending deliveries of the envelopes or the deliveries given as "keys", locked."""
    delivery, envelope = _DELIVERY.c, _ENVELOPE.c
    key = delivery.envelope_pk if of_envelopes else delivery.id
    return (
        select(delivery.id, delivery.recipient_code, envelope.envelope_id, envelope.body)
        .join(_ENVELOPE, delivery.envelope_pk == envelope.id)
        .where(key.in_(bindparam("keys", expanding=True)), delivery.state == DeliveryState.PENDING)
        .order_by(delivery.id)
        .with_for_update(of=_DELIVERY, skip_locked=not wait)
    )


async def lock_pending(
    session: AsyncSession, *, envelopes: Sequence[uuid.UUID] | None = None,
    deliveries: Sequence[int] | None = None, wait: bool,
) -> Sequence[Row[int, str, str, bytes]]:  # fmt: skip
    """Pending deliveries of these envelopes, or these deliveries (id, recipient, envelope id,
    body), locked (in id order) until the transaction ends; one round trip, the envelope
    joined in.

    Waiting for another holder of a lock is safe: if that one commits, the row is no longer
    pending and nothing goes out twice; if it rolls back, this one takes over. The sweeper
    does not wait (``wait=False``): it comes back later."""
    keys = list(deliveries) if deliveries is not None else list(envelopes or [])
    query = _pending(deliveries is None, wait)
    return (await session.execute(query, {"keys": keys})).all()


async def stale_pending(session: AsyncSession, older_than_s: float, limit: int) -> list[int]:
    """Pending deliveries recorded more than `older_than_s` ago, oldest first."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    query = (
        select(Delivery.id)
        .where(Delivery.state == DeliveryState.PENDING, Delivery.created_at < cutoff)
        .order_by(Delivery.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def record_failure(session: AsyncSession, delivery_id: int, error: str) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(attempts=Delivery.attempts + 1, last_error=error[:1000])
    )
