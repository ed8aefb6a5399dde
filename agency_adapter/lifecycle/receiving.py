"""The receiving side: recalls and deletions asked of this agency, and new versions.

Per received document (states in `Document.state`):

    received --03--> accepted --04/05/06--> ...       received --02--> refused
    recall, not accepted yet (received, refused, change-*) --> withdrawn, 15 sent at once
    recall, accepted or further --> unchanged, recall waiting --decision--> withdrawn (15)
                                                                   or unchanged (16)
    deletion, in any state --> deleted: content and files purged, tombstone kept, 15 sent
    recall or deletion before the document --> 15 sent; on arrival it is stored withdrawn
                                               or as a tombstone, and never announced
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import object_session

from agency_adapter import events
from agency_adapter.context import AdapterContext
from agency_adapter.documents import repository as documents_repository
from agency_adapter.documents import service as documents
from agency_adapter.documents.payloads import StatusIn
from agency_adapter.errors import Conflict
from agency_adapter.lifecycle import repository
from agency_adapter.lifecycle.payloads import DecisionIn
from agency_adapter.models import Box, Document, Recall, RecallKind, RecallOutcome, StatusRecord
from schemas.model import DocumentPackage, ResponseFor

NOT_ACCEPTED = {"received", "refused", "change-agreed", "change-refused"}
GONE = {"withdrawn", "deleted"}
NO_REASON = "(no reason given)"


async def on_revocation(session: AsyncSession, ctx: AdapterContext, package: DocumentPackage,
                        envelope_id: str) -> None:  # fmt: skip
    """A recall or deletion from a document's sender (a repeat of one changes nothing)."""
    if await repository.seen(session, envelope_id):
        return
    sender, target = package.sender.organ_id, package.target_document_id or ""
    document = await repository.received(session, sender, target)
    recall = Recall(
        box=Box.INBOX, envelope_id=envelope_id, document=document, document_id=target,
        sender_code=sender, counterpart=sender,
        kind=RecallKind.DELETE if package.deletes_on_mistake else RecallKind.RECALL,
        reason=(package.business.reason if package.business else None) or NO_REASON,
    )  # fmt: skip
    session.add(recall)
    if document is None:
        will = "purged" if recall.kind == RecallKind.DELETE else "withdrawn"
        await _close(session, ctx, recall, None, StatusIn.model_construct(
            code="15", description=f"not received yet: it will be {will} on arrival", staff=None,
        ))  # fmt: skip
        return
    await _apply(session, ctx, document, recall)


PURGED = "purged"  # set in Session.info: the edge then clears what the store keeps aside


def purge(document: Document, reason: str) -> None:
    """Keep a tombstone (ids, sender, subject, reason, times); drop content and files."""
    session = object_session(document)
    if session is not None:
        session.info[PURGED] = True
    document.body, document.content = b"", None
    document.state, document.removal_reason = "deleted", reason
    document.deleted_at = documents.now()


async def _apply(session: AsyncSession, ctx: AdapterContext, document: Document,
                 recall: Recall) -> None:  # fmt: skip
    detail: dict[str, object] = {"reason": recall.reason, "envelope_id": document.envelope_id}
    if recall.kind == RecallKind.DELETE:
        _replace_waiting(document, recall)
        await _purge_all(session, document, recall.reason)
        await _close(session, ctx, recall, document, documents.automatic("15", "Đã xóa"))
    elif document.state in NOT_ACCEPTED | GONE:
        if document.state not in GONE:
            document.state = "withdrawn"
            await _tell(session, document, "document.recalled", detail)
        await _close(session, ctx, recall, document, documents.automatic("15", "Đồng ý thu hồi"))
    else:
        await events.append(session, "document.recall-requested", document, detail)


async def _purge_all(session: AsyncSession, document: Document, reason: str) -> None:
    """Purge the document and every version of it held here; the local system is told of
    those it knew."""
    for version in await _all_versions(session, document):
        if version.state != "deleted":
            purge(version, reason)
            detail: dict[str, object] = {"reason": reason, "envelope_id": version.envelope_id}
            await _tell(session, version, "document.deleted", detail)


async def purge_versions(session: AsyncSession, sender: str, document_id: str,
                         reason: str) -> None:  # fmt: skip
    """A deletion reached, through versions that waited for their files, a version held
    here: it and every other version of it are purged."""
    document = await repository.received(session, sender, document_id)
    if document is not None:
        await _purge_all(session, document, reason)


async def _all_versions(session: AsyncSession, document: Document) -> list[Document]:
    """The document and every earlier and later version of it held here: a deletion purges
    them all, since a new version may carry the very files deleted on mistake."""
    found, seen = [document], {document.id}
    for link in ("supersedes", "superseded_by"):
        step = document
        while (next_id := getattr(step, link)) is not None and next_id not in seen:
            linked = await documents_repository.by_id(session, next_id)
            if linked is None:
                break
            found.append(linked)
            seen.add(linked.id)
            step = linked
    return found


