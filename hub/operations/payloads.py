"""What the operations service returns to the dashboard and the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from hub.models import DeadLetter, Quarantine
from hub.timeline.payloads import TimelineOut


class MailboxRow(BaseModel):
    """One agency's mailbox: what waits in it, who reads it, whether it looks stuck.

    Broker figures come from the management API, which trails the queue by a few seconds."""

    code: str
    name: str
    level: str
    state: str
    queue: str
    queue_found: bool  # False: RabbitMQ has no such queue (deliveries to it will fail)
    messages: int  # ready to be consumed
    unacknowledged: int  # taken by a consumer, not acknowledged yet
    consumers: int
    oldest_age_s: float | None  # approximate, from the database; None when nothing waits
    last_consumed_at: datetime | None  # newest status 01 the agency sent
    stuck: bool


class DeadLetterRow(BaseModel):
    id: int
    message_id: str | None
    queue: str | None
    routing_key: str | None
    reason: str | None
    attempts: int
    destination: str  # 'mailbox:<code>', 'intake' or 'unknown': where a replay goes
    size: int
    received_at: datetime
    state: str
    decided_by: str | None
    decided_at: datetime | None

    @classmethod
    def of(cls, row: DeadLetter, size: int) -> DeadLetterRow:
        return cls(
            id=row.id, message_id=row.message_id, queue=row.queue, routing_key=row.routing_key,
            reason=row.reason, attempts=row.attempts, destination=row.destination, size=size,
            received_at=row.received_at, state=row.state, decided_by=row.decided_by,
            decided_at=row.decided_at,
        )  # fmt: skip


class DeadLetterEntry(DeadLetterRow):
    """One dead letter in full: its AMQP headers and body (decoded, undecodable bytes as �)."""

    exchange: str | None
    user_id: str | None
    headers: dict[str, Any]
    body: str


class QuarantineRow(BaseModel):
    id: int
    message_id: str | None
    reason: str
    sender_code: str | None
    broker_user: str | None
    received_at: datetime
    refusal_envelope_id: str | None
    sha256: str
    size: int

    @classmethod
    def of(cls, row: Quarantine, size: int) -> QuarantineRow:
        return cls(
            id=row.id, message_id=row.message_id, reason=row.reason, sender_code=row.sender_code,
            broker_user=row.broker_user, received_at=row.received_at,
            refusal_envelope_id=row.refusal_envelope_id, sha256=row.sha256, size=size,
        )  # fmt: skip


class QuarantineEntry(QuarantineRow):
    """One refused message in full; `body` decoded (undecodable bytes as �), `raw` exact."""

    body: str
    raw: bytes = Field(exclude=True, repr=False)  # not in JSON: bytes may not be text

    @classmethod
    def full(cls, row: Quarantine) -> QuarantineEntry:
        listed = QuarantineRow.of(row, len(row.body)).model_dump()
        return cls(**listed, body=row.body.decode("utf-8", errors="replace"), raw=row.body)


class TracedDocument(TimelineOut):
    """A document found by `trace`, with its timeline per recipient."""

    kind: str
    code_number: str | None
    code_notation: str | None
