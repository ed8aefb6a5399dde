"""Admitting one intake message: record it once with its deliveries, or quarantine it and
answer the sender with a status 02 signed by the hub.

``admit`` runs inside the consumer's transaction and returns what must still be published;
publishing and acking happen only after the commit.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hub import audit
from hub.attachments import carriage
from hub.attachments.store import AttachmentStore
from hub.broker import Incoming
from hub.directory.snapshot import AgencyView, DirectoryCache
from hub.errors import Refusal
from hub.intake import repository
from hub.intake.assessment import Judging, Policy, Verdict, assess, publisher
from hub.models import Delivery, DeliveryState, Envelope, Quarantine, TimelineEvent
from schemas.ids import time_ordered_uuid
from schemas.keys import SigningIdentity
from schemas.model import (
    VIETNAM_TIME,
    BusinessDocType,
    DocumentPackage,
    LienthongInfo,
    Organization,
    Package,
    ResponseFor,
    StatusCode,
    StatusPackage,
)
from schemas.pending_rows import Row, add_rows
from schemas.signing import sign_tree
from schemas.writer import package_tree

MAX_ID = 128
MAX_REASON = 1000


@dataclass(frozen=True)
class IntakeContext:
    policy: Policy
    hub_identity: SigningIdentity
    hub_code: str
    hub_name: str
    store: AttachmentStore
    directory: DirectoryCache = field(default_factory=DirectoryCache)


@dataclass(frozen=True)
class Admitted:
    """What is left to do once an admitted message is committed."""

    envelopes: list[uuid.UUID]  # with deliveries still to publish (claimed later with `claim`)
    # Files of a document deleted on mistake: purged from the store unless still needed.
    purge: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outgoing:
    """One delivery to publish to a mailbox."""

    delivery_id: int
    recipient: str
    envelope_id: str
    body: bytes


def _delivery_rows(envelope_pk: uuid.UUID, recipients: list[str]) -> list[Row]:
    # Pending from the start, not from the flush: `_outgoing` reads it before any flush.
    return [{"envelope_pk": envelope_pk, "recipient_code": code, "state": DeliveryState.PENDING}
            for code in recipients]  # fmt: skip


def _outgoing(envelope: Envelope) -> list[uuid.UUID]:
    """The envelope, if any of its deliveries are still to be published."""
    pending = any(d.state == DeliveryState.PENDING for d in envelope.deliveries)
    return [envelope.id] if pending else []


async def claim(
    session: AsyncSession, *, envelopes: list[uuid.UUID] | None = None,
    deliveries: list[int] | None = None, wait: bool = True,
) -> list[Outgoing]:  # fmt: skip
    """Pending deliveries of these envelopes (or these deliveries), locked until the caller's
    transaction ends, so that each goes out once."""
    rows = await repository.lock_pending(
        session, envelopes=envelopes, deliveries=deliveries, wait=wait
    )
    return [Outgoing(*row) for row in rows]


async def admit(
    session: AsyncSession, ctx: IntakeContext, incoming: Incoming, *, careful: bool = False
) -> Admitted:
    """Decide on one message; a repeat of the same bytes only finishes what is left to do.

    A message seen for the first time is judged at once, and recording it relies on the
    envelope's unique digest and id to catch a repeat: the consumer then admits it again with
    `careful`, which looks for an earlier outcome first, as a redelivered message always does.
    """
    incoming = replace(incoming, message_id=usable_id(incoming.message_id))
    careful = careful or incoming.redelivered or bool(incoming.delivery_count)
    digest = hashlib.sha256(incoming.body).hexdigest()
    judging = Judging(ctx.policy, await ctx.directory.current(session))
    agency = publisher(judging.directory, incoming)
    if agency is None:
        _quarantine(session, incoming, None, digest, _unknown_publisher(incoming))
        return Admitted([])
    if careful and (earlier := await _own_repeat(session, ctx, incoming, agency, digest)):
        return Admitted(_outgoing(earlier))
    try:
        verdict = await assess(session, incoming, agency, judging, digest)
        if careful and (same := await _recorded_meanwhile(session, verdict, digest)):
            return Admitted(_outgoing(same))
        await carriage.require_stored(session, ctx.store, verdict.package, verdict.sender.code)
    except Refusal as refusal:
        # A repeat of an accepted envelope is not refused for what changed since (a revoked
        # certificate, say); a first sight skipped that look-up, so it is made here.
        if not careful and (earlier := await _own_repeat(session, ctx, incoming, agency, digest)):
            return Admitted(_outgoing(earlier))
        return Admitted(
            await _refuse(session, ctx, _Refused(incoming, agency, digest, refusal.message))
        )
    recorded = await _record(session, verdict, incoming.body, digest)
    target_pk = verdict.document.id if verdict.document else None
    freed = await carriage.freed_by(session, verdict.package, target_pk)
    return Admitted(recorded, freed)


async def _own_repeat(
    session: AsyncSession, ctx: IntakeContext, incoming: Incoming, agency: AgencyView, digest: str
) -> Envelope | None:
    """The earlier outcome of these bytes, if they are this publisher's own (or the hub's
    refusal of them); another agency's replay is judged anew."""
    earlier = await _earlier_outcome(session, incoming, digest)
    if earlier is not None and earlier.sender_code in (agency.code, ctx.hub_code):
        return earlier
    return None


