"""The ordered event feed: every change a local system must hear of, appended in order."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agency_adapter.models import Document, Event


async def append(
    session: AsyncSession, type_: str, document: Document | None, payload: dict[str, object]
) -> Event:
    event = Event(type=type_, document_pk=document.id if document else None, payload=payload)
    session.add(event)
    await session.flush()
    return event


async def after(session: AsyncSession, seq: int, limit: int) -> list[Event]:
    query = select(Event).where(Event.seq > seq).order_by(Event.seq).limit(limit)
    return list(await session.scalars(query))
