"""The hub's tables. Schema changes happen only through Alembic migrations in migrations/."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base
from schemas.ids import time_ordered_uuid

CODE = String(64)


class AgencyLevel(StrEnum):
    PROVINCE = "province"
    DEPARTMENT = "department"
    DISTRICT = "district"
    COMMUNE = "commune"
    CENTRAL = "central"
    OTHER = "other"


class AgencyState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class DeliveryState(StrEnum):
    PENDING = "pending"  # recorded, not yet confirmed by the broker
    QUEUED = "queued"  # in the recipient's mailbox queue
    CANCELLED = "cancelled"  # recalled or deleted by its sender before it left the hub


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Agency(Base):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(CODE, unique=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(CODE, ForeignKey("agency.code"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=AgencyState.ACTIVE)
    broker_user: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = _now()
    certificates: Mapped[list[AgencyCertificate]] = relationship(
        back_populates="agency", order_by="AgencyCertificate.not_after"
    )


class AgencyCertificate(Base):
    __tablename__ = "agency_certificate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    pem: Mapped[str] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    added_at: Mapped[datetime] = _now()
    agency: Mapped[Agency] = relationship(back_populates="certificates")


class AgencyGroup(Base):
    """An address standing for several agencies: the communes of a district, a whole province."""

    __tablename__ = "agency_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(CODE, unique=True)
    name: Mapped[str] = mapped_column(Text)
    anchor_code: Mapped[str] = mapped_column(CODE, ForeignKey("agency.code"))
    # 'children:<level>' = direct children of that level; 'descendants' = everyone below.
    rule: Mapped[str] = mapped_column(String(32))


class Envelope(Base):
    """One accepted package, byte for byte, as the sender signed it."""

    __tablename__ = "envelope"

    # Time-ordered: three indexes are keyed by it (see schemas/ids.py).
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=time_ordered_uuid)
    envelope_id: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    sender_code: Mapped[str] = mapped_column(CODE)  # leads ix_envelope_sender_received
    document_id: Mapped[str | None] = mapped_column(Text)
    business_type: Mapped[int | None] = mapped_column(Integer)
    # For a recall, deletion, update or replacement: the DocumentId it acts on.
    target_document_id: Mapped[str | None] = mapped_column(Text)
    status_code: Mapped[str | None] = mapped_column(String(2))
    subject: Mapped[str | None] = mapped_column(Text)
    # Số and ký hiệu (Code/CodeNumber, Code/CodeNotation) of a document, for operators' searches.
    code_number: Mapped[str | None] = mapped_column(Text)
    code_notation: Mapped[str | None] = mapped_column(Text)
    # The same bytes are the same envelope, whatever message id they came under.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = _now()
    deliveries: Mapped[list[Delivery]] = relationship(back_populates="envelope")

    __table_args__ = (
        Index("ix_envelope_document", "document_id", "sender_code"),
        Index("ix_envelope_received", "received_at"),  # the dashboard's hourly counts
    )


# Each agency's newest envelope (its last activity) first among its code's entries (0011).
Index("ix_envelope_sender_received", Envelope.sender_code, Envelope.received_at.desc().nulls_last())


class Delivery(Base):
    """One envelope's way into one recipient's mailbox."""

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Neither has an index of its own: each leads a wider one below (migration 0009).
    envelope_pk: Mapped[uuid.UUID] = mapped_column(ForeignKey("envelope.id"))
    recipient_code: Mapped[str] = mapped_column(CODE)
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING)
    created_at: Mapped[datetime] = _now()
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Failed publishes so far and why the last one failed: the redelivery sweeper retries.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    envelope: Mapped[Envelope] = relationship(back_populates="deliveries")

    __table_args__ = (
        UniqueConstraint("envelope_pk", "recipient_code"),
        Index("ix_delivery_pending", "state", "created_at"),
        Index("ix_delivery_recipient_queued", "recipient_code", "queued_at"),
        Index("ix_delivery_queued", "queued_at"),
    )


class EnvelopeAttachment(Base):
    """A file an envelope carries outside itself, in the hub's attachment store (its package
    lists it in lt:ExternalAttachments). Rows outlive the file: they say who may fetch it and
    how long it must be kept."""

    __tablename__ = "envelope_attachment"

    envelope_pk: Mapped[uuid.UUID] = mapped_column(ForeignKey("envelope.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    name: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)


class AttachmentPossession(Base):
    """An agency that uploaded a stored file's bytes itself (their digest checked). Knowing a
    digest is not enough to list a file in a package or to be told the store has it: the
    agency must have sent the bytes, or be a sender or recipient of a document carrying them.
    Rows go when the file leaves the store."""

    __tablename__ = "attachment_possession"

    agency_code: Mapped[str] = mapped_column(CODE, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    at: Mapped[datetime] = _now()  # the last time it uploaded them


class TimelineEvent(Base):
    """What happened to one document at one recipient: sent, then each status."""

    __tablename__ = "timeline_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_pk: Mapped[uuid.UUID] = mapped_column(ForeignKey("envelope.id"), index=True)
    recipient_code: Mapped[str] = mapped_column(CODE)
    event: Mapped[str] = mapped_column(String(32))
    status_code: Mapped[str | None] = mapped_column(String(2))
    description: Mapped[str | None] = mapped_column(Text)
    source_envelope_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = _now()

    # The metrics' counts of first 01s and of deletions read only what was stamped since the
    # last scrape, through these two (hub.tally; migration 0010).
    __table_args__ = (
        Index("ix_timeline_event_reporter", "recipient_code", "status_code", "at"),
        Index("ix_timeline_event_answers", "at",
              postgresql_where=text("event = 'status' AND status_code = '01'")),
        Index("ix_timeline_event_deletions", "source_envelope_id",
              postgresql_where=text("event = 'delete-requested'")),
    )  # fmt: skip


class Quarantine(Base):
    """An intake message that was refused, kept byte for byte for operators."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(128), index=True)
    broker_user: Mapped[str | None] = mapped_column(String(128))
    sender_code: Mapped[str | None] = mapped_column(CODE)
    reason: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    # The hub's status 02 answering it, if the sender was known.
    refusal_envelope_id: Mapped[str | None] = mapped_column(String(128))
    received_at: Mapped[datetime] = _now()

    __table_args__ = (Index("ix_quarantine_received", "received_at"),)


class DeadLetterState(StrEnum):
    WAITING = "waiting"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class DeadLetter(Base):
    """A message RabbitMQ dead-lettered, kept by the hub until an operator replays or discards
    it (the dead-letter queue itself cannot be listed without disturbing it)."""

    __tablename__ = "dead_letter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Digest of the body and of the x-death entry: the same death kept twice is kept once.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(128), index=True)
    user_id: Mapped[str | None] = mapped_column(String(128))
    queue: Mapped[str | None] = mapped_column(Text)
    exchange: Mapped[str | None] = mapped_column(Text)
    routing_key: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Where a replay goes: 'intake', 'mailbox:<agency code>', or 'unknown'.
    destination: Mapped[str] = mapped_column(String(80))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, object]] = mapped_column(JSON)
    received_at: Mapped[datetime] = _now()
    state: Mapped[str] = mapped_column(String(16), default=DeadLetterState.WAITING)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_dead_letter_state", "state", "id"),)


class AuditEntry(Base):
    """Append-only, hash-chained: each entry's hash covers the previous one's."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, object]] = mapped_column(JSON)
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))  # not indexed (migration 0012)
