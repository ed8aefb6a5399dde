"""Sending documents and statuses: build the package, sign it, store it with an outbox row.

From the moment the transaction commits nothing is lost: the relay publishes the outbox,
retrying while the broker or the hub is away.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agency_adapter import events
from agency_adapter.context import AdapterContext
from agency_adapter.documents import repository
from agency_adapter.documents.payloads import DocumentIn, StatusIn
from agency_adapter.documents.submission import Submission
from agency_adapter.errors import Conflict, InvalidDocument, NotFound, TooLarge
from agency_adapter.models import Box, Document, Outbox, StatusRecord
from schemas.errors import EnvelopeError, LienthongError
from schemas.model import (
    VIETNAM_TIME,
    Attachment,
    Code,
    DocumentPackage,
    DocumentType,
    LienthongInfo,
    Organization,
    OtherInfo,
    Priority,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusPackage,
    TraceHeader,
)
from schemas.reader import read_package
from schemas.signing import sign_package
from schemas.writer import write_package

# What a received document may move to, by its current state (QCVN 102 processing flow).
NEXT = {
    "received": {"02", "03"},
    "accepted": {"04", "05", "06"},
    "assigned": {"05", "06"},
    "in-progress": {"06"},
}
STATE_OF = {
    "02": "refused",
    "03": "accepted",
    "04": "assigned",
    "05": "in-progress",
    "06": "finished",
}


def _now() -> datetime:
    return datetime.now(VIETNAM_TIME).replace(microsecond=0)


def _package(ctx: AdapterContext, payload: DocumentIn, envelope_id: str) -> DocumentPackage:
    code = payload.code
    return DocumentPackage(
        sender=ctx.agency,
        recipients=tuple(Organization(organ_id=to) for to in payload.to),
        document_id=f"{ctx.settings.agency_code},{_now():%Y/%m/%d},{envelope_id}",
        code=Code(code_number=code.number, code_notation=code.notation) if code else None,
        promulgation=_promulgation(payload),
        document_type=_document_type(payload),
        subject=payload.subject,
        content=payload.content,
        signer=SignerInfo(**payload.signer.model_dump()) if payload.signer else None,
        due_date=payload.due_date,
        other_info=OtherInfo(
            priority=Priority(payload.priority), sphere_of_promulgation=payload.sphere
        ),
        steering_type=payload.steering_type,
        trace=(TraceHeader(organ_id=ctx.settings.agency_code, timestamp=_now()),),
        lienthong=LienthongInfo(envelope_id=envelope_id),
        attachments=tuple(
            Attachment(
                content_id=str(uuid.uuid4()),
                name=a.name,
                content_type=a.content_type,
                content=a.content,
            )
            for a in payload.attachments
        ),
    )


def _promulgation(payload: DocumentIn) -> PromulgationInfo:
    given = payload.promulgation
    return PromulgationInfo(
        place=given.place if given else None,
        promulgation_date=(given.date if given and given.date else _now().date()),
    )


def _document_type(payload: DocumentIn) -> DocumentType | None:
    given = payload.document_type
    return DocumentType(type=given.type, type_name=given.name) if given else None


def _sign(ctx: AdapterContext, package: DocumentPackage | StatusPackage) -> bytes:
    try:
        return sign_package(write_package(package), ctx.identity)
    except LienthongError as error:
        raise InvalidDocument(f"the document cannot be written as edXML: {error}") from None


async def send(
    session: AsyncSession, ctx: AdapterContext, payload: DocumentIn, local_system: str | None
) -> Document:
    """Build, sign and store a new document and its outbox row (flushed, not committed)."""
    package = _package(ctx, payload, str(uuid.uuid4()))
    return await _send_package(session, ctx, package, local_system)


async def _send_package(session: AsyncSession, ctx: AdapterContext, package: DocumentPackage,
                        local_system: str | None) -> Document:  # fmt: skip
    assert package.lienthong is not None and package.lienthong.envelope_id is not None
    envelope_id = package.lienthong.envelope_id
    body = _sign(ctx, package)
    if len(body) > ctx.settings.max_document_bytes:
        raise TooLarge(f"the signed package is {len(body):,} bytes, above the limit of "
                       f"{ctx.settings.max_document_bytes:,}")  # fmt: skip
    document = repository.outbox_document(package, envelope_id, body, local_system)
    session.add_all([document, Outbox(envelope_id=envelope_id, body=body)])
    await session.flush()
    await events.append(session, "document.sent", document, {"envelope_id": envelope_id})
    return document


async def submit(session: AsyncSession, ctx: AdapterContext, submission: Submission,
                 local_system: str | None) -> Document:  # fmt: skip
    """A document from JSON/multipart fields, or a ready package the adapter signs."""
    if submission.document is not None:
        return await send(session, ctx, submission.document, local_system)
    assert submission.package is not None
    return await _send_package(session, ctx, _ready_package(ctx, submission.package), local_system)


def _ready_package(ctx: AdapterContext, data: bytes) -> DocumentPackage:
    try:
        result = read_package(data, ctx.settings.parse_limits())
    except EnvelopeError as error:
        raise InvalidDocument(f"the edXML package cannot be read: {error}") from None
    package = result.package
    errors = [p for p in result.problems if p.severity == "error"]
    if errors:
        raise InvalidDocument(f"the edXML package is not valid: {errors[0]}")
    if not isinstance(package, DocumentPackage):
        raise InvalidDocument("send statuses with POST /v1/documents/{id}/status, not as packages")
    if package.sender.organ_id != ctx.settings.agency_code:
        raise InvalidDocument(
            f"the package is from '{package.sender.organ_id}'; this adapter sends for "
            f"'{ctx.settings.agency_code}'"
        )
    envelope_id = str(uuid.uuid4())
    return package.model_copy(update={"lienthong": LienthongInfo(envelope_id=envelope_id)})


def _status_package(ctx: AdapterContext, document: Document, status: StatusIn) -> StatusPackage:
    return StatusPackage(
        sender=ctx.agency,
        response_for=ResponseFor(organ_id=document.sender_code, document_id=document.document_id),
        staff_info=StaffInfo(staff=status.staff) if status.staff else None,
        status_code=StatusCode(status.code),
        description=status.description,
        timestamp=_now(),
        lienthong=LienthongInfo(envelope_id=str(uuid.uuid4())),
    )


async def report(
    session: AsyncSession, ctx: AdapterContext, document: Document, status: StatusIn
) -> StatusRecord:
    """Send a processing status (02..06) on a received document, if the standard allows it."""
    if document.box != Box.INBOX:
        raise Conflict("statuses 02-06 are reported on received documents only")
    if status.code not in NEXT.get(document.state, set()):
        raise Conflict(f"a document that is '{document.state}' cannot move to status {status.code}")
    return await queue_status(session, ctx, document, status)


def arrived() -> StatusIn:
    """The 01 every received document answers automatically (not one a local system sends)."""
    return StatusIn.model_construct(code="01", description="Đã đến", staff=None)


async def queue_status(
    session: AsyncSession, ctx: AdapterContext, document: Document, status: StatusIn
) -> StatusRecord:
    """Sign and queue a status on `document` to its sender; record it in its timeline."""
    package = _status_package(ctx, document, status)
    assert package.lienthong is not None and package.lienthong.envelope_id is not None
    envelope_id = package.lienthong.envelope_id
    record = StatusRecord(
        document_pk=document.id, envelope_id=envelope_id, agency_code=ctx.settings.agency_code,
        code=status.code, description=status.description, staff=status.staff, at=_now(),
    )  # fmt: skip
    session.add_all([record, Outbox(envelope_id=envelope_id, body=_sign(ctx, package))])
    document.state = STATE_OF.get(status.code, document.state)
    await session.flush()
    return record


async def get(session: AsyncSession, document_id: uuid.UUID) -> Document:
    document = await repository.by_id(session, document_id)
    if document is None:
        raise NotFound(f"no document with id {document_id}")
    return document
