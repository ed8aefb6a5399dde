"""Receiving from the mailbox: verify end to end, store once, answer 01, raise the event.

The adapter does not have to trust the hub: it verifies the sender's signature itself with
the trust bundle, and uses only the verified tree. A document whose files outside its package
are not all here yet is set aside (``AwaitingFiles``) and its message acked: the fetcher
brings the files and stores it later, by the same ``receive``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.x509 import Certificate
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from agency_adapter import events
from agency_adapter.announcing import STORED
from agency_adapter.attachments import repository as attachments
from agency_adapter.attachments.fetching import listed_outside, must_wait
from agency_adapter.broker import Delivered
from agency_adapter.context import AdapterContext
from agency_adapter.documents import repository
from agency_adapter.documents.payloads import StatusIn
from agency_adapter.documents.service import (
    arrived,
    automatic,
    queue_arrival,
    queue_status,
    response_to,
    send_status,
    status_row,
)
from agency_adapter.errors import InvalidDocument
from agency_adapter.lifecycle import receiving as lifecycle
from agency_adapter.lifecycle import repository as lifecycle_repository
from agency_adapter.models import AwaitingFiles, Document, ExternalFile, StatusRecord
from schemas.errors import EnvelopeError
from schemas.model import BusinessDocType, DocumentPackage, Package, StatusPackage
from schemas.pending_rows import add_rows
from schemas.signing import read_verified, verify_package

ANSWERS = ("15", "16")  # to a recall or deletion this agency sent
# Built once (see db.py): every status received runs it.
_STATUS_SEEN = select(StatusRecord.id).where(StatusRecord.envelope_id == bindparam("envelope_id"))


def _verified(ctx: AdapterContext, body: bytes, at: datetime | None,
              accepted_before: bool = False) -> Package:  # fmt: skip
    """The package, if its signature holds. `accepted_before`: the bytes passed the trust
    bundle and the SHA-1 policy when they came; only the signature itself is checked again."""
    trust: Sequence[Certificate] = () if accepted_before else ctx.trust
    try:
        verification = verify_package(
            body, trust=trust, allow_legacy_sha1=accepted_before or ctx.settings.allow_legacy_sha1,
            limits=ctx.settings.parse_limits(), at=at,
        )  # fmt: skip
        if not verification.accepted or verification.verified_xml is None:
            raise InvalidDocument(f"signature not accepted: {verification.reason}")
        return read_verified(verification, ctx.settings.parse_limits()).package
    except EnvelopeError as error:
        raise InvalidDocument(f"the package cannot be read: {error}") from None


def _envelope_id(package: Package, delivered: Delivered) -> str:
    if package.lienthong and package.lienthong.envelope_id:
        return package.lienthong.envelope_id
    return delivered.message_id or hashlib.sha256(delivered.body).hexdigest()


@dataclass(frozen=True)
class Verified:
    """A mailbox message whose signature holds, ready to be stored."""

    package: Package
    envelope_id: str
    body: bytes

    @property
    def urgent(self) -> bool:
        """Recalls and deletions are handled before documents waiting beside them."""
        package = self.package
        return (
            isinstance(package, DocumentPackage)
            and package.business_type is BusinessDocType.REVOCATION
        )


def verified(ctx: AdapterContext, delivered: Delivered, at: datetime | None = None) -> Verified:
    """Verify one mailbox message end to end (no database needed); InvalidDocument if not.
    `at`: when it arrived, for a message set aside then (certificates valid at that time)."""
    package = _verified(ctx, delivered.body, at)
    return Verified(package, _envelope_id(package, delivered), delivered.body)


def set_aside(row: AwaitingFiles, ctx: AdapterContext) -> Verified:
    """A document set aside for its files, read again. Its signature was verified against
    the trust bundle when it came, and the row holds only those bytes: a certificate revoked
    since does not undo a delivery accepted then (only the signature itself is checked)."""
    delivered = Delivered(row.body, row.envelope_id)
    package = _verified(ctx, row.body, row.created_at, accepted_before=True)
    return Verified(package, _envelope_id(package, delivered), row.body)


def _reads_only_written(message: Verified) -> bool:
    """Whether storing the message reads nothing that an earlier message of its group may
    have left unwritten, but a repeat of itself (which the unique envelope ids catch at the
    commit): a first version of a document, or a status other than an answer to a recall or
    deletion. Recalls, deletions and new versions look for the documents they are about."""
    package = message.package
    if isinstance(package, StatusPackage):
        return package.status_code.value not in ANSWERS
    return package.target_document_id is None and not message.urgent


async def take_all(session: AsyncSession, ctx: AdapterContext,
                   messages: Sequence[Verified]) -> list[bool]:  # fmt: skip
    """Take messages in one transaction, in order (see `take`). The rows of those that
    read only what is written are written together, one statement per table, at the next
    message that needs them written or at the commit."""
    awaiting = []
    for message in messages:
        if _reads_only_written(message):
            with session.no_autoflush:
                awaiting.append(await take(session, ctx, message))
        else:
            await session.flush()
            awaiting.append(await take(session, ctx, message))
            await session.flush()
    return awaiting


def _may_be_set_aside(message: Verified) -> bool:
    """Only a document that lists files outside its package, or revises a version (which
    may be waiting for its own), is ever set aside: for any other message no row is looked
    for."""
    package = message.package
    if not isinstance(package, DocumentPackage) or message.urgent:
        return False
    return bool(listed_outside(package)) or package.target_document_id is not None


async def take(session: AsyncSession, ctx: AdapterContext, message: Verified) -> bool:
    """Store a mailbox message; or, for a document whose files outside its package are not
    all in the store yet, set it aside for the fetcher (True). Either way once: a repeat of a
    message stored or set aside already changes nothing."""
    envelope_id = message.envelope_id
    if _may_be_set_aside(message) and await attachments.is_awaiting(session, envelope_id):
        return True
    # A recall or deletion is handled at once, whatever it lists: it must keep its priority.
    if message.urgent or not await must_wait(session, ctx.attachments, message.package,
                                             envelope_id):  # fmt: skip
        await receive(session, ctx, message)
        return False
    package = message.package
    assert isinstance(package, DocumentPackage)
    session.add(AwaitingFiles(
        envelope_id=envelope_id, sender_code=package.sender.organ_id,
        document_id=package.document_id or "", body=message.body,
        files=[file.sha256 for file in listed_outside(package)], attempts=0, next_attempt_at=0.0,
    ))  # fmt: skip
    await session.flush()
    return True


async def receive(session: AsyncSession, ctx: AdapterContext, message: Verified,
                  late: bool = False) -> None:  # fmt: skip
    """Store one verified mailbox message once (a redelivered copy changes nothing); `late`:
    one set aside for its files, which a newer version may have overtaken."""
    package, envelope_id = message.package, message.envelope_id
    if isinstance(package, StatusPackage):
        await _status(session, package, envelope_id)
    elif package.business_type is BusinessDocType.REVOCATION:
        await lifecycle.on_revocation(session, ctx, package, envelope_id)
        if package.deletes_on_mistake:
            await _drop_awaiting(session, ctx, package)
    else:
        await _document(session, ctx, message, late)


async def _drop_awaiting(session: AsyncSession, ctx: AdapterContext,
                         deletion: DocumentPackage) -> None:  # fmt: skip
    """Versions deleted on mistake while they waited for their files (or behind a version
    that did): never fetched, stored at once as tombstones, oldest first; and the versions
    held here that they revise purged, as when a deletion overtakes its document."""
    sender, target = deletion.sender.organ_id, deletion.target_document_id or ""
    reason = (deletion.business.reason if deletion.business else None) or lifecycle.NO_REASON
    waiting = await _waiting_from(session, ctx, sender)
    base, reached = _versions_reached(waiting, target)
    if base not in waiting:  # the newest version held here: it and every earlier one go
        await lifecycle.purge_versions(session, sender, base, reason)
    for document_id in reached:
        row, message = waiting[document_id]
        await session.delete(row)
        await session.flush()
        await _tombstone(session, message, reason)


async def _waiting_from(session: AsyncSession, ctx: AdapterContext,
                        sender: str) -> dict[str, tuple[AwaitingFiles, Verified]]:  # fmt: skip
    """The sender's documents waiting for their files, by DocumentId, oldest first."""
    waiting: dict[str, tuple[AwaitingFiles, Verified]] = {}
    for row in await attachments.awaiting_from(session, sender):
        try:
            waiting[row.document_id] = (row, set_aside(row, ctx))
        except InvalidDocument:
            continue  # unreadable: the fetcher gives it up
    return waiting


