"""Typed models of the two edXML packages: the document package and the status package.

Field names follow QCVN 102:2016 in snake case. Dates are local calendar dates and timestamps
are aware datetimes in Vietnam time (UTC+7, no daylight saving). Models are immutable: a new
version of a document is a new package.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta, timezone
from enum import IntEnum, StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
ZIP_MAGIC = b"PK\x03\x04"


class Frozen(BaseModel):
    """Base of every envelope model: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Priority(IntEnum):
    """OtherInfo/Priority: how urgent the document is."""

    ROUTINE = 0
    URGENT = 1
    EXPRESS = 2
    FLASH = 3
    FLASH_TIMED = 4


class BusinessDocType(IntEnum):
    """Bussiness/BussinessDocType: what the package does to a document."""

    NEW = 0
    REVOCATION = 1
    UPDATE = 2
    REPLACEMENT = 3


LIFECYCLE_ACTIONS = {
    BusinessDocType.NEW: "new",
    BusinessDocType.REVOCATION: "recall",
    BusinessDocType.UPDATE: "update",
    BusinessDocType.REPLACEMENT: "replace",
}


class ReceiverType(IntEnum):
    """Receiver/ReceiverType in an update: whether the agency is removed or added."""

    REMOVED = 0
    ADDED = 1


class StatusCode(StrEnum):
    """Processing status codes a status package may carry."""

    ARRIVED = "01"
    REFUSED = "02"
    ACCEPTED = "03"
    ASSIGNED = "04"
    IN_PROGRESS = "05"
    FINISHED = "06"
    TAKE_BACK_REQUESTED = "13"
    CHANGE_AGREED = "15"
    CHANGE_REFUSED = "16"

    @property
    def sent_by_sender(self) -> bool:
        """Only the original sender may send 13; every other code comes from a recipient."""
        return self is StatusCode.TAKE_BACK_REQUESTED


class Organization(Frozen):
    """From / To: an agency with its contact details."""

    organ_id: str
    organ_name: str | None = None
    organization_in_charge: str | None = None
    organ_add: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    website: str | None = None


class Code(Frozen):
    """The document's number and notation (số, ký hiệu)."""

    code_number: str | None = None
    code_notation: str | None = None


class PromulgationInfo(Frozen):
    place: str | None = None
    promulgation_date: date | None = None


class DocumentType(Frozen):
    type: int | None = None
    type_detail: int | None = None
    type_name: str | None = None


class SignerInfo(Frozen):
    competence: str | None = None
    position: str | None = None
    full_name: str | None = None


class OtherInfo(Frozen):
    priority: Priority | None = None
    sphere_of_promulgation: str | None = None
    typer_notation: str | None = None
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: bool | None = None
    appendixes: tuple[str, ...] = ()


class ResponseFor(Frozen):
    """A reference to an earlier document: the one answered, or the one a status is about."""

    organ_id: str | None = None
    code: str | None = None
    promulgation_date: date | None = None
    document_id: str | None = None


class TraceHeader(Frozen):
    """One hop the package passed through."""

    organ_id: str | None = None
    timestamp: AwareDatetime | None = None


class StaffInfo(Frozen):
    department: str | None = None
    staff: str | None = None
    mobile: str | None = None
    email: str | None = None


class Receiver(Frozen):
    organ_id: str
    receiver_type: ReceiverType


class BusinessDocumentInfo(Frozen):
    """What an update (type 2) changes: the document's information and/or its receivers."""

    document_info: str | None = None
    document_receiver: str | None = None
    receivers: tuple[Receiver, ...] = ()


class ReplacementInfo(Frozen):
    """A document a replacement (type 3) supersedes, for which agencies."""

    document_id: str
    organ_ids: tuple[str, ...] = ()


class Business(Frozen):
    """TraceHeaderList/Bussiness: new, revocation, update or replacement."""

    doc_type: BusinessDocType = BusinessDocType.NEW
    reason: str | None = None
    document_id: str | None = None
    paper: int | None = None
    document_info: BusinessDocumentInfo | None = None
    replacements: tuple[ReplacementInfo, ...] = ()
    staff_info: StaffInfo | None = None


