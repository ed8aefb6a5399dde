"""SQL of the intake. Flushes only; the consumer wrapper commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from hub.models import Delivery, DeliveryState, Envelope


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


async def mark_queued(session: AsyncSession, delivery_ids: Sequence[int]) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids))
        .values(state=DeliveryState.QUEUED, queued_at=datetime.now(UTC))
    )