def _revises(message: Verified) -> str | None:
    package = message.package
    return package.target_document_id if isinstance(package, DocumentPackage) else None


def _versions_reached(waiting: dict[str, tuple[AwaitingFiles, Verified]],
                      target: str) -> tuple[str, list[str]]:  # fmt: skip
    """Where the deleted document's chain of versions starts (the earliest waiting one, or
    the one held here that the earliest waiting one revises), and every waiting version of
    that chain, oldest first."""
    base, seen = target, {target}
    while base in waiting and (earlier := _revises(waiting[base][1])) and earlier not in seen:
        base = earlier
        seen.add(base)
    reached, known = [base] if base in waiting else [], {base}
    grown = True
    while grown:  # rows come oldest first; a version is reached once what it revises is
        grown = False
        for document_id, (_, message) in waiting.items():
            if document_id not in known and _revises(message) in known:
                reached.append(document_id)
                known.add(document_id)
                grown = True
    return base, reached


async def _tombstone(session: AsyncSession, message: Verified, reason: str) -> None:
    """Store a waiting version deleted on mistake as a tombstone, never announced."""
    package = message.package
    assert isinstance(package, DocumentPackage)
    if await repository.by_envelope(session, message.envelope_id) is not None:
        return
    document = repository.inbox_document(package, message.envelope_id, message.body)
    earlier = await lifecycle_repository.ahead_of_document(
        session, package.sender.organ_id, document.document_id or ""
    )
    if earlier:
        lifecycle.settle(document, earlier)
    else:
        lifecycle.entomb(document, reason)
    session.add(document)
    await session.flush()
    session.info[lifecycle.PURGED] = True  # files fetched for it before the deletion go too
    await lifecycle.link_version(session, document, package)


