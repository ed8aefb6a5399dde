"""What the directory takes in and gives out (API bodies, import rows, CLI output)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.models import Agency, AgencyCertificate, AgencyLevel, AgencyState
from schemas.agency_codes import parse_agency_code
from schemas.errors import AgencyCodeError


class AgencyIn(BaseModel):
    """One agency to register: the directory stores its parent, never derives it from the code."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=500)
    level: AgencyLevel
    parent_code: str | None = None

    @field_validator("code", "parent_code")
    @classmethod
    def _usable_code(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return parse_agency_code(value).value
        except AgencyCodeError as error:
            raise ValueError(error.message) from None


class CertificateOut(BaseModel):
    fingerprint: str
    subject: str
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None
    days_to_expiry: int

    @classmethod
    def of(cls, cert: AgencyCertificate) -> CertificateOut:
        days = (cert.not_after - datetime.now(UTC)).days
        return cls(
            fingerprint=cert.fingerprint, subject=cert.subject, not_before=cert.not_before,
            not_after=cert.not_after, revoked_at=cert.revoked_at, days_to_expiry=days,
        )  # fmt: skip


class AgencyOut(BaseModel):
    code: str
    name: str
    level: str
    parent_code: str | None
    state: AgencyState
    broker_user: str
    mailbox: str
    certificates: list[CertificateOut]

    @classmethod
    def of(cls, agency: Agency, mailbox: str) -> AgencyOut:
        return cls(
            code=agency.code, name=agency.name, level=agency.level,
            parent_code=agency.parent_code, state=AgencyState(agency.state),
            broker_user=agency.broker_user, mailbox=mailbox,
            certificates=[CertificateOut.of(c) for c in agency.certificates],
        )  # fmt: skip


class Registered(BaseModel):
    """A newly registered agency and its broker password (shown once, never stored)."""

    agency: AgencyOut
    broker_password: str | None


class ImportSummary(BaseModel):
    created: list[Registered]
    updated: list[str]
    unchanged: list[str]
    groups: list[str]
