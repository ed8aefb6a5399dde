"""Timeline routes: where a document is, per recipient."""

from __future__ import annotations

from fastapi import APIRouter

from hub.api.dependencies import Session, Viewer
from hub.timeline import service
from hub.timeline.payloads import TimelineOut

router = APIRouter(prefix="/v1", tags=["timelines"])


@router.get("/envelopes/{envelope_id}/timeline")
async def envelope_timeline(envelope_id: str, db: Session, _: Viewer) -> TimelineOut:
    """The timeline of the document sent in this envelope."""
    return await service.by_envelope_id(db, envelope_id)


@router.get("/timelines")
async def document_timelines(
    document_id: str, db: Session, _: Viewer, sender: str | None = None
) -> list[TimelineOut]:
    """Timelines of documents with this DocumentId (several senders may reuse one)."""
    return await service.by_document_id(db, document_id, sender)
