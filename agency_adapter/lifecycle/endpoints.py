"""Routes for a document after it was sent: recall, delete-on-mistake, decisions, versions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, BackgroundTasks, status

from agency_adapter.api.dependencies import LocalSystem, Runtime, Session
from agency_adapter.documents.payloads import Accepted, DocumentOut
from agency_adapter.documents.views import describe
from agency_adapter.lifecycle import service
from agency_adapter.lifecycle.payloads import DecisionIn, RecallIn, RevisionIn
from agency_adapter.models import RecallKind

router = APIRouter(prefix="/v1/documents", tags=["lifecycle"])
ACCEPTED = status.HTTP_202_ACCEPTED


@router.post("/{document_id}/recall", status_code=ACCEPTED)
async def recall_document(document_id: uuid.UUID, body: RecallIn, db: Session, rt: Runtime,
                          _: LocalSystem, after: BackgroundTasks) -> DocumentOut:  # fmt: skip
    """Recall (thu hồi) a sent document from some or all recipients; each answers 15 or 16."""
    document = await service.ask(db, rt.ctx, document_id, body, RecallKind.RECALL)
    after.add_task(rt.workers.nudge)  # after the commit: the relay must see the row
    return describe(document)


@router.post("/{document_id}/delete", status_code=ACCEPTED)
async def delete_document(document_id: uuid.UUID, body: RecallIn, db: Session, rt: Runtime,
                          _: LocalSystem, after: BackgroundTasks) -> DocumentOut:  # fmt: skip
    """Delete a document sent by mistake: recipients must purge it and keep a tombstone."""
    document = await service.ask(db, rt.ctx, document_id, body, RecallKind.DELETE)
    after.add_task(rt.workers.nudge)
    return describe(document)


@router.post("/{document_id}/recall-decision", status_code=ACCEPTED)
async def decide_recall(document_id: uuid.UUID, body: DecisionIn, db: Session, rt: Runtime,
                        _: LocalSystem, after: BackgroundTasks) -> DocumentOut:  # fmt: skip
    """Answer a recall of a document already accepted: agree (15) or refuse (16)."""
    document = await service.decide(db, rt.ctx, document_id, body)
    after.add_task(rt.workers.nudge)
    return describe(document)


@router.post("/{document_id}/revisions", status_code=ACCEPTED)
async def revise_document(document_id: uuid.UUID, body: RevisionIn, db: Session, rt: Runtime,
                          system: LocalSystem, after: BackgroundTasks) -> Accepted:  # fmt: skip
    """Send an update or a replacement of a sent document, linked to it."""
    newer = await service.revise(db, rt.ctx, document_id, body, system)
    after.add_task(rt.workers.nudge)
    return newer
