"""SQL of the documents store. Flushes only; the edge commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer, selectinload

from agency_adapter.models import Box, Document, ExternalFile
from schemas.ids import time_ordered_uuid
from schemas.model import DocumentPackage

# Statuses and recalls: what a document's view and its lifecycle read.
WITH_HISTORY = (selectinload(Document.statuses), selectinload(Document.recalls))


def _fields(package: DocumentPackage) -> dict[str, object]:
    code = package.code
    return {
        "document_id": package.document_id,
        "sender_code": package.sender.organ_id,
        "sender_name": package.sender.organ_name,
        "recipients": [org.organ_id for org in package.recipients],
        "subject": package.subject,
        "content": package.content,
        "code_number": code.code_number if code else None,
        "code_notation": code.code_notation if code else None,
        "due_date": package.due_date,
        "priority": int(package.other_info.priority)
        if package.other_info and package.other_info.priority is not None
        else None,
        "business_type": int(package.business_type),
    }


def _listed_outside(package: DocumentPackage) -> list[dict[str, Any]]:
    listed = package.lienthong.external_attachments if package.lienthong else ()
    return [{"name": file.name, "size": file.size, "sha256": file.sha256} for file in listed]


def _external_files(package: DocumentPackage) -> list[ExternalFile]:
    return [ExternalFile(**file) for file in _listed_outside(package)]


def _document_row(package: DocumentPackage, envelope_id: str, body: bytes,
                  **columns: object) -> dict[str, Any]:  # fmt: skip
    """A document's columns (those left out take their defaults). Every document's row names
    the same columns, whatever `columns` gives: rows written in one statement must.

    Its time is taken here, to the microsecond, not from the database: SQLite's
    CURRENT_TIMESTAMP counts whole seconds and PostgreSQL's now() is the transaction's start,
    so documents stored together would tie, and the feed would announce them (an update
    before the version it updates, say) in the random order of their ids."""
    return {"id": time_ordered_uuid(), "created_at": datetime.now(UTC), "envelope_id": envelope_id,
            "body": body, "local_system": None, "supersedes": None,
            "revises_document_id": None, **columns, **_fields(package)}  # fmt: skip


def outbox_row(package: DocumentPackage, envelope_id: str, body: bytes,
               local_system: str | None, revises: Document | None) -> dict[str, Any]:  # fmt: skip
    """A sent document's columns; a new version names the one it `revises`."""
    links = (
        {"supersedes": revises.id, "revises_document_id": revises.document_id} if revises else {}
    )
    return _document_row(package, envelope_id, body, box=Box.OUTBOX, state="queued",
                         local_system=local_system, **links)  # fmt: skip


def inbox_row(package: DocumentPackage, envelope_id: str, body: bytes) -> dict[str, Any]:
    """A received document's columns."""
    return _document_row(package, envelope_id, body, box=Box.INBOX, state="received")


def inbox_document(package: DocumentPackage, envelope_id: str, body: bytes) -> Document:
    return Document(**inbox_row(package, envelope_id, body), statuses=[], recalls=[],
                    external_files=_external_files(package))  # fmt: skip


def external_file_rows(package: DocumentPackage, document_pk: uuid.UUID) -> list[dict[str, Any]]:
    """The rows of the files a document lists outside its package."""
    return [{"document_pk": document_pk, **file} for file in _listed_outside(package)]


async def by_id(session: AsyncSession, document_id: uuid.UUID) -> Document | None:
    query = select(Document).where(Document.id == document_id).options(*WITH_HISTORY)
    return (await session.scalars(query)).one_or_none()


async def by_envelope(session: AsyncSession, envelope_id: str) -> Document | None:
    query = select(Document).where(Document.envelope_id == envelope_id).options(*WITH_HISTORY)
    return (await session.scalars(query)).one_or_none()


# Built once (see db.py): every status received runs it, through the index that starts
# with the DocumentId (migration a007), not by walking the outbox newest first.
NEWEST_SENT = (
    select(Document)
    .where(Document.box == Box.OUTBOX, Document.document_id == bindparam("document_id"))
    .order_by(Document.created_at.desc())
    .limit(1)
)
# With its history; not the signed package, which can be megabytes and a status never reads.
_SENT_WITH_HISTORY = NEWEST_SENT.options(defer(Document.body, raiseload=True), *WITH_HISTORY)
_SENT_PK = NEWEST_SENT.with_only_columns(Document.id)


async def sent_with_document_id(session: AsyncSession, document_id: str) -> Document | None:
    """The newest document sent with this DocumentId, with its statuses and recalls."""
    return (await session.scalars(_SENT_WITH_HISTORY, {"document_id": document_id})).first()


async def sent_pk(session: AsyncSession, document_id: str) -> uuid.UUID | None:
    """The id of the newest document sent with this DocumentId."""
    return await session.scalar(_SENT_PK, {"document_id": document_id})


# Recalled and deleted documents leave the inbox list; `status=withdrawn|deleted` finds them.
HIDDEN_UNLESS_ASKED = ("withdrawn", "deleted")


@dataclass(frozen=True)
class Search:
    box: Box
    text: str | None = None
    state: str | None = None
    sender: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sort: str | None = None
    limit: int = 50
    offset: int = 0


def _order(box: Box, sort: str | None) -> list[Any]:
    """By default the inbox by processing deadline (due date, then priority, then arrival)
    and the outbox newest first."""
    sort = sort or ("deadline" if box == Box.INBOX else "newest")
    if sort == "deadline":
        return [Document.due_date.is_(None), Document.due_date, Document.priority.desc(),
                Document.created_at, Document.id]  # fmt: skip
    if sort == "oldest":
        return [Document.created_at, Document.id]
    # Ties (the same instant) newest id first: the index on (box, created_at, id), walked
    # backwards, then gives the order itself and a page reads only its own rows (a007).
    return [Document.created_at.desc(), Document.id.desc()]


def page_query(wanted: Search) -> Select[Document]:
    """One page of a box, optionally matching a text in subject, content, code or sender.
    Without the packages: a list never shows their content, and they are most of a store."""
    query = (
        select(Document)
        .where(Document.box == wanted.box)
        .options(*WITH_HISTORY, defer(Document.body, raiseload=True))
    )
    if wanted.text:
        pattern = f"%{wanted.text}%"
        query = query.where(or_(
            Document.subject.ilike(pattern), Document.content.ilike(pattern),
            Document.code_notation.ilike(pattern), Document.code_number.ilike(pattern),
            Document.sender_code.ilike(pattern), Document.sender_name.ilike(pattern),
        ))  # fmt: skip
    if wanted.since:
        query = query.where(Document.created_at >= wanted.since)
    if wanted.until:
        query = query.where(Document.created_at < wanted.until)
    if wanted.state:
        query = query.where(Document.state == wanted.state)
    elif wanted.box == Box.INBOX:
        query = query.where(Document.state.not_in(HIDDEN_UNLESS_ASKED))
    if wanted.sender:
        query = query.where(Document.sender_code == wanted.sender)
    query = query.order_by(*_order(wanted.box, wanted.sort))
    return query.offset(wanted.offset).limit(wanted.limit)


async def search(session: AsyncSession, wanted: Search) -> list[Document]:
    return list(await session.scalars(page_query(wanted)))
