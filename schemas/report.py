"""Everything lienthong can say about one package: what it is, its signature, its problems.

``lienthong validate`` prints these reports; services can return them to integrators.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from pydantic import BaseModel

from schemas.agency_codes import parse_agency_code
from schemas.errors import AgencyCodeError, EnvelopeError, LienthongError, Location
from schemas.keys import CertificateInfo
from schemas.model import Attachment, DocumentPackage, Organization, Package
from schemas.reader import ReadResult, read_package
from schemas.reader_nodes import Problem
from schemas.safe_xml import ParseLimits
from schemas.signing import SignatureState, Verification, read_verified, verify_package


@dataclass(frozen=True)
class InspectOptions:
    """How strictly to judge a package."""

    limits: ParseLimits = field(default_factory=ParseLimits)
    trust: Sequence[x509.Certificate] = ()
    allow_legacy_sha1: bool = False
    require_signature: bool = False
    at: datetime | None = None


class Finding(BaseModel):
    severity: str
    message: str
    line: int | None = None
    column: int | None = None
    path: str | None = None


class Agency(BaseModel):
    code: str
    name: str | None = None


class AttachmentSummary(BaseModel):
    name: str
    size: int
    content_type: str | None
    zipped: bool
    zip_members: list[str]


class SignatureSummary(BaseModel):
    state: str
    accepted: bool
    reason: str | None = None
    algorithm: str | None = None
    trusted: bool | None = None
    certificate: CertificateInfo | None = None


class PackageReport(BaseModel):
    """The report on one package; ``acceptable`` is the verdict."""

    acceptable: bool
    kind: str | None = None
    business_type: int | None = None
    status_code: str | None = None
    document_id: str | None = None
    subject: str | None = None
    sender: Agency | None = None
    recipients: list[Agency] = []
    attachments: list[AttachmentSummary] = []
    signature: SignatureSummary | None = None
    problems: list[Finding] = []


def _finding(severity: str, message: str, where: Location | None) -> Finding:
    where = where or Location()
    return Finding(
        severity=severity, message=message, line=where.line, column=where.column, path=where.path
    )


def _agency(org: Organization) -> Agency:
    return Agency(code=org.organ_id, name=org.organ_name or org.organization_in_charge)


def _verify(data: bytes, options: InspectOptions) -> Verification | str:
    try:
        return verify_package(
            data, trust=options.trust, allow_legacy_sha1=options.allow_legacy_sha1,
            at=options.at, limits=options.limits,
        )  # fmt: skip
    except LienthongError as error:
        return error.message


def _summary(verification: Verification | str) -> SignatureSummary:
    if isinstance(verification, str):
        return SignatureSummary(state="invalid", accepted=False, reason=verification)
    return SignatureSummary(
        state=verification.state.value, accepted=verification.accepted,
        reason=verification.reason, algorithm=verification.algorithm,
        trusted=verification.trusted, certificate=verification.certificate,
    )  # fmt: skip


def _verified_package(verification: Verification | str) -> Package | None:
    """The package as read from the verified tree: the only content a signature vouches for."""
    if isinstance(verification, str) or verification.verified_xml is None:
        return None
    return read_verified(verification).package


def _unsigned_content(shown: Package, verified: Package | None) -> list[Finding]:
    if verified is None or verified == shown:
        return []
    message = "the package shows content its signature does not cover (comments or markup tricks)"
    return [_finding("error", message, None)]


def _signature_findings(result: Verification, options: InspectOptions) -> list[Finding]:
    if result.state is SignatureState.ABSENT:
        required = options.require_signature
        return [_finding("error", "the package is not signed", None)] if required else []
    if not result.accepted:
        return [_finding("error", f"signature not accepted: {result.reason}", None)]
    if result.state is SignatureState.LEGACY_SHA1:
        return [_finding("warning", "legacy RSA-SHA1 signature, accepted as configured", None)]
    return []


def _is_agency_code(value: str) -> bool:
    try:
        parse_agency_code(value)
    except AgencyCodeError:
        return False
    return True


def _binding(signature: SignatureSummary, package: Package) -> list[Finding]:
    """A certificate naming an agency must name the sender: nobody signs for another agency."""
    certificate = signature.certificate
    claimed = certificate.agency_code if certificate else None
    # Personal certificates carry an identity number there ('CMND:...'), not an agency code.
    if claimed is None or claimed == package.sender.organ_id or not _is_agency_code(claimed):
        return []
    message = (
        f"the signing certificate is issued to agency '{claimed}', "
        f"but the package is from '{package.sender.organ_id}'"
    )
    return [_finding("error", message, None)]


def _attachment(file: Attachment) -> AttachmentSummary:
    return AttachmentSummary(
        name=file.name,
        size=file.size,
        content_type=file.content_type,
        zipped=file.zipped,
        zip_members=list(file.zip_member_names()),
    )


def _describe(package: Package) -> dict[str, Any]:
    described: dict[str, Any] = {"kind": package.kind, "sender": _agency(package.sender)}
    if isinstance(package, DocumentPackage):
        described |= {
            "business_type": int(package.business_type),
            "document_id": package.document_id,
            "subject": package.subject,
            "recipients": [_agency(org) for org in package.recipients],
            "attachments": [_attachment(a) for a in package.attachments],
        }
    else:
        described |= {
            "status_code": package.status_code.value,
            "document_id": package.response_for.document_id,
        }
    return described


def _problems(result: ReadResult) -> list[Finding]:
    return [_finding(p.severity, p.message, p.where) for p in result.problems]


def inspect_package(data: bytes, options: InspectOptions | None = None) -> PackageReport:
    """Read, check and verify one package; never raises for a bad package, reports it."""
    options = options or InspectOptions()
    try:
        result = read_package(data, options.limits)
    except EnvelopeError as error:
        return PackageReport(
            acceptable=False, problems=[_finding("error", error.message, error.where)]
        )
    verification = _verify(data, options)
    signature = _summary(verification)
    verified = _verified_package(verification)
    package = verified or result.package
    problems = [
        *_problems(result),
        *(_signature_findings(verification, options) if not isinstance(verification, str) else []),
        *_unsigned_content(result.package, verified),
        *_binding(signature, package),
    ]
    acceptable = not any(p.severity == "error" for p in problems)
    return PackageReport(
        acceptable=acceptable, signature=signature, problems=problems, **_describe(package)
    )


__all__ = ["InspectOptions", "PackageReport", "Problem", "inspect_package"]