class Attachment(Frozen):
    """A file: its manifest entry and its content, matched by ContentId (without 'cid:')."""

    content_id: str
    name: str
    content_type: str | None = None
    # The file's own type when the manifest declares one other than the transfer type
    # (the SDK zips files in transit: manifest 'application/pdf', attachment 'application/zip').
    manifest_content_type: str | None = None
    description: str | None = None
    content: bytes = Field(default=b"", repr=False)

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def zipped(self) -> bool:
        """True when the content is a ZIP container (the national SDK zips files in transit)."""
        return self.content.startswith(ZIP_MAGIC)

    def zip_member_names(self) -> tuple[str, ...]:
        """Names inside a zipped attachment; empty when it is not a readable ZIP."""
        if not self.zipped:
            return ()
        try:
            with zipfile.ZipFile(io.BytesIO(self.content)) as archive:
                return tuple(archive.namelist())
        except zipfile.BadZipFile:
            return ()


SHA256_HEX = r"^[0-9a-f]{64}$"


class ExternalAttachment(Frozen):
    """A large attachment that travels outside the package, through the hub's attachment store.

    The package carries what identifies the bytes (size and SHA-256), so the signature over
    the package covers the file as surely as if it were inline."""

    name: str = Field(min_length=1)
    content_type: str | None = None
    size: int = Field(ge=0)
    sha256: str = Field(pattern=SHA256_HEX)  # lowercase hex
    description: str | None = None


class LienthongInfo(Frozen):
    """lienthong-only information, in its own namespace that standard peers ignore."""

    envelope_id: str | None = None
    delete_on_mistake: bool = False
    answers: str | None = None  # on a 15/16: the EnvelopeId of the recall or deletion answered
    external_attachments: tuple[ExternalAttachment, ...] = ()


class DocumentPackage(Frozen):
    """An official document (or a revocation, update or replacement of one) with its files."""

    kind: Literal["document"] = "document"
    sender: Organization
    recipients: tuple[Organization, ...]
    document_id: str | None = None
    code: Code | None = None
    promulgation: PromulgationInfo | None = None
    document_type: DocumentType | None = None
    subject: str | None = None
    content: str | None = None
    signer: SignerInfo | None = None
    due_date: date | None = None
    to_places: tuple[str, ...] = ()
    other_info: OtherInfo | None = None
    response_for: tuple[ResponseFor, ...] = ()
    steering_type: int | None = None
    trace: tuple[TraceHeader, ...] = ()
    business: Business | None = None
    lienthong: LienthongInfo | None = None
    attachments: tuple[Attachment, ...] = ()

    @property
    def business_type(self) -> BusinessDocType:
        return self.business.doc_type if self.business else BusinessDocType.NEW

    @property
    def target_document_id(self) -> str | None:
        """The DocumentId a revocation, update or replacement acts on; None for a new one.

        A replacement names it in ReplacementInfo; the others in Bussiness/DocumentId (a
        revocation without one is about its own header's DocumentId)."""
        business = self.business
        if business is None or business.doc_type is BusinessDocType.NEW:
            return None
        if business.doc_type is BusinessDocType.REPLACEMENT and business.replacements:
            return business.replacements[0].document_id
        if business.document_id:
            return business.document_id
        return self.document_id if business.doc_type is BusinessDocType.REVOCATION else None

    @property
    def deletes_on_mistake(self) -> bool:
        """A revocation the recipients must obey: content purged, only a tombstone kept."""
        return (
            self.business_type is BusinessDocType.REVOCATION
            and self.lienthong is not None
            and self.lienthong.delete_on_mistake
        )

    @property
    def lifecycle_action(self) -> str:
        """What this package does, in one word: new, recall, delete, update or replace."""
        if self.deletes_on_mistake:
            return "delete"
        return LIFECYCLE_ACTIONS[self.business_type]


class StatusPackage(Frozen):
    """A processing status (01..16) reported on a document, back to its sender."""

    kind: Literal["status"] = "status"
    sender: Organization
    response_for: ResponseFor
    staff_info: StaffInfo | None = None
    status_code: StatusCode
    description: str | None = None
    timestamp: AwareDatetime | None = None
    trace: tuple[TraceHeader, ...] = ()
    lienthong: LienthongInfo | None = None


Package = DocumentPackage | StatusPackage
