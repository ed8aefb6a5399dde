"""Judging one intake message, in the order the hub promises: safe parse, validate, verify the
signature, bind certificate and broker account to the sender, resolve recipients.

Every failure is a ``Refusal`` whose message the sender will read in a status 02.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncSession

from hub.broker import Incoming
from hub.directory.snapshot import AgencyView, Directory
from hub.errors import Refusal
from hub.intake import repository
from hub.intake.repository import KnownDocument
from hub.models import AgencyState
from schemas.errors import EnvelopeError
from schemas.model import BusinessDocType, DocumentPackage, Package, StatusPackage
from schemas.reader import read_package
from schemas.safe_xml import ParseLimits
from schemas.signing import SignatureState, Verification, read_verified, verify_package


@dataclass(frozen=True)
class Policy:
    """What the hub trusts: the CA bundle, and whether legacy SHA-1 signatures pass."""

    trust: Sequence[x509.Certificate]
    limits: ParseLimits
    allow_legacy_sha1: bool = False


@dataclass(frozen=True)
class Verdict:
    """An envelope that passed every check, with whom it goes to."""

    package: Package
    sender: AgencyView
    recipients: list[str]
    envelope_id: str
    # For a status, or a recall, deletion, update or replacement: the document it is about.
    document: KnownDocument | None = None


def _first_error(data: bytes, limits: ParseLimits) -> None:
    """Parse and validate before any cryptography: the most specific reason wins."""
    try:
        result = read_package(data, limits)
    except EnvelopeError as error:
        raise Refusal(f"the package cannot be read: {error}") from None
    errors = [p for p in result.problems if p.severity == "error"]
    if errors:
        raise Refusal(f"the package is not valid: {errors[0]}")


def _verification(data: bytes, policy: Policy) -> Verification:
    return verify_package(
        data, trust=policy.trust, allow_legacy_sha1=policy.allow_legacy_sha1, limits=policy.limits
    )


def _verified(verification: Verification, policy: Policy) -> tuple[Package, Verification]:
    if verification.state is SignatureState.ABSENT:
        raise Refusal("the package is not signed; the hub routes signed packages only")
    if not verification.accepted or verification.verified_xml is None:
        raise Refusal(f"the signature is not accepted: {verification.reason}")
    # Only what the signature covers is used from here on.
    return read_verified(verification, policy.limits).package, verification


def _clean(verification: Verification, limits: ParseLimits) -> Package | None:
    """The package an accepted signature covers, if it reads without an error; else None."""
    if not verification.accepted or verification.verified_xml is None:
        return None
    try:
        result = read_verified(verification, limits)
    except EnvelopeError:
        return None
    return result.package if result.acceptable else None


def _judged(data: bytes, policy: Policy) -> tuple[Package, Verification]:
    """The signed package, parsing the raw bytes once when all is well: the verified tree
    (the package without its signature) is what gets validated then. Anything else goes the
    long way, validating the raw bytes before the signature, so that a refusal still gives
    the most specific reason first, worded as before."""
    try:
        verification: Verification | None = _verification(data, policy)
    except EnvelopeError:
        verification = None  # unreadable: _first_error says why
    package = _clean(verification, policy.limits) if verification else None
    if verification is not None and package is not None:
        return package, verification
    _first_error(data, policy.limits)
    return _verified(verification or _verification(data, policy), policy)


def publisher(directory: Directory, incoming: Incoming) -> AgencyView | None:
    """The agency whose broker account published (RabbitMQ validated the user_id)."""
    if not incoming.user_id:
        return None
    return directory.by_broker_user(incoming.user_id)


def _bind_sender(package: Package, agency: AgencyView) -> None:
    if package.sender.organ_id != agency.code:
        raise Refusal(
            f"the package says it is from '{package.sender.organ_id}', but it was published "
            f"with the broker account of '{agency.code}'"
        )
    if agency.state != AgencyState.ACTIVE:
        raise Refusal(f"the sending agency '{agency.code}' is suspended")


def _bind_certificate(verification: Verification, agency: AgencyView) -> None:
    info = verification.certificate
    fingerprint = info.sha256_fingerprint if info else None
    registered = next((c for c in agency.certificates if c.fingerprint == fingerprint), None)
    if info is None or registered is None:
        subject = info.subject if info else "none"
        raise Refusal(f"the signing certificate ({subject}) is not registered to '{agency.code}'")
    if registered.revoked_at is not None:
        raise Refusal(
            f"the signing certificate of '{agency.code}' was revoked on "
            f"{registered.revoked_at:%Y-%m-%d}"
        )
    if not registered.not_before <= datetime.now(UTC) <= registered.not_after:
        raise Refusal(f"the signing certificate of '{agency.code}' is not valid today")


def _document_recipients(directory: Directory, package: DocumentPackage) -> list[str]:
    resolution = directory.resolve([org.organ_id for org in package.recipients])
    if resolution.unknown:
        raise Refusal(f"unknown recipient(s): {', '.join(resolution.unknown)}")
    if resolution.suspended:
        raise Refusal(f"suspended recipient(s): {', '.join(resolution.suspended)}")
    if not resolution.agencies:
        raise Refusal("the package names no recipient that can receive it")
    return [agency.code for agency in resolution.agencies]


def _concerned(found: list[KnownDocument], package: StatusPackage, sender: str) -> KnownDocument:
    """Of the documents with this DocumentId, the newest one the reporting agency took part
    in (as sender for 13, as recipient otherwise); the newest of all when it took part in none,
    so that the refusal can name it."""

    def involved(document: KnownDocument) -> bool:
        if package.status_code.sent_by_sender:
            return document.sender_code == sender
        return sender in document.recipients

    return next((d for d in reversed(found) if involved(d)), found[-1])


async def _status_route(
    session: AsyncSession, package: StatusPackage, sender: str
) -> tuple[KnownDocument, list[str]]:
    """The document a status is about, and who hears of it: 13 goes down, the rest go back up."""
    about = package.response_for
    found = await repository.known_documents(session, about.document_id or "", about.organ_id)
    if not found:
        raise Refusal(
            f"status {package.status_code} is about an unknown document '{about.document_id}'"
        )
    document = _concerned(found, package, sender)
    recipients = list(document.recipients)
    if package.status_code.sent_by_sender:
        if sender != document.sender_code:
            raise Refusal(
                f"only the sender '{document.sender_code}' may ask to take a document back (13)"
            )
        return document, recipients
    if sender not in recipients:
        raise Refusal(
            f"'{sender}' did not receive document '{about.document_id}', so it cannot report on it"
        )
    return document, [document.sender_code]


async def _target(session: AsyncSession, package: DocumentPackage, sender: str) -> KnownDocument:
    """The earlier document a recall, deletion, update or replacement acts on: it must exist
    and be this sender's own."""
    action, target_id = package.lifecycle_action, package.target_document_id
    if not target_id:
        raise Refusal(f"a {action} package must name its document in Bussiness/DocumentId")
    found = await repository.known_documents(session, target_id, None)
    if not found:
        raise Refusal(f"{action} of an unknown document '{target_id}'")
    own = [document for document in found if document.sender_code == sender]
    if not own:  # said without naming whose it is
        raise Refusal(f"'{sender}' did not send document '{target_id}', so it cannot {action} it")
    return own[-1]


