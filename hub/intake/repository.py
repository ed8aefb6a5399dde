"""SQL of the intake. Flushes only; the consumer wrapper commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from hub.models import Delivery, DeliveryState, Envelope, Quarantine


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


async def documents(session: AsyncSession, document_id: str, sender: str | None) -> list[Envelope]:
    """Document envelopes with this DocumentId (from this sender, when it is known)."""
    query = (
        select(Envelope)
        .where(Envelope.kind == "document", Envelope.document_id == document_id)
        .options(selectinload(Envelope.deliveries))
        .order_by(Envelope.received_at)
    )
    if sender:
        query = query.where(Envelope.sender_code == sender)
    return list(await session.scalars(query))


async def mark_queued(session: AsyncSession, delivery_id: int) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(state=DeliveryState.QUEUED, queued_at=datetime.now(UTC))
    )


async def earlier_refusal(session: AsyncSession, sha256: str, message_id: str | None) -> str | None:
    """The refusal envelope already made for this very message (seen again after a crash)."""
    query = (
        select(Quarantine.refusal_envelope_id)
        .where(Quarantine.sha256 == sha256, Quarantine.message_id == message_id)
        .order_by(Quarantine.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def pending_ids(session: AsyncSession, envelope_pks: Sequence[uuid.UUID]) -> list[int]:
    query = (
        select(Delivery.id)
        .where(Delivery.envelope_pk.in_(envelope_pks), Delivery.state == DeliveryState.PENDING)
        .order_by(Delivery.id)
    )
    return list(await session.scalars(query))


async def lock_if_pending(
    session: AsyncSession, delivery_id: int, *, wait: bool = True
) -> Delivery | None:
    """The delivery, locked for this transaction, if it is still pending.

    Waiting for another holder of the lock is safe: if that one commits, the row is no longer
    pending and nothing goes out twice; if it rolls back, this one takes over. The sweeper
    does not wait (``wait=False``): it will come back."""
    query = (
        select(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state == DeliveryState.PENDING)
        .options(selectinload(Delivery.envelope))
        .with_for_update(of=Delivery, skip_locked=not wait)
    )
    return (await session.scalars(query)).one_or_none()


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
