"""SQL of the operations service. Flushes only; the caller's edge commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Row, and_, cast, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, defer, selectinload
from sqlalchemy.sql.elements import ColumnElement

from hub.models import (
    Agency,
    DeadLetter,
    Delivery,
    DeliveryState,
    Envelope,
    Quarantine,
    TimelineEvent,
)
from schemas.model import BusinessDocType, StatusCode

ARRIVED = StatusCode.ARRIVED.value
_LIKE_ESCAPE = "\\"


@dataclass(frozen=True)
class AgencyHealth:
    """An agency and what the database says about its mailbox."""

    agency: Agency
    oldest_waiting_at: datetime | None
    last_consumed_at: datetime | None


def _last_consumed() -> Any:
    """When the agency last reported 01 (it had the document): its adapter's last read."""
    return (
        select(TimelineEvent.at)
        .where(TimelineEvent.recipient_code == Agency.code, TimelineEvent.status_code == ARRIVED)
        .order_by(TimelineEvent.at.desc())
        .limit(1)
        .correlate(Agency)
        .scalar_subquery()
    )


def _consumed_up_to() -> Any:
    """When the document the agency answered last was queued: a mailbox is read in order, so
    what was queued before it was consumed, answered or not (bounds the search below)."""
    event, delivery = aliased(TimelineEvent), aliased(Delivery)
    return (
        select(delivery.queued_at)
        .join(event, and_(event.document_pk == delivery.envelope_pk,
                          event.recipient_code == delivery.recipient_code))
        .where(event.recipient_code == Agency.code, event.status_code == ARRIVED)
        .order_by(event.at.desc())
        .limit(1)
        .correlate(Agency)
        .scalar_subquery()
    )  # fmt: skip


def _answer() -> Any:
    """The agency's 01 to the delivery's document, looked up for each delivery through the
    index on document_pk. A scalar subquery with LIMIT, not NOT EXISTS: PostgreSQL turns
    that into an anti-join, which read every 01 ever recorded at each scrape."""
    answer = aliased(TimelineEvent)
    return (
        select(answer.id)
        .where(answer.document_pk == Delivery.envelope_pk,
               answer.recipient_code == Delivery.recipient_code, answer.status_code == ARRIVED)
        .limit(1)
        .scalar_subquery()
    )  # fmt: skip


def _oldest_unanswered() -> Any:
    """The oldest queued document (not a recall or deletion) the agency has not answered 01:
    the first in its mailbox's order from the floor up (the index on (recipient_code,
    queued_at)), so a scrape reads what came since the agency's last 01, not its history."""
    floor = func.coalesce(_consumed_up_to(), cast(literal("-infinity"), DateTime(timezone=True)))
    return (
        select(Delivery.queued_at)
        .join(Envelope, Envelope.id == Delivery.envelope_pk)
        .where(
            Delivery.recipient_code == Agency.code, Delivery.queued_at >= floor,
            Delivery.state == DeliveryState.QUEUED, Envelope.kind == "document",
            Envelope.business_type.is_distinct_from(int(BusinessDocType.REVOCATION)),
            _answer().is_(None),
        )
        .order_by(Delivery.queued_at)
        .limit(1)
        .correlate(Agency)
        .scalar_subquery()
    )  # fmt: skip


# Every registered agency, by code, with its oldest unanswered document and last 01. Built
# once (see hub/db.py).
AGENCIES_HEALTH = select(Agency, _oldest_unanswered(), _last_consumed()).order_by(Agency.code)


async def agencies_health(session: AsyncSession) -> list[AgencyHealth]:
    """Every registered agency, by code, with its oldest unanswered document and last 01."""
    return [AgencyHealth(*row) for row in await session.execute(AGENCIES_HEALTH)]


async def keep_dead_letter(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Store a dead letter; None when this very death was kept before (a redelivery)."""
    statement = (
        insert(DeadLetter)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[DeadLetter.fingerprint])
        .returning(DeadLetter.id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def dead_letters(
    session: AsyncSession, state: str | None, limit: int
) -> Sequence[Row[DeadLetter, int]]:
    """Dead letters (in one state, or all), oldest first, with their sizes, bodies not loaded."""
    query = (
        select(DeadLetter, func.octet_length(DeadLetter.body))
        .options(defer(DeadLetter.body))
        .order_by(DeadLetter.id)
        .limit(limit)
    )
    if state is not None:
        query = query.where(DeadLetter.state == state)
    return (await session.execute(query)).all()


async def dead_letter(
    session: AsyncSession, ident: int, *, lock: bool = False
) -> DeadLetter | None:
    """One dead letter; with `lock`, locked until the transaction ends (one decision each)."""
    query = select(DeadLetter).where(DeadLetter.id == ident)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def quarantined(session: AsyncSession, limit: int) -> Sequence[Row[Quarantine, int]]:
    """Refused intake messages, newest first, with their sizes, bodies not loaded."""
    query = (
        select(Quarantine, func.octet_length(Quarantine.body))
        .options(defer(Quarantine.body))
        .order_by(Quarantine.id.desc())
        .limit(limit)
    )
    return (await session.execute(query)).all()


async def quarantine(session: AsyncSession, ident: int) -> Quarantine | None:
    return await session.get(Quarantine, ident)


def _like(text: str) -> str:
    escaped = text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
    return "%" + escaped.replace("%", "\\%").replace("_", "\\_") + "%"


def _matching(text: str) -> ColumnElement[bool]:
    pattern = _like(text)
    code = func.concat_ws("/", Envelope.code_number, Envelope.code_notation)
    received = exists().where(Delivery.envelope_pk == Envelope.id, Delivery.recipient_code == text)
    return or_(
        Envelope.envelope_id == text, Envelope.document_id == text, Envelope.sender_code == text,
        received, Envelope.subject.ilike(pattern, escape=_LIKE_ESCAPE),
        code.ilike(pattern, escape=_LIKE_ESCAPE),
    )  # fmt: skip


async def find_documents(session: AsyncSession, text: str, limit: int) -> list[Envelope]:
    """Document envelopes matching `text` (see service.trace), newest first."""
    query = (
        select(Envelope)
        .where(Envelope.kind == "document", _matching(text))
        .options(defer(Envelope.body), selectinload(Envelope.deliveries))
        .order_by(Envelope.received_at.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))
