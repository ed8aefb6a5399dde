"""The ordered event feed: every change a local system must hear of, appended in order."""

from __future__ import annotations

from sqlalchemy import Integer, bindparam, event, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from agency_adapter.db import FEED, insert_at_once
from agency_adapter.models import Document, Event

_FEED_LOCK = 0x66656564  # 'feed'
_APPENDED = "lienthong_appended"  # in a session's info: it appended events not yet committed


async def append(
    session: AsyncSession, type_: str, document: Document | None, payload: dict[str, object],
    at_once: bool = False,
) -> Event:  # fmt: skip
    """Append an event (added to the session, written with the caller's next flush or its
    commit; `at_once`: written now, its document being written already). On PostgreSQL
    appends are serialised until commit, so that events become visible in seq order and a
    reader polling `after=` never skips one (SQLite has a single writer anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _FEED_LOCK})
    row = Event(type=type_, document_pk=document.id if document else None, payload=payload)
    if at_once:
        await insert_at_once(session, row)
    else:
        session.add(row)
    session.info[_APPENDED] = True
    return row


@event.listens_for(Session, "after_commit")
def _tell_the_feed(session: Session) -> None:
    """Waiting long-polls answer as soon as the events are committed."""
    if session.info.pop(_APPENDED, False) and FEED in session.info:
        session.info[FEED].changed()


@event.listens_for(Session, "after_rollback")
def _forget_appended(session: Session) -> None:
    session.info.pop(_APPENDED, None)


# Built once (see db.py): every look at the feed (a long-poll, the webhook sender) runs it.
_AFTER = (
    select(Event)
    .where(Event.seq > bindparam("seq"))
    .order_by(Event.seq)
    .limit(bindparam("limit", type_=Integer))
)


async def after(session: AsyncSession, seq: int, limit: int) -> list[Event]:
    return list(await session.scalars(_AFTER, {"seq": seq, "limit": limit}))
