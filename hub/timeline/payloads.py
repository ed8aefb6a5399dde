"""A document's timeline as operators and senders see it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class EventOut(BaseModel):
    event: str
    status_code: str | None
    description: str | None
    at: datetime
    source_envelope_id: str


class RecipientTimeline(BaseModel):
    recipient_code: str
    delivery_state: str
    queued_at: datetime | None
    last_status: str | None
    events: list[EventOut]


class TimelineOut(BaseModel):
    envelope_id: str
    document_id: str | None
    sender_code: str
    subject: str | None
    business_type: int | None
    received_at: datetime
    recipients: list[RecipientTimeline]
