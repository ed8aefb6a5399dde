"""The sending side: recall or delete a sent document, or send a new version of it.

A recall or deletion is a signed revocation package (BussinessDocType 1; a deletion is marked
DeleteOnMistake in lienthong's namespace) to some or all of the recipients, with one request
row per recipient that their answer (15 or 16) closes. An update or replacement is a new
document (type 2 or 3) linked to the one it supersedes; recipients removed from it are sent
a recall of the earlier version.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from agency_adapter.attachments.outgoing import Outgoing, place
from agency_adapter.context import AdapterContext
from agency_adapter.documents import service as documents
from agency_adapter.documents.payloads import Accepted
from agency_adapter.errors import Conflict, InvalidDocument
from agency_adapter.lifecycle import receiving
from agency_adapter.lifecycle.payloads import DecisionIn, RecallIn, RevisionIn
from agency_adapter.models import Box, Document, Outbox, Recall, RecallKind, RecallOutcome
from schemas.ids import time_ordered_uuid
from schemas.model import (
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    Code,
    DocumentPackage,
    LienthongInfo,
    Organization,
    Receiver,
    ReceiverType,
    ReplacementInfo,
    TraceHeader,
)
from schemas.reader import read_package

REOPENED = (RecallOutcome.REFUSED, RecallOutcome.REPLACED, RecallOutcome.HUB_REFUSED)


def latest_request(document: Document, recipient: str) -> Recall | None:
    """The newest recall or deletion this sender asked of one recipient."""
    asked = [r for r in document.recalls if r.box == Box.OUTBOX and r.counterpart == recipient]
    return asked[-1] if asked else None


def _targets(document: Document, wanted: list[str] | None, kind: RecallKind) -> list[str]:
    """The recipients asked: those named, or every one this request still makes sense for."""
    if wanted is None:
        open_to = [
            code for code in document.recipients
            if _obstacle(latest_request(document, code), kind) is None
        ]  # fmt: skip
        return open_to or list(document.recipients)  # none left: say why for each
    strangers = [code for code in wanted if code not in document.recipients]
    if strangers:
        raise InvalidDocument(
            f"{', '.join(strangers)} did not receive this document "
            f"(its recipients: {', '.join(document.recipients)})"
        )
    return list(dict.fromkeys(wanted))


def _obstacle(latest: Recall | None, kind: RecallKind) -> str | None:
    """Why this request cannot go to a recipient, given the last one asked of it: a deletion
    may follow a recall (waiting or granted), nothing follows a deletion but its answer."""
    if latest is None or latest.outcome in REOPENED:
        return None
    upgrade = kind == RecallKind.DELETE and latest.kind == RecallKind.RECALL
    if latest.outcome is None:
        return None if upgrade else f"a {latest.kind} is still waiting for its answer"
    if upgrade:
        return None
    return "already deleted" if latest.kind == RecallKind.DELETE else "already recalled"


def _revocation(ctx: AdapterContext, document: Document, targets: list[str], reason: str,
                kind: RecallKind) -> DocumentPackage:  # fmt: skip
    """The revocation package: the document's header, no files, addressed to `targets`."""
    code = Code(code_number=document.code_number, code_notation=document.code_notation)
    return DocumentPackage(
        sender=ctx.agency,
        recipients=tuple(Organization(organ_id=target) for target in targets),
        document_id=document.document_id,
        code=code if document.code_number or document.code_notation else None,
        subject=document.subject,
        trace=(TraceHeader(organ_id=ctx.settings.agency_code, timestamp=documents.now()),),
        business=Business(
            doc_type=BusinessDocType.REVOCATION, reason=reason, document_id=document.document_id
        ),
        lienthong=LienthongInfo(
            envelope_id=str(time_ordered_uuid()), delete_on_mistake=kind == RecallKind.DELETE
        ),
    )


async def ask(session: AsyncSession, ctx: AdapterContext, document_id: uuid.UUID,
              asked: RecallIn, kind: RecallKind) -> Document:  # fmt: skip
    """Recall or delete the sent document with this id; returns it with the requests."""
    document = await documents.get(session, document_id)
    await request(session, ctx, document, asked, kind)
    return document


async def decide(session: AsyncSession, ctx: AdapterContext, document_id: uuid.UUID,
                 decision: DecisionIn) -> Document:  # fmt: skip
    """A received document's answer to the recall waiting on it."""
    document = await documents.get(session, document_id)
    await receiving.decide(session, ctx, document, decision)
    return document


async def request(session: AsyncSession, ctx: AdapterContext, document: Document,
                  asked: RecallIn, kind: RecallKind) -> list[Recall]:  # fmt: skip
    """Recall or delete a sent document at some or all of its recipients."""
    if document.box != Box.OUTBOX:
        raise Conflict(
            "only the sender can recall or delete a document; to send back a document "
            "received by mistake, report status 02 with the reason"
        )
    targets = _targets(document, asked.recipients, kind)
    latest = {code: latest_request(document, code) for code in targets}
    obstacles = [f"{code}: {why}" for code in targets if (why := _obstacle(latest[code], kind))]
    if obstacles:
        raise Conflict(f"cannot {kind} document {document.id} — " + "; ".join(obstacles))
    package = _revocation(ctx, document, targets, asked.reason, kind)
    assert package.lienthong is not None and package.lienthong.envelope_id is not None
    envelope_id = package.lienthong.envelope_id
    session.add(Outbox(envelope_id=envelope_id, body=documents.sign(ctx, package)))
    for earlier in latest.values():
        if earlier is not None and earlier.outcome is None:  # a waiting recall, now a deletion
            earlier.close(RecallOutcome.REPLACED, "replaced by a deletion")
    rows = [
        Recall(
            box=Box.OUTBOX,
            envelope_id=envelope_id,
            document=document,
            document_id=document.document_id or "",
            sender_code=document.sender_code,
            counterpart=code,
            kind=kind,
            reason=asked.reason,
        )
        for code in targets
    ]
    session.add_all(rows)
    await session.flush()
    return rows