async def refuse(session: AsyncSession, ctx: AdapterContext, message: Verified,
                 reason: str) -> None:  # fmt: skip
    """A document whose files outside the package are not what its sender signed for: the
    sender hears 02 with the reason, the local system an `envelope.refused`; nothing is
    stored, so the document is never offered."""
    package = message.package
    assert isinstance(package, DocumentPackage)
    await send_status(session, ctx, response_to(package), automatic("02", reason[:1000]))
    await events.append(session, "envelope.refused", None, {
        "envelope_id": message.envelope_id, "sender": package.sender.organ_id,
        "reason": reason[:1000],
    })  # fmt: skip


async def _document(session: AsyncSession, ctx: AdapterContext, message: Verified,
                    late: bool) -> None:  # fmt: skip
    package, envelope_id = message.package, message.envelope_id
    assert isinstance(package, DocumentPackage)
    sender, document_id = package.sender.organ_id, package.document_id or ""
    arrival = await lifecycle_repository.arrival(session, envelope_id, sender, document_id)
    if arrival.stored_before:
        return
    if arrival.recalled_ahead:  # recalled or deleted on its way here: answered, never announced
        document = repository.inbox_document(package, envelope_id, message.body)
        earlier = await lifecycle_repository.ahead_of_document(session, sender, document_id)
        lifecycle.settle(document, earlier)
        session.add(document)
        await session.flush()
        return
    session.info[STORED] = True  # announced once the mailbox has caught up
    if package.target_document_id is None and not late:
        await _first_version(session, ctx, package, message)
        return
    document = repository.inbox_document(package, envelope_id, message.body)
    session.add(document)  # written with its 01
    await lifecycle.link_version(session, document, package, late)
    await queue_status(session, ctx, document, arrived())


async def _first_version(session: AsyncSession, ctx: AdapterContext, package: DocumentPackage,
                         message: Verified) -> None:  # fmt: skip
    """A document that revises none, in order (the usual case): it links to no other
    version, so its rows (the document, its files outside the package, its 01 and the 01's
    outbox row) go as plain INSERTs, without the unit of work's bookkeeping."""
    row = repository.inbox_row(package, message.envelope_id, message.body)
    add_rows(session, Document, [row])
    add_rows(session, ExternalFile, repository.external_file_rows(package, row["id"]))
    await queue_arrival(session, ctx, row["id"], response_to(package))


async def _status(session: AsyncSession, package: StatusPackage, envelope_id: str) -> None:
    if await session.scalar(_STATUS_SEEN, {"envelope_id": envelope_id}) is not None:
        return
    about = package.response_for.document_id or ""
    if package.status_code.value in ANSWERS:
        document_pk = await _record_answer(session, package, envelope_id, about)
    else:
        document_pk = await _record_status(session, package, envelope_id, about)
    if document_pk is None:
        await events.append(
            session, "status.unmatched", None, {"envelope_id": envelope_id, "about": about}
        )
        return
    await events.append_about(session, "status.received", document_pk, {
        "from": package.sender.organ_id, "code": package.status_code.value,
        "description": package.description,
    })  # fmt: skip


def _status_row(document_pk: uuid.UUID, package: StatusPackage,
                envelope_id: str) -> dict[str, object]:  # fmt: skip
    staff = package.staff_info.staff if package.staff_info else None
    received = StatusIn.model_construct(
        code=package.status_code.value, description=package.description, staff=staff
    )
    return status_row(document_pk, envelope_id, package.sender.organ_id, received)


async def _record_status(session: AsyncSession, package: StatusPackage, envelope_id: str,
                         about: str) -> uuid.UUID | None:  # fmt: skip
    """Record a status on the document it is about, found by its id alone, as a plain
    INSERT (nothing reads it back in this transaction); the document's id, None if unknown."""
    document_pk = await repository.sent_pk(session, about)
    if document_pk is None:  # the hub's refusal names the envelope it refuses
        refused = await lifecycle.refused_by_hub(session, about, package.description)
        document_pk = refused.id if refused else None
    if document_pk is not None:
        add_rows(session, StatusRecord, [_status_row(document_pk, package, envelope_id)])
    return document_pk


async def _record_answer(session: AsyncSession, package: StatusPackage, envelope_id: str,
                         about: str) -> uuid.UUID | None:  # fmt: skip
    """Record an answer to a recall or deletion (15, 16), which closes the request: the
    document is loaded with its history, the record goes the unit of work's way (rare)."""
    document = await repository.sent_with_document_id(session, about)
    if document is None:
        document = await lifecycle.refused_by_hub(session, about, package.description)
    if document is None:
        return None
    record = StatusRecord(**_status_row(document.id, package, envelope_id))
    session.add(record)
    lifecycle.answered(document, record, package.lienthong.answers if package.lienthong else None)
    return document.id
