"""Document routes of the adapter's REST API v1."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Header, Query, Request, Response, status

from agency_adapter.api.dependencies import LocalSystem, Runtime, Session
from agency_adapter.documents import service
from agency_adapter.documents.payloads import (
    Accepted,
    DocumentOut,
    ListQuery,
    StatusIn,
    StatusOut,
)
from agency_adapter.documents.submission import OPENAPI, read_submission
from agency_adapter.documents.views import attachment_of, describe, package_of, page

router = APIRouter(prefix="/v1/documents", tags=["documents"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, openapi_extra=OPENAPI)
async def send_document(
    request: Request, db: Session, rt: Runtime, system: LocalSystem, after: BackgroundTasks
) -> Accepted:
    """Send a document (JSON, multipart or a ready edXML package): signed, stored with its
    outbox row, published as soon as possible."""
    async with read_submission(request, rt.ctx) as submission:
        accepted = await service.submit(db, rt.ctx, submission, system)
    after.add_task(rt.workers.nudge)  # after the commit: the relay must see the row
    return accepted


@router.get("")
async def list_documents(
    query: Annotated[ListQuery, Query()], db: Session, _: LocalSystem
) -> dict[str, object]:
    """A page of the inbox (by processing deadline) or the outbox (newest first)."""
    return await page(db, query)


@router.get("/{document_id}")
async def show_document(document_id: uuid.UUID, db: Session, _: LocalSystem) -> DocumentOut:
    """Metadata, attachments and timeline of one document."""
    return describe(await service.get(db, document_id))


@router.get("/{document_id}/edxml")
async def document_package(
    document_id: uuid.UUID, db: Session, rt: Runtime, _: LocalSystem,
    form: Literal["signed", "standard"] = "signed",
) -> Response:  # fmt: skip
    """The signed package as sent or received; `form=standard`: every file inline (plain
    QCVN 102 for peers outside lienthong), streamed and signed by this agency."""
    return package_of(await service.get(db, document_id), form, rt.ctx)


@router.get("/{document_id}/attachments/{index}")
async def document_attachment(
    document_id: uuid.UUID, index: int, db: Session, rt: Runtime, _: LocalSystem,
    range_: Annotated[str | None, Header(alias="range")] = None,
    if_range: Annotated[str | None, Header(alias="if-range")] = None,
) -> Response:  # fmt: skip
    """One attachment's bytes (numbered from 1, as listed; Range requests supported)."""
    document = await service.get(db, document_id)
    return attachment_of(document, index, rt.ctx.attachments, (range_, if_range))


@router.post("/{document_id}/status", status_code=status.HTTP_202_ACCEPTED)
async def report_status(
    document_id: uuid.UUID,
    body: StatusIn,
    db: Session,
    rt: Runtime,
    _: LocalSystem,
    after: BackgroundTasks,
) -> StatusOut:
    """Report 02-06 on a received document (15/16 on a new version); 409 if not allowed now."""
    record = await service.report(db, rt.ctx, await service.get(db, document_id), body)
    after.add_task(rt.workers.nudge)  # after the commit: the relay must see the row
    return StatusOut(agency_code=record.agency_code, code=record.code,
                     description=record.description, at=record.at)  # fmt: skip