def _deleted_at(document: Document) -> list[str]:
    """Recipients asked to delete the document (the hub did not refuse the deletion)."""
    return [
        r.counterpart for r in document.recalls
        if r.box == Box.OUTBOX and r.kind == RecallKind.DELETE
        and r.outcome != RecallOutcome.HUB_REFUSED
    ]  # fmt: skip


def _revised_recipients(document: Document, revision: RevisionIn) -> list[str]:
    strangers = [code for code in revision.remove_recipients if code not in document.recipients]
    if strangers:
        raise InvalidDocument(f"cannot remove {', '.join(strangers)}: not a recipient")
    kept = [code for code in document.recipients if code not in revision.remove_recipients]
    recipients = list(dict.fromkeys([*kept, *revision.add_recipients]))
    if not recipients:
        raise InvalidDocument("the new version would have no recipient left")
    return recipients


def _business(revision: RevisionIn, target: str, recipients: list[str],
              removed: list[str]) -> Business:  # fmt: skip
    if revision.kind == "replace":
        replaced = ReplacementInfo(document_id=target, organ_ids=tuple(recipients))
        return Business(doc_type=BusinessDocType.REPLACEMENT, reason=revision.reason,
                        document_id=target, replacements=(replaced,))  # fmt: skip
    receivers = [
        *(
            Receiver(organ_id=code, receiver_type=ReceiverType.ADDED)
            for code in revision.add_recipients
        ),
        *(Receiver(organ_id=code, receiver_type=ReceiverType.REMOVED) for code in removed),
    ]
    info = BusinessDocumentInfo(receivers=tuple(receivers)) if receivers else None
    return Business(doc_type=BusinessDocType.UPDATE, reason=revision.reason, document_id=target,
                    document_info=info)  # fmt: skip


def _changes(revision: RevisionIn, earlier: DocumentPackage) -> dict[str, object]:
    """The header fields and files the revision gives; the rest stays as it was."""
    changes: dict[str, object] = revision.model_dump(
        include={"subject", "content", "due_date"}, exclude_unset=True
    )
    if revision.code is not None:
        changes["code"] = Code(code_number=revision.code.number,
                               code_notation=revision.code.notation)  # fmt: skip
    if revision.priority is not None and earlier.other_info is not None:
        changes["other_info"] = earlier.other_info.model_copy(
            update={"priority": revision.priority}
        )
    return changes


async def _files(ctx: AdapterContext, revision: RevisionIn, earlier: DocumentPackage) -> Outgoing:
    """The files the revision gives (placed as a new document's are), else the earlier
    version's, inline and outside alike (those outside are in the store already)."""
    if revision.attachments is None:
        outside = earlier.lienthong.external_attachments if earlier.lienthong else ()
        return Outgoing(inline=earlier.attachments, external=outside)
    return await place(ctx, documents.files_of(revision.attachments))


def _earlier_package(document: Document) -> DocumentPackage:
    package = read_package(document.body).package
    assert isinstance(package, DocumentPackage)  # an outbox document is always one
    return package


async def revise(session: AsyncSession, ctx: AdapterContext, document_id: uuid.UUID,
                 revision: RevisionIn, local_system: str | None) -> Accepted:  # fmt: skip
    """Send a new version (update or replacement) of a sent document, linked to it."""
    document = await documents.get(session, document_id)
    if document.box != Box.OUTBOX:
        raise Conflict("only the sender can update or replace a document")
    if document.superseded_by is not None:
        raise Conflict(f"this version was superseded by {document.superseded_by}: revise that one")
    if deleted := _deleted_at(document):
        raise Conflict(
            f"this document was deleted on mistake at {', '.join(deleted)}: send a new document "
            "instead of a new version of it"
        )
    earlier = _earlier_package(document)
    recipients = _revised_recipients(document, revision)
    removed = [code for code in revision.remove_recipients if code in document.recipients]
    envelope_id = str(time_ordered_uuid())
    files = await _files(ctx, revision, earlier)
    package = earlier.model_copy(update={
        **_changes(revision, earlier),
        "attachments": files.inline,
        "document_id": documents.new_document_id(ctx, envelope_id),
        "recipients": tuple(Organization(organ_id=code) for code in recipients),
        "trace": (TraceHeader(organ_id=ctx.settings.agency_code, timestamp=documents.now()),),
        "business": _business(revision, document.document_id or "", recipients, removed),
        "lienthong": LienthongInfo(envelope_id=envelope_id, external_attachments=files.external),
    })  # fmt: skip
    newer = await documents.send_package(
        session, ctx, documents.ToSend(package, files, revises=document), local_system
    )
    document.superseded_by = newer.id
    await _recall_from_removed(session, ctx, document, removed, newer)
    return newer


async def _recall_from_removed(session: AsyncSession, ctx: AdapterContext, document: Document,
                               removed: list[str], newer: Accepted) -> None:  # fmt: skip
    """Agencies taken off the recipients are asked to give the earlier version back."""
    still_holding = [
        c for c in removed if _obstacle(latest_request(document, c), RecallKind.RECALL) is None
    ]
    if still_holding:
        reason = f"removed from the recipients by the new version {newer.document_id}"
        await request(session, ctx, document, RecallIn(reason=reason, recipients=still_holding),
                      RecallKind.RECALL)  # fmt: skip