async def _recorded_meanwhile(
    session: AsyncSession, verdict: Verdict, digest: str
) -> Envelope | None:
    """The same envelope, recorded by a concurrent handler; a different package under the same
    envelope id is refused."""
    same_id = await repository.envelope_by_id(session, verdict.envelope_id)
    if same_id is not None and same_id.sha256 != digest:
        raise Refusal(f"envelope id '{verdict.envelope_id}' was already used for another package")
    return same_id


def usable_id(message_id: str | None) -> str | None:
    """An AMQP message id fit to be an envelope id and to be quoted back; else None (the
    content digest stands in)."""
    if not message_id or len(message_id) > MAX_ID or not message_id.isprintable():
        return None
    return message_id


def _quotable(reason: str) -> str:
    """A refusal reason the hub will sign: printable and bounded, whatever the sender sent."""
    printable = "".join(c if c.isprintable() else "?" for c in reason)
    return printable if len(printable) <= MAX_REASON else printable[: MAX_REASON - 1] + "…"


async def _earlier_outcome(
    session: AsyncSession, incoming: Incoming, digest: str
) -> Envelope | None:
    """An accepted envelope with these bytes, or, for a redelivered message, its refusal.

    A refusal is only reused for the same message seen again: a fresh resend of refused bytes
    is judged anew, since the reason (an unregistered certificate, say) may have been fixed.
    """
    accepted = await repository.envelope_by_digest(session, digest)
    if accepted is not None or not (incoming.redelivered or incoming.delivery_count):
        return accepted
    refusal_id = await repository.earlier_refusal(session, digest, incoming.message_id)
    return await repository.envelope_by_id(session, refusal_id) if refusal_id else None


def _unknown_publisher(incoming: Incoming) -> str:
    if not incoming.user_id:
        return "the message carries no user_id, so its publisher is unknown"
    return f"broker account '{incoming.user_id}' belongs to no registered agency"


def _envelope_row(package: Package, envelope_id: str, body: bytes, digest: str) -> Row:
    """An envelope's columns (every one, so that rows of one statement name the same)."""
    row: Row = {
        "id": time_ordered_uuid(), "envelope_id": envelope_id, "kind": package.kind,
        "sender_code": package.sender.organ_id, "sha256": digest, "size": len(body), "body": body,
    }  # fmt: skip
    if isinstance(package, DocumentPackage):
        code = package.code
        return row | {
            "document_id": package.document_id, "subject": package.subject,
            "business_type": int(package.business_type),
            "target_document_id": package.target_document_id, "status_code": None,
            "code_number": code.code_number if code else None,
            "code_notation": code.code_notation if code else None,
        }  # fmt: skip
    return row | {
        "document_id": package.response_for.document_id, "subject": package.description,
        "business_type": None, "target_document_id": None,
        "status_code": package.status_code.value, "code_number": None, "code_notation": None,
    }  # fmt: skip


def _events(
    document_pk: uuid.UUID, recipients: list[str], source: str, event: str, **details: str | None
) -> list[Row]:
    """One timeline event per recipient; `details` are status_code and description (every
    row names both, so that rows of one statement name the same columns)."""
    named = {"status_code": None, "description": None} | details
    return [
        {"document_pk": document_pk, "recipient_code": code, "event": event,
         "source_envelope_id": source, **named}
        for code in recipients
    ]  # fmt: skip


def _timeline(verdict: Verdict, envelope_pk: uuid.UUID, source: str) -> list[Row]:
    """A new document starts its own timeline; a recall or deletion is an event in its
    target's; an update or replacement starts its own and marks the target superseded."""
    package, target = verdict.package, verdict.document
    if isinstance(package, StatusPackage):
        assert target is not None
        code = package.status_code
        about = verdict.recipients if code.sent_by_sender else [verdict.sender.code]
        return _events(target.id, about, source, "status", status_code=code.value,
                       description=package.description)  # fmt: skip
    if target is None:
        return _events(envelope_pk, verdict.recipients, source, "sent")
    action = package.lifecycle_action
    reason = package.business.reason if package.business else None
    if package.business_type is BusinessDocType.REVOCATION:
        return _events(target.id, verdict.recipients, source, f"{action}-requested",
                       description=reason)  # fmt: skip
    superseded = target.recipients
    return [
        *_events(envelope_pk, verdict.recipients, source, "sent", description=reason),
        *_events(target.id, superseded, source, "superseded",
                 description=f"{action}: {package.document_id}"),
    ]  # fmt: skip