def _only_its_recipients(recipients: list[str], document: KnownDocument) -> None:
    """A recall or deletion reaches only agencies that were sent the document."""
    received = set(document.recipients)
    strangers = [code for code in recipients if code not in received]
    if strangers:
        raise Refusal(
            f"{', '.join(strangers)} did not receive document '{document.document_id}', "
            "so it cannot be recalled or deleted there"
        )


async def _document_route(
    session: AsyncSession, directory: Directory, package: DocumentPackage, sender: str
) -> tuple[KnownDocument | None, list[str]]:
    recipients = _document_recipients(directory, package)
    if package.business_type is BusinessDocType.NEW:
        return None, recipients
    target = await _target(session, package, sender)
    if package.business_type is BusinessDocType.REVOCATION:
        _only_its_recipients(recipients, target)
    return target, recipients


def envelope_id_of(package: Package, incoming: Incoming, digest: str) -> str:
    """The signed lienthong EnvelopeId, else the AMQP message id, else the content digest."""
    if package.lienthong and package.lienthong.envelope_id:
        return package.lienthong.envelope_id
    return incoming.message_id or digest


@dataclass(frozen=True)
class Judging:
    """What a message is judged against: the policy and the directory as of this message."""

    policy: Policy
    directory: Directory


async def assess(
    session: AsyncSession, incoming: Incoming, agency: AgencyView, judging: Judging, digest: str
) -> Verdict:
    """Run every check on one message published by `agency`; raise Refusal on the first failure."""
    package, verification = _judged(incoming.body, judging.policy)
    _bind_sender(package, agency)
    _bind_certificate(verification, agency)
    envelope_id = envelope_id_of(package, incoming, digest)
    if isinstance(package, StatusPackage):
        document, recipients = await _status_route(session, package, agency.code)
        return Verdict(package, agency, recipients, envelope_id, document)
    target, recipients = await _document_route(session, judging.directory, package, agency.code)
    return Verdict(package, agency, recipients, envelope_id, target)