async def _tell(session: AsyncSession, document: Document, kind: str,
                detail: dict[str, object]) -> None:  # fmt: skip
    """An event for the local system, about a document it was told of (one still waiting
    to be announced is simply never announced)."""
    if document.announced_at is not None:
        await events.append(session, kind, document, detail)


def _replace_waiting(document: Document, deletion: Recall) -> None:
    """A deletion answers for a recall still waiting on the same document."""
    for recall in document.recalls:
        if recall is not deletion and recall.box == Box.INBOX and recall.outcome is None:
            recall.close(RecallOutcome.REPLACED, "replaced by a deletion")


async def _close(session: AsyncSession, ctx: AdapterContext, recall: Recall,
                 document: Document | None, answer: StatusIn) -> None:  # fmt: skip
    """Record the outcome and send it (15 or 16) to the sender."""
    recall.close(answer.code, answer.description)
    if document is not None:
        await documents.queue_status(session, ctx, document, answer, answers=recall.envelope_id)
    else:
        about = ResponseFor(organ_id=recall.sender_code, document_id=recall.document_id)
        await documents.send_status(session, ctx, about, answer, answers=recall.envelope_id)


async def decide(session: AsyncSession, ctx: AdapterContext, document: Document,
                 decision: DecisionIn) -> None:  # fmt: skip
    """The local system's answer to a recall of a document it had accepted."""
    waiting = [r for r in document.recalls if r.box == Box.INBOX and r.outcome is None]
    if not waiting:
        raise Conflict(f"no recall of document {document.id} is waiting for a decision")
    code = "15" if decision.agree else "16"
    note = decision.reason or ("Đồng ý thu hồi" if decision.agree else "Không đồng ý thu hồi")
    for earlier in waiting[:-1]:  # the sender asked twice: one answer closes both
        earlier.close(code, note)
    if decision.agree:
        document.state = "withdrawn"
    await _close(session, ctx, waiting[-1], document,
                 StatusIn.model_construct(code=code, description=note, staff=None))  # fmt: skip


def settle(document: Document, earlier: list[Recall]) -> None:
    """Store a document that was recalled or deleted before it arrived: withdrawn, or as a
    tombstone whose content is never written (it was answered 15 already)."""
    for recall in earlier:
        recall.document = document
    deletion = next((r for r in earlier if r.kind == RecallKind.DELETE), None)
    if deletion is not None:
        entomb(document, deletion.reason)
    else:
        document.announced_at = documents.now()  # settled: the local system never hears of it
        document.state = "withdrawn"


def entomb(document: Document, reason: str) -> None:
    """Store a document deleted on mistake before it was stored: a tombstone, never told."""
    document.announced_at = documents.now()
    purge(document, reason)


async def link_version(session: AsyncSession, document: Document, package: DocumentPackage,
                       late: bool = False) -> None:  # fmt: skip
    """Link an update or replacement to the version it supersedes, if we have that one; and,
    for a document `late` (set aside for its files), to a newer version stored before it."""
    sender, target = package.sender.organ_id, package.target_document_id
    later = await repository.revising(session, sender, document.document_id or "") if late else None
    if later is not None and later.id != document.id:
        document.superseded_by, later.supersedes = later.id, later.supersedes or document.id
    if target is None:
        return
    document.revises_document_id = target
    earlier = await repository.received(session, sender, target)
    if earlier is not None and earlier.id != document.id:
        document.supersedes, earlier.superseded_by = earlier.id, document.id


def answered(document: Document, answer: StatusRecord, answers: str | None) -> None:
    """A recipient's 15 or 16 closes the recall or deletion it answers (sender's side).

    lienthong adapters name the request they answer; for a standard peer it is the newest
    one waiting, and a 16 never closes a deletion (a deletion needs no consent)."""
    asked = [
        r for r in document.recalls if r.box == Box.OUTBOX and r.counterpart == answer.agency_code
    ]
    if answers is not None:
        matching = [r for r in asked if r.envelope_id == answers and r.outcome is None]
    else:
        matching = [r for r in asked if r.outcome is None][-1:]
        if answer.code == "16":
            matching = [r for r in matching if r.kind == RecallKind.RECALL]
    for recall in matching:
        recall.close(answer.code, answer.description, answer.at)


async def refused_by_hub(session: AsyncSession, envelope_id: str,
                         reason: str | None) -> Document | None:  # fmt: skip
    """The hub refused one of our envelopes (02 naming it): a document, a new version (which
    then no longer supersedes its original), or a recall or deletion (which is closed, so it
    may be asked again). Returns the document the refusal belongs to."""
    document = await documents_repository.by_envelope(session, envelope_id)
    if document is not None:
        if document.supersedes is not None:
            original = await documents_repository.by_id(session, document.supersedes)
            if original is not None and original.superseded_by == document.id:
                original.superseded_by = None
        return document
    requests = await repository.requests_in(session, envelope_id)
    for request in requests:
        request.close(RecallOutcome.HUB_REFUSED, reason)
    return requests[0].document if requests else None
