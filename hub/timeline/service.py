"""Building a document's timeline from its envelope, deliveries and timeline events."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import NotFound
from hub.intake import repository as intake
from hub.models import Envelope, TimelineEvent
from hub.timeline.payloads import EventOut, RecipientTimeline, TimelineOut
from schemas.model import BusinessDocType


async def _events(session: AsyncSession, document: Envelope) -> list[TimelineEvent]:
    query = (
        select(TimelineEvent)
        .where(TimelineEvent.document_pk == document.id)
        .order_by(TimelineEvent.at, TimelineEvent.id)
    )
    return list(await session.scalars(query))


def _event(event: TimelineEvent) -> EventOut:
    return EventOut(
        event=event.event, status_code=event.status_code, description=event.description,
        at=event.at, source_envelope_id=event.source_envelope_id,
    )  # fmt: skip


def _recipient(code: str, document: Envelope, events: list[TimelineEvent]) -> RecipientTimeline:
    delivery = next(d for d in document.deliveries if d.recipient_code == code)
    mine = [_event(e) for e in events if e.recipient_code == code]
    statuses = [e.status_code for e in mine if e.status_code]
    return RecipientTimeline(
        recipient_code=code, delivery_state=delivery.state, queued_at=delivery.queued_at,
        last_status=statuses[-1] if statuses else None, events=mine,
    )  # fmt: skip


async def timeline(session: AsyncSession, document: Envelope) -> TimelineOut:
    events = await _events(session, document)
    return TimelineOut(
        envelope_id=document.envelope_id, document_id=document.document_id,
        sender_code=document.sender_code, subject=document.subject,
        business_type=document.business_type, received_at=document.received_at,
        recipients=[_recipient(d.recipient_code, document, events) for d in document.deliveries],
    )  # fmt: skip


async def by_envelope_id(session: AsyncSession, envelope_id: str) -> TimelineOut:
    document = await intake.envelope_by_id(session, envelope_id)
    if document is None or document.kind != "document":
        raise NotFound(f"no document envelope with id '{envelope_id}'")
    if document.business_type == BusinessDocType.REVOCATION and document.target_document_id:
        # A recall or deletion lives in the timeline of the document it acts on.
        targets = await intake.documents(session, document.target_document_id, document.sender_code)
        document = targets[-1] if targets else document
    return await timeline(session, document)


async def by_document_id(
    session: AsyncSession, document_id: str, sender: str | None
) -> list[TimelineOut]:
    found = await intake.documents(session, document_id, sender)
    if not found:
        raise NotFound(f"no document with DocumentId '{document_id}'")
    return [await timeline(session, document) for document in found]
