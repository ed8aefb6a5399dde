"""The adapter's tables (created only by migrations/adapter)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agency_adapter.db import Base
from schemas.ids import time_ordered_uuid

CODE = String(64)


class Box(StrEnum):
    INBOX = "inbox"
    OUTBOX = "outbox"


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Document(Base):
    """A document this agency sent (outbox) or received (inbox), with the signed package."""

    __tablename__ = "document"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=time_ordered_uuid)
    box: Mapped[str] = mapped_column(String(8))
    envelope_id: Mapped[str] = mapped_column(String(128), unique=True)
    document_id: Mapped[str | None] = mapped_column(Text)
    sender_code: Mapped[str] = mapped_column(CODE, index=True)
    sender_name: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str | None] = mapped_column(Text)
    content: Mapped[str | None] = mapped_column(Text)
    code_number: Mapped[str | None] = mapped_column(Text)
    code_notation: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[date | None] = mapped_column(Date)
    priority: Mapped[int | None] = mapped_column(Integer)
    business_type: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))
    local_system: Mapped[str | None] = mapped_column(String(128))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _now()
    # Versions: an update or replacement links to the document it revises, and back.
    revises_document_id: Mapped[str | None] = mapped_column(Text)
    supersedes: Mapped[uuid.UUID | None] = mapped_column()
    superseded_by: Mapped[uuid.UUID | None] = mapped_column()
    # Received documents: when the local system was told (document.received). None while it
    # waits for the mailbox to catch up; set, with no event, for one recalled before arrival.
    announced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A tombstone: when the content was purged (deleted on mistake) and why.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removal_reason: Mapped[str | None] = mapped_column(Text)
    statuses: Mapped[list[StatusRecord]] = relationship(
        back_populates="document", order_by="StatusRecord.id"
    )
    recalls: Mapped[list[Recall]] = relationship(back_populates="document", order_by="Recall.id")
    # Files that travel outside the package (also listed, signed, in the package itself).
    external_files: Mapped[list[ExternalFile]] = relationship(
        back_populates="document", order_by="ExternalFile.id", cascade="all, delete-orphan"
    )
    # What waits to be announced (box, announced_at IS NULL) is found in one index as an
    # equality on both columns, in arrival order. With an index on each column, SQLite's
    # planner took the one on box and read every received document at each announcement
    # (migration a006). A page of a box is read in the order of an index too, newest or
    # oldest first (below: by deadline), and the metrics count from an index alone (a007).
    __table_args__ = (
        Index("ix_document_box_announced_at", "box", "announced_at", "created_at", "id"),
        Index("ix_document_box_created_at", "box", "created_at", "id"),
        Index("ix_document_box_state", "box", "state"),  # the metrics' counts, from it alone
        # A DocumentId's versions in a box, newest or oldest first: what a status, a recall
        # or a version names (a007; an index on the DocumentId alone lost to the one on
        # (box, created_at), which spares the sort but walks the whole box).
        Index("ix_document_document_id_box", "document_id", "box", "created_at"),
        Index("ix_document_revises_box", "revises_document_id", "box", "created_at"),
    )
    # Bumped by every ORM update: a request and the mailbox handler changing one document at
    # once cannot silently overwrite each other (the later one fails and is retried or 409).
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's own mapping)


# The inbox's default order (see documents.repository._order), as an index: a page is the
# index's first rows, not a sort of every document received.
Index(
    "ix_document_box_deadline",
    Document.box, Document.due_date.is_(None), Document.due_date, Document.priority.desc(),
    Document.created_at, Document.id,
)  # fmt: skip


class ExternalFile(Base):
    """A file of a document kept in the attachment store rather than in its package: what the
    relay uploads before publishing, and what a purge removes unless a live document still
    holds the same bytes (rows of purged documents go once their files are gone)."""

    __tablename__ = "external_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_pk: Mapped[uuid.UUID] = mapped_column(ForeignKey("document.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    document: Mapped[Document] = relationship(back_populates="external_files")


class AwaitingFiles(Base):
    """A received document whose files outside its package are not all here yet: its mailbox
    message was acked once this row was committed, and the fetcher brings the files from the
    hub's store, then stores the document as the mailbox would have. Kept, and tried again
    with back-off, for as long as the hub does not give the files (an operator sees the count
    and the oldest age in the metrics); dropped when its sender deletes it on mistake."""

    __tablename__ = "awaiting_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    envelope_id: Mapped[str] = mapped_column(String(128), unique=True)
    sender_code: Mapped[str] = mapped_column(CODE)
    document_id: Mapped[str] = mapped_column(Text)
    body: Mapped[bytes] = mapped_column(LargeBinary)  # the package as it came, signature held
    files: Mapped[list[str]] = mapped_column(JSON)  # the SHA-256 of each file it lists outside
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Epoch seconds, like Outbox.next_attempt_at.
    next_attempt_at: Mapped[float] = mapped_column(Float, default=0.0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()

    __table_args__ = (Index("ix_awaiting_files_document", "sender_code", "document_id"),)


class StatusRecord(Base):
    """A status on a document: received from a recipient (outbox) or sent by us (inbox)."""

    __tablename__ = "status_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_pk: Mapped[uuid.UUID] = mapped_column(ForeignKey("document.id"), index=True)
    envelope_id: Mapped[str] = mapped_column(String(128), unique=True)
    agency_code: Mapped[str] = mapped_column(CODE)
    code: Mapped[str] = mapped_column(String(2))
    description: Mapped[str | None] = mapped_column(Text)
    staff: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = _now()
    document: Mapped[Document] = relationship(back_populates="statuses")


class RecallKind(StrEnum):
    RECALL = "recall"  # thu hồi: the recipient agrees (15) or refuses (16)
    DELETE = "delete"  # delete-on-mistake: the recipient must purge and confirm (15)


class RecallOutcome(StrEnum):
    """How a recall or deletion ended (None while it waits)."""

    AGREED = "15"  # agreed, or done (a deletion)
    REFUSED = "16"
    REPLACED = "replaced"  # a deletion took its place
    HUB_REFUSED = "02"  # the hub would not route it: it may be asked again


class Recall(Base):
    """A recall or deletion: asked of one recipient (outbox), or asked of us (inbox).

    An inbox row may come before its document (a recall that overtook it): it then has no
    document yet, and the document is withdrawn or purged the moment it arrives."""

    __tablename__ = "recall"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    box: Mapped[str] = mapped_column(String(8))
    envelope_id: Mapped[str] = mapped_column(String(128))
    document_pk: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("document.id"), index=True)
    document_id: Mapped[str] = mapped_column(Text)
    sender_code: Mapped[str] = mapped_column(CODE)
    counterpart: Mapped[str] = mapped_column(CODE)  # the recipient asked, or the sender asking
    kind: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = _now()
    # '15' agreed/done, '16' refused, 'replaced' by a later deletion; None while waiting.
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    document: Mapped[Document | None] = relationship(back_populates="recalls")

    def close(self, outcome: str, note: str | None, at: datetime | None = None) -> None:
        """Record how it ended: the answer, or why it no longer waits."""
        self.outcome, self.outcome_note = outcome, note
        self.decided_at = at or datetime.now(UTC)

    __table_args__ = (
        UniqueConstraint("box", "envelope_id", "counterpart"),
        Index("ix_recall_target", "sender_code", "document_id"),
    )


class Outbox(Base):
    """A signed package waiting to be published to the hub; kept after publishing."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    envelope_id: Mapped[str] = mapped_column(String(128), unique=True)
    # None for a document this agency sent: the package is its Document's body (same
    # envelope id), stored once. A status, recall or deletion carries its own.
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _now()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Epoch seconds: compared in Python, the same on SQLite and PostgreSQL whatever their clocks.
    next_attempt_at: Mapped[float] = mapped_column(Float, default=0.0)
    # When it went out; or when it was set aside for good (the hub refused one of its
    # attachments for ever: last_error says why, its document is 'failed').
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)


class Event(Base):
    """The ordered feed a local system reads (and the webhook sends): never reordered."""

    __tablename__ = "event"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64))
    document_pk: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("document.id"))
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = _now()
    webhook_attempts: Mapped[int] = mapped_column(Integer, default=0)
    webhook_delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the webhook has still to send, in seq order: found in the index, however long the
    # feed grows (a007). Read from the feed's start, every event ever delivered came first.
    # Not a partial index: its dialect options would load PostgreSQL's SQLAlchemy dialect
    # into every adapter (2.3 MB), most of which never use it.
    __table_args__ = (Index("ix_event_undelivered", "webhook_delivered_at", "seq"),)
