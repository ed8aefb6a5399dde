"""Turning stored documents into API answers (the package is parsed only when asked for)."""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import BinaryIO
from urllib.parse import quote

from fastapi import Response
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from agency_adapter.attachments.store import AttachmentStore
from agency_adapter.context import AdapterContext
from agency_adapter.documents import repository
from agency_adapter.documents.payloads import (
    AttachmentOut,
    DocumentOut,
    ListQuery,
    RecallOut,
    RecipientOut,
    StatusOut,
)
from agency_adapter.documents.ranges import file_response
from agency_adapter.errors import Gone, InvalidDocument, NotFound
from agency_adapter.models import Box, Document, Recall
from schemas.model import Attachment, DocumentPackage, ExternalAttachment
from schemas.reader import read_package
from schemas.standard_form import standard_form


def _attachments(document: Document) -> tuple[Attachment | ExternalAttachment, ...]:
    """Inline files first, then those kept outside the package, as the API numbers them."""
    if document.deleted_at is not None:
        return ()
    package = read_package(document.body).package
    if not isinstance(package, DocumentPackage):
        return ()
    return (*package.attachments, *_outside(package))


def _recall(recall: Recall | None) -> RecallOut | None:
    if recall is None:
        return None
    return RecallOut(
        kind=recall.kind, reason=recall.reason, requested_at=recall.requested_at,
        outcome=recall.outcome, outcome_note=recall.outcome_note, decided_at=recall.decided_at,
    )  # fmt: skip


def _last_recall(document: Document, counterpart: str | None = None) -> Recall | None:
    asked = [
        r for r in document.recalls
        if r.box == document.box and counterpart in (None, r.counterpart)
    ]  # fmt: skip
    return asked[-1] if asked else None


def describe(document: Document, *, with_attachments: bool = True) -> DocumentOut:
    """The document as the API shows it. Its attachments are read from its package, which
    a list of documents leaves out (`with_attachments=False`): it never loads the packages."""
    found = _attachments(document) if with_attachments else ()
    attachments = [
        AttachmentOut(index=i, name=a.name, content_type=a.content_type, size=a.size)
        for i, a in enumerate(found, start=1)
    ]
    statuses = [
        StatusOut(agency_code=s.agency_code, code=s.code, description=s.description, at=s.at)
        for s in document.statuses
    ]
    per_recipient = [_recipient(code, statuses, document) for code in document.recipients]
    return DocumentOut(
        id=document.id, box=document.box, envelope_id=document.envelope_id,
        document_id=document.document_id, sender_code=document.sender_code,
        sender_name=document.sender_name, recipients=document.recipients,
        subject=document.subject, content=document.content, code_number=document.code_number,
        code_notation=document.code_notation, due_date=document.due_date,
        priority=document.priority, state=document.state, created_at=document.created_at,
        kind=KINDS.get(document.business_type, "new"), supersedes=document.supersedes,
        superseded_by=document.superseded_by,
        recall=_recall(_last_recall(document)) if document.box == Box.INBOX else None,
        deleted_at=document.deleted_at, removal_reason=document.removal_reason,
        attachments=attachments, statuses=statuses,
        recipient_timelines=per_recipient if document.box == Box.OUTBOX else [],
    )  # fmt: skip


KINDS = {2: "update", 3: "replace"}
STATE_NAMES = {
    "01": "arrived", "02": "refused", "03": "accepted", "04": "assigned", "05": "in-progress",
    "06": "finished", "15": "change-agreed", "16": "change-refused",
}  # fmt: skip
# Statuses may arrive out of order: the furthest along the flow wins (01 < 15/16 < 02 < 03 ...).
RANK = {"01": 1, "15": 2, "16": 2, "02": 3, "03": 4, "04": 5, "05": 6, "06": 7}
RECALL_STATES = {
    ("recall", None): "recall-requested", ("recall", "15"): "recalled",
    ("delete", None): "delete-requested", ("delete", "15"): "deleted",
}  # fmt: skip


