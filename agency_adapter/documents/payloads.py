"""What local systems send to and read from the adapter's REST API."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from agency_adapter.models import Box
from schemas.agency_codes import parse_agency_code
from schemas.errors import AgencyCodeError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _agency_codes(values: list[str]) -> list[str]:
    """Agency codes as the directory writes them; a malformed one names itself."""
    try:
        return [parse_agency_code(value).value for value in values]
    except AgencyCodeError as error:
        raise ValueError(error.message) from None


AgencyCodes = Annotated[list[str], AfterValidator(_agency_codes)]


class CodeIn(Strict):
    number: str | None = None
    notation: str | None = None


class DocumentTypeIn(Strict):
    type: int | None = None
    name: str | None = None


class PromulgationIn(Strict):
    place: str | None = None
    date: dt.date | None = None  # the JSON field is called "date"


class SignerIn(Strict):
    competence: str | None = None
    position: str | None = None
    full_name: str | None = None


class AttachmentIn(Strict):
    name: str = Field(min_length=1, max_length=255)
    content_type: str = "application/octet-stream"
    content_base64: str

    @field_validator("content_base64")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("is not base64") from None
        return value

    @property
    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


class DocumentIn(Strict):
    """A new document from the local system; the adapter builds, signs and sends the package."""

    to: AgencyCodes = Field(min_length=1)
    subject: str = Field(min_length=1)
    content: str | None = None
    code: CodeIn | None = None
    document_type: DocumentTypeIn | None = None
    promulgation: PromulgationIn | None = None
    signer: SignerIn | None = None
    due_date: date | None = None
    priority: int = Field(default=0, ge=0, le=4)
    steering_type: int | None = None
    sphere: str | None = None
    attachments: list[AttachmentIn] = []


class StatusIn(Strict):
    """02-06 on a received document; 15 or 16 on a new version (update or replacement)."""

    code: str = Field(pattern=r"^(02|03|04|05|06|15|16)$")
    description: str | None = None
    staff: str | None = None


class Accepted(BaseModel):
    id: uuid.UUID
    document_id: str | None
    state: str


class StatusOut(BaseModel):
    agency_code: str
    code: str
    description: str | None
    at: datetime


class AttachmentOut(BaseModel):
    index: int
    name: str
    content_type: str | None
    size: int


class RecallOut(BaseModel):
    """A recall or deletion and its outcome: 15 agreed or done, 16 refused, None waiting."""

    kind: str
    reason: str
    requested_at: datetime
    outcome: str | None
    outcome_note: str | None
    decided_at: datetime | None


class RecipientOut(BaseModel):
    """Where a sent document is at one recipient: its state, statuses and last recall.

    state: sent, arrived, refused, accepted, assigned, in-progress, finished, change-agreed,
    change-refused; or recall-requested, recalled, delete-requested, deleted."""

    agency_code: str
    state: str
    statuses: list[StatusOut]
    recall: RecallOut | None = None


class DocumentOut(BaseModel):
    id: uuid.UUID
    box: str
    envelope_id: str
    document_id: str | None
    sender_code: str
    sender_name: str | None
    recipients: list[str]
    subject: str | None
    content: str | None
    code_number: str | None
    code_notation: str | None
    due_date: date | None
    priority: int | None
    state: str
    created_at: datetime
    kind: str = "new"  # new, update or replace
    supersedes: uuid.UUID | None = None  # the earlier version, if it is here
    superseded_by: uuid.UUID | None = None
    recall: RecallOut | None = None  # received documents: the last recall or deletion asked
    deleted_at: datetime | None = None  # a tombstone: content and files purged
    removal_reason: str | None = None
    attachments: list[AttachmentOut] = []
    statuses: list[StatusOut] = []
    recipient_timelines: list[RecipientOut] = []


class EventOut(BaseModel):
    seq: int
    type: str
    document: uuid.UUID | None
    payload: dict[str, object]
    created_at: datetime


class ListQuery(Strict):
    """GET /v1/documents: which box, what to match, the order and the page."""

    box: Box = Box.INBOX
    q: str | None = None
    status: str | None = None
    sender: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sort: Literal["deadline", "newest", "oldest"] | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None
