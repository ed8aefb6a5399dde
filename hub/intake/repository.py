"""SQL of the intake. Flushes only; the consumer wrapper commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

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


async def mark_queued(session: AsyncSession, delivery_ids: Sequence[int]) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids))
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


async def claim_pending(session: AsyncSession, envelope_pks: Sequence[uuid.UUID]) -> list[Delivery]:
    """Lock the envelopes' pending deliveries for this transaction; ones locked elsewhere are
    being delivered by another handler right now and are skipped, so nothing goes out twice."""
    query = (
        select(Delivery)
        .where(Delivery.envelope_pk.in_(envelope_pks), Delivery.state == DeliveryState.PENDING)
        .options(selectinload(Delivery.envelope))
        .with_for_update(skip_locked=True, of=Delivery)
    )
    return list(await session.scalars(query))
