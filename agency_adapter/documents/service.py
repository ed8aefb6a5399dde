"""Sending documents and statuses: build the package, sign it, store it with an outbox row.

From the moment the transaction commits nothing is lost: the relay publishes the outbox,
retrying while the broker or the hub is away.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agency_adapter import events
from agency_adapter.attachments.outgoing import FileToSend, Outgoing, place
from agency_adapter.context import AdapterContext
from agency_adapter.documents import repository
from agency_adapter.documents.payloads import Accepted, AttachmentIn, DocumentIn, StatusIn
from agency_adapter.documents.submission import Submission
from agency_adapter.errors import Conflict, InvalidDocument, NotFound, TooLarge
from agency_adapter.models import Box, Document, ExternalFile, Outbox, StatusRecord
from schemas.errors import EnvelopeError, LienthongError
from schemas.ids import time_ordered_uuid
from schemas.model import (
    VIETNAM_TIME,
    BusinessDocType,
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
from schemas.pending_rows import add_rows
from schemas.reader import read_package
from schemas.signing import sign_tree
from schemas.writer import package_tree

# What a received document may move to, by its current state (QCVN 102 processing flow).
# A new version (update, replacement) is first agreed to (15) or refused (16).
NEXT = {
    "received": {"02", "03"},
    "change-agreed": {"03"},
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
    "15": "change-agreed",
    "16": "change-refused",
}
REVISIONS = (int(BusinessDocType.UPDATE), int(BusinessDocType.REPLACEMENT))


def now() -> datetime:
    return datetime.now(VIETNAM_TIME).replace(microsecond=0)


def _package(ctx: AdapterContext, payload: DocumentIn, envelope_id: str,
             files: Outgoing) -> DocumentPackage:  # fmt: skip
    code = payload.code
    return DocumentPackage(
        sender=ctx.agency,
        recipients=tuple(Organization(organ_id=to) for to in payload.to),
        document_id=new_document_id(ctx, envelope_id),
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
        trace=(TraceHeader(organ_id=ctx.settings.agency_code, timestamp=now()),),
        lienthong=LienthongInfo(envelope_id=envelope_id, external_attachments=files.external),
        attachments=files.inline,
    )


def new_document_id(ctx: AdapterContext, envelope_id: str) -> str:
    """A DocumentId no other document of any agency has: agency, date, envelope id."""
    return f"{ctx.settings.agency_code},{now():%Y/%m/%d},{envelope_id}"


def files_of(given: list[AttachmentIn]) -> list[FileToSend]:
    """Base64 attachments of a JSON body, to be placed inline or outside the package."""
    return [
        FileToSend.in_memory(a.name, a.content_type, base64.b64decode(a.content_base64))
        for a in given
    ]


def _promulgation(payload: DocumentIn) -> PromulgationInfo:
    given = payload.promulgation
    return PromulgationInfo(
        place=given.place if given else None,
        promulgation_date=(given.date if given and given.date else now().date()),
    )


def _document_type(payload: DocumentIn) -> DocumentType | None:
    given = payload.document_type
    return DocumentType(type=given.type, type_name=given.name) if given else None


def sign(ctx: AdapterContext, package: DocumentPackage | StatusPackage) -> bytes:
    try:
        return sign_tree(package_tree(package), ctx.identity)
    except LienthongError as error:
        raise InvalidDocument(f"the document cannot be written as edXML: {error}") from None


async def send(
    session: AsyncSession, ctx: AdapterContext, payload: DocumentIn, local_system: str | None,
    uploads: Sequence[FileToSend] = (),
) -> Accepted:  # fmt: skip
    """Build, sign and store a new document; the edge commits.
    `uploads`: files received apart from the payload (multipart parts)."""
    files = await place(ctx, [*files_of(payload.attachments), *uploads])
    package = _package(ctx, payload, str(time_ordered_uuid()), files)
    return await send_package(session, ctx, ToSend(package, files), local_system)


@dataclass(frozen=True)
class ToSend:
    """A package to sign and send; `files` that travel outside it go into the store when it
    is signed; a new version names the sent document it `revises`."""

    package: DocumentPackage
    files: Outgoing | None = None
    revises: Document | None = None


async def send_package(session: AsyncSession, ctx: AdapterContext, sending: ToSend,
                       local_system: str | None) -> Accepted:  # fmt: skip
    """Sign and store a package. The document (with the rows of its files outside it), its
    outbox row and its event are rows written with the next flush or the commit
    (schemas.pending_rows): nothing reads them back as objects in this transaction."""
    package, files = sending.package, sending.files
    assert package.lienthong is not None and package.lienthong.envelope_id is not None
    envelope_id = package.lienthong.envelope_id
    body = sign(ctx, package)
    if len(body) > ctx.settings.max_document_bytes:
        raise TooLarge(f"the signed package is {len(body):,} bytes, above the limit of "
                       f"{ctx.settings.max_document_bytes:,}")  # fmt: skip
    if files is not None:
        await files.keep(ctx.attachments)
    row = repository.outbox_row(package, envelope_id, body, local_system, sending.revises)
    add_rows(session, Document, [row])
    add_rows(session, ExternalFile, repository.external_file_rows(package, row["id"]))
    add_rows(session, Outbox, [_outbox_row(envelope_id, None)])  # the document holds the body
    await events.append_about(session, "document.sent", row["id"], {"envelope_id": envelope_id})
    return Accepted(id=row["id"], document_id=row["document_id"], state=row["state"])


async def submit(session: AsyncSession, ctx: AdapterContext, submission: Submission,
                 local_system: str | None) -> Accepted:  # fmt: skip
    """A document from JSON/multipart fields, or a ready package the adapter signs."""
    if submission.document is not None:
        return await send(session, ctx, submission.document, local_system, submission.files)
    assert submission.package is not None
    ready = ToSend(_ready_package(ctx, submission.package))
    return await send_package(session, ctx, ready, local_system)


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
    envelope_id = str(time_ordered_uuid())
    return package.model_copy(update={"lienthong": LienthongInfo(envelope_id=envelope_id)})


def _status_package(
    ctx: AdapterContext, about: ResponseFor, status: StatusIn, answers: str | None
) -> StatusPackage:
    return StatusPackage(
        sender=ctx.agency,
        response_for=about,
        staff_info=StaffInfo(staff=status.staff) if status.staff else None,
        status_code=StatusCode(status.code),
        description=status.description,
        timestamp=now(),
        lienthong=LienthongInfo(envelope_id=str(time_ordered_uuid()), answers=answers),
    )


def allowed_statuses(document: Document) -> set[str]:
    """The codes a local system may report next on a received document."""
    allowed = set(NEXT.get(document.state, set()))
    if document.state == "received" and document.business_type in REVISIONS:
        allowed |= {"15", "16"}  # agree to the new version, or refuse it
    return allowed


async def report(
    session: AsyncSession, ctx: AdapterContext, document: Document, status: StatusIn
) -> StatusRecord:
    """Send a processing status on a received document, if the standard allows it."""
    if document.box != Box.INBOX:
        raise Conflict("statuses are reported on received documents only")
    if status.code not in allowed_statuses(document):
        allowed = ", ".join(sorted(allowed_statuses(document))) or "none"
        raise Conflict(
            f"a document that is '{document.state}' cannot move to status {status.code} "
            f"(allowed now: {allowed})"
        )
    document.state = STATE_OF[status.code]
    return await queue_status(session, ctx, document, status)


def arrived() -> StatusIn:
    """The 01 every received document answers automatically (not one a local system sends)."""
    return automatic("01", "Đã đến")


def automatic(code: str, description: str) -> StatusIn:
    """A status the adapter sends by itself (01 on arrival, 15 on a recall it may grant)."""
    return StatusIn.model_construct(code=code, description=description, staff=None)


async def send_status(
    session: AsyncSession, ctx: AdapterContext, about: ResponseFor, status: StatusIn,
    answers: str | None = None,
) -> str:  # fmt: skip
    """Sign a status about a document and queue it to the hub (its outbox row written with
    the caller's next flush or its commit, see schemas.pending_rows); returns its
    envelope id.
    `answers`: for a 15/16, the envelope id of the recall or deletion it answers."""
    package = _status_package(ctx, about, status, answers)
    assert package.lienthong is not None and package.lienthong.envelope_id is not None
    envelope_id = package.lienthong.envelope_id
    add_rows(session, Outbox, [_outbox_row(envelope_id, sign(ctx, package))])
    return envelope_id


def _outbox_row(envelope_id: str, body: bytes | None) -> dict[str, object]:
    """A signed package for the relay to publish (published with the commit of its row);
    `body` None: the package is the body of the document sent (see models.Outbox)."""
    return {"envelope_id": envelope_id, "body": body}


def response_for(document: Document) -> ResponseFor:
    return ResponseFor(organ_id=document.sender_code, document_id=document.document_id)


def response_to(package: DocumentPackage) -> ResponseFor:
    """What a status on a received package, not stored as a document, is about."""
    return ResponseFor(organ_id=package.sender.organ_id, document_id=package.document_id)


async def queue_status(
    session: AsyncSession, ctx: AdapterContext, document: Document, status: StatusIn,
    answers: str | None = None,
) -> StatusRecord:  # fmt: skip
    """Sign and queue a status on `document` to its sender; record it in its timeline
    (added to the session, written with the caller's next flush or its commit)."""
    envelope_id = await send_status(session, ctx, response_for(document), status, answers)
    record = StatusRecord(**status_row(document.id, envelope_id, ctx.settings.agency_code, status))
    session.add(record)
    return record


async def queue_arrival(session: AsyncSession, ctx: AdapterContext, document_pk: uuid.UUID,
                        about: ResponseFor) -> None:  # fmt: skip
    """`queue_status` with the 01 on a received document written as rows (the status's own
    row too: nothing reads it back in this transaction)."""
    status = arrived()
    envelope_id = await send_status(session, ctx, about, status)
    row = status_row(document_pk, envelope_id, ctx.settings.agency_code, status)
    add_rows(session, StatusRecord, [row])


def status_row(document_pk: uuid.UUID, envelope_id: str, agency_code: str,
               status: StatusIn) -> dict[str, object]:  # fmt: skip
    """The columns of a status on a document, from `agency_code`: one this agency sends on a
    received document, or one a recipient sent on a sent one. The one builder of these rows:
    rows of a table written together must name the same columns."""
    return {"document_pk": document_pk, "envelope_id": envelope_id, "agency_code": agency_code,
            "code": status.code, "description": status.description, "staff": status.staff,
            "at": now()}  # fmt: skip


async def get(session: AsyncSession, document_id: uuid.UUID) -> Document:
    document = await repository.by_id(session, document_id)
    if document is None:
        raise NotFound(f"no document with id {document_id}")
    return document