def _recipient(code: str, statuses: list[StatusOut], document: Document) -> RecipientOut:
    recall = _last_recall(document, code)
    mine = [s for s in statuses if s.agency_code == code]
    # 15/16 answering a recall say nothing about processing: the recall says it.
    processing = [s for s in mine if s.code not in ("15", "16") or document.business_type]
    last = max(processing, key=lambda s: RANK.get(s.code, 0), default=None)
    state = STATE_NAMES.get(last.code, last.code) if last else "sent"
    if recall is not None:
        state = RECALL_STATES.get((recall.kind, recall.outcome), state)
    return RecipientOut(agency_code=code, state=state, statuses=mine, recall=_recall(recall))


def package_of(document: Document, form: str, ctx: AdapterContext) -> Response:
    """The package as signed by its sender, or in standard form (a tombstone has none)."""
    _not_purged(document)
    if form == "signed":
        return Response(document.body, media_type="application/xml")
    package = read_package(document.body).package
    if not isinstance(package, DocumentPackage):
        raise InvalidDocument("a status package has no standard form other than itself")
    missing = [f.name for f in _outside(package) if not ctx.attachments.has(f.sha256, f.size)]
    if missing:
        raise NotFound(f"the adapter's attachment store lacks {', '.join(missing)}")

    def open_file(file: ExternalAttachment) -> BinaryIO:
        return ctx.attachments.path(file.sha256).open("rb")

    # A sync iterator: Starlette runs each step in a thread, so file reads never block the loop.
    stream = standard_form(package, open_file, ctx.identity)
    return StreamingResponse(stream, media_type="application/xml")


def _outside(package: DocumentPackage) -> tuple[ExternalAttachment, ...]:
    return package.lienthong.external_attachments if package.lienthong else ()


def _not_purged(document: Document) -> None:
    if document.deleted_at is not None:
        raise Gone(
            f"document {document.id} was deleted on its sender's request on "
            f"{document.deleted_at:%Y-%m-%d %H:%M}: {document.removal_reason}"
        )


def attachment_of(document: Document, index: int, store: AttachmentStore,
                  ranges: tuple[str | None, str | None] = (None, None)) -> Response:  # fmt: skip
    """One file's bytes; a file kept outside the package streams from the store (one Range
    honoured: `ranges` are the request's Range and If-Range), never read whole."""
    _not_purged(document)
    files = _attachments(document)
    if not 1 <= index <= len(files):
        raise NotFound(f"document {document.id} has {len(files)} attachment(s); no number {index}")
    file = files[index - 1]
    headers = {
        "Content-Type": safe_media_type(file.content_type),
        "Content-Disposition": f"attachment; filename*=UTF-8''{_quoted(file.name)}",
    }
    if isinstance(file, Attachment):
        return Response(file.content, headers=headers)
    opened = _open_stored(store, file)
    if opened is None:
        raise NotFound(f"attachment {index} of document {document.id} ('{file.name}') is not in "
                       "the adapter's attachment store")  # fmt: skip
    return file_response(opened, file.size, file.sha256, ranges, headers)


def _open_stored(store: AttachmentStore, file: ExternalAttachment) -> BinaryIO | None:
    """The stored file, open (a purge may remove it any time: the open file stays readable);
    None when it is not there whole."""
    try:
        opened = store.path(file.sha256).open("rb")
    except FileNotFoundError:
        return None
    if os.fstat(opened.fileno()).st_size != file.size:
        opened.close()
        return None
    return opened


# RFC 9110 media type: type "/" subtype, then parameters whose values are tokens or quoted
# strings; printable ASCII only, so the value can never break or inject a header line.
_TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[\t !#-\[\]-~]|\\[\t -~])*"'
_MEDIA_TYPE = re.compile(rf"{_TCHARS}/{_TCHARS}(?:[ \t]*;[ \t]*{_TCHARS}=(?:{_TCHARS}|{_QUOTED}))*")
OCTET_STREAM = "application/octet-stream"


def safe_media_type(given: str | None) -> str:
    """The content type a sender's package gives, if it is a well-formed media type; else
    application/octet-stream (a CR, LF or non-Latin-1 character in a header is an error)."""
    if given is None or _MEDIA_TYPE.fullmatch(given) is None:
        return OCTET_STREAM
    return given


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
            describe(d, with_attachments=False).model_dump(mode="json", exclude={"attachments"})
            for d in rows[:limit]
        ],
        "next_cursor": _cursor(offset + limit) if more else None,
    }
