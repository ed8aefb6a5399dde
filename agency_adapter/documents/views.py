"""Turning stored documents into API answers (the package is parsed only when asked for)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import quote

from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from agency_adapter.documents import repository
from agency_adapter.documents.payloads import (
    AttachmentOut,
    DocumentOut,
    ListQuery,
    RecipientOut,
    StatusOut,
)
from agency_adapter.errors import InvalidDocument, NotFound
from agency_adapter.models import Box, Document
from schemas.model import Attachment, DocumentPackage
from schemas.reader import read_package


def _attachments(document: Document) -> tuple[Attachment, ...]:
    package = read_package(document.body).package
    return package.attachments if isinstance(package, DocumentPackage) else ()


def describe(document: Document) -> DocumentOut:
    attachments = [
        AttachmentOut(index=i, name=a.name, content_type=a.content_type, size=a.size)
        for i, a in enumerate(_attachments(document), start=1)
    ]
    statuses = [
        StatusOut(agency_code=s.agency_code, code=s.code, description=s.description, at=s.at)
        for s in document.statuses
    ]
    per_recipient = [_recipient(code, statuses) for code in document.recipients]
    return DocumentOut(
        id=document.id, box=document.box, envelope_id=document.envelope_id,
        document_id=document.document_id, sender_code=document.sender_code,
        sender_name=document.sender_name, recipients=document.recipients,
        subject=document.subject, content=document.content, code_number=document.code_number,
        code_notation=document.code_notation, due_date=document.due_date,
        priority=document.priority, state=document.state, created_at=document.created_at,
        attachments=attachments, statuses=statuses,
        recipient_timelines=per_recipient if document.box == Box.OUTBOX else [],
    )  # fmt: skip


STATE_NAMES = {
    "01": "arrived", "02": "refused", "03": "accepted", "04": "assigned", "05": "in-progress",
    "06": "finished", "15": "change-agreed", "16": "change-refused",
}  # fmt: skip


def _recipient(code: str, statuses: list[StatusOut]) -> RecipientOut:
    mine = [s for s in statuses if s.agency_code == code]
    last = max(mine, key=lambda s: s.code, default=None)  # codes rise along the standard flow
    return RecipientOut(
        agency_code=code,
        state=STATE_NAMES.get(last.code, last.code) if last else "sent",
        statuses=mine,
    )


def attachment_of(document: Document, index: int) -> Response:
    files = _attachments(document)
    if not 1 <= index <= len(files):
        raise NotFound(f"document {document.id} has {len(files)} attachment(s); no number {index}")
    file = files[index - 1]
    disposition = f"attachment; filename*=UTF-8''{_quoted(file.name)}"
    return Response(file.content, media_type=file.content_type or "application/octet-stream",
                    headers={"Content-Disposition": disposition})  # fmt: skip


def _quoted(name: str) -> str:
    return quote(name, safe="")


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidDocument(f"cursor '{cursor}' is not one this API gave out") from None


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


async def page(session: AsyncSession, query: ListQuery) -> dict[str, object]:
    """One page and the cursor of the next (None on the last page)."""
    offset, limit = _offset(query.cursor), query.limit
    wanted = repository.Search(
        box=query.box, text=query.q, state=query.status, sender=query.sender, since=query.since,
        until=query.until, sort=query.sort, limit=limit + 1, offset=offset,
    )  # fmt: skip
    rows = await repository.search(session, wanted)
    more = len(rows) > limit
    return {
        "items": [
            describe(d).model_dump(mode="json", exclude={"attachments"}) for d in rows[:limit]
        ],
        "next_cursor": _cursor(offset + limit) if more else None,
    }