def _audit_action(package: Package) -> str:
    """accept for a new document or a status; recall, delete, update or replace otherwise."""
    if isinstance(package, DocumentPackage) and package.target_document_id:
        return package.lifecycle_action
    return "accept"


async def _cancel_undelivered(session: AsyncSession, verdict: Verdict, source: str) -> None:
    """A recall or deletion stops copies still at the hub from leaving it."""
    target = verdict.document
    if not isinstance(verdict.package, DocumentPackage) or target is None:
        return
    if verdict.package.business_type is not BusinessDocType.REVOCATION:
        return
    cancelled = await repository.cancel_pending(session, target.id, verdict.recipients)
    if cancelled:
        add_rows(session, TimelineEvent, _events(target.id, cancelled, source, "cancelled"))
        detail: dict[str, object] = {"recipients": cancelled, "document_id": target.document_id}
        audit.append(session, "cancel", verdict.sender.code, target.envelope_id, detail)


async def _record(
    session: AsyncSession, verdict: Verdict, body: bytes, digest: str
) -> list[uuid.UUID]:
    """Record an accepted envelope; returns its key when it has deliveries to publish."""
    envelope = _envelope_row(verdict.package, verdict.envelope_id, body, digest)
    pk, source = envelope["id"], envelope["envelope_id"]
    # Not written here: the rows of every message admitted in this transaction go one round
    # trip per table, at the next flush or the commit (see schemas/pending_rows.py).
    add_rows(session, Envelope, [envelope])
    add_rows(session, Delivery, _delivery_rows(pk, verdict.recipients))
    carriage.carry(session, pk, verdict.package)
    add_rows(session, TimelineEvent, _timeline(verdict, pk, source))
    detail: dict[str, object] = {
        "kind": envelope["kind"],
        "recipients": verdict.recipients,
        "document_id": envelope["document_id"],
        "sha256": digest,
    }
    if envelope["status_code"]:
        detail["status"] = envelope["status_code"]
    if envelope["target_document_id"]:
        detail["target_document_id"] = envelope["target_document_id"]
    action = _audit_action(verdict.package)
    audit.append(session, action, verdict.sender.code, source, detail)
    await _cancel_undelivered(session, verdict, source)
    return [pk] if verdict.recipients else []


def _quarantine(
    session: AsyncSession, incoming: Incoming, agency: AgencyView | None, digest: str, reason: str
) -> Quarantine:
    row = Quarantine(
        message_id=incoming.message_id, broker_user=incoming.user_id,
        sender_code=agency.code if agency else None, reason=_quotable(reason), sha256=digest,
        body=incoming.body,
    )  # fmt: skip
    session.add(row)
    actor = agency.code if agency else (incoming.user_id or "unknown")
    audit.append(session, "refuse", actor, incoming.message_id or digest, {"reason": reason})
    return row


@dataclass(frozen=True)
class _Refused:
    incoming: Incoming
    agency: AgencyView
    digest: str
    reason: str


def _refusal_package(ctx: IntakeContext, refused: _Refused, envelope_id: str) -> StatusPackage:
    about = refused.incoming.message_id or refused.digest
    return StatusPackage(
        sender=Organization(organ_id=ctx.hub_code, organ_name=ctx.hub_name),
        response_for=ResponseFor(organ_id=refused.agency.code, document_id=about),
        status_code=StatusCode.REFUSED,
        description=_quotable(refused.reason),
        timestamp=datetime.now(VIETNAM_TIME).replace(microsecond=0),
        lienthong=LienthongInfo(envelope_id=envelope_id),
    )


async def _refuse(session: AsyncSession, ctx: IntakeContext, refused: _Refused) -> list[uuid.UUID]:
    """Quarantine the bytes and queue a signed status 02 naming the reason for the sender."""
    quarantined = _quarantine(
        session, refused.incoming, refused.agency, refused.digest, refused.reason
    )
    envelope_id = f"refusal-{uuid.uuid4()}"
    quarantined.refusal_envelope_id = envelope_id
    package = _refusal_package(ctx, refused, envelope_id)
    body = sign_tree(package_tree(package), ctx.hub_identity)
    row = _envelope_row(package, envelope_id, body, hashlib.sha256(body).hexdigest())
    deliveries = _delivery_rows(row["id"], [refused.agency.code])
    envelope = Envelope(**row, deliveries=[Delivery(**delivery) for delivery in deliveries])
    session.add(envelope)
    await session.flush()
    return _outgoing(envelope)


async def delivered(session: AsyncSession, sent: list[Outgoing]) -> None:
    """Mark deliveries queued once the broker confirmed them, and say so in the audit log."""
    await repository.mark_queued(session, [item.delivery_id for item in sent])
    by_envelope: dict[str, list[str]] = {}
    for item in sent:
        by_envelope.setdefault(item.envelope_id, []).append(item.recipient)
    audit.append_many(session, [
        audit.Entry("deliver", "hub", envelope_id, {"recipients": recipients})
        for envelope_id, recipients in by_envelope.items()
    ])  # fmt: skip
