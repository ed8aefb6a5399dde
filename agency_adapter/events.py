"""The ordered event feed: every change a local system must hear of, appended in order."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Integer, bindparam, event, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from agency_adapter.db import FEED, feed_of
from agency_adapter.models import Document, Event
from schemas.pending_rows import add_rows, table_of

_FEED_LOCK = 0x66656564  # 'feed'
_LOCK_FEED = text("SELECT pg_advisory_xact_lock(:id)")  # built once (see db.py)
# A waiting long-poll is woken by this process's commits (FeedSignal); it also looks at the
# store this often, for events another process wrote.
POLL_S = 0.5
_APPENDED = "lienthong_appended"  # in a session's info: it appended events not yet committed


async def append(
    session: AsyncSession, type_: str, document: Document | None, payload: dict[str, object]
) -> None:
    """Append an event, written with the caller's next flush or its commit as a plain
    INSERT (schemas.pending_rows): every event goes that way, so events are written in the
    order they were appended. On PostgreSQL appends are serialised until commit, so that
    events become visible in seq order and a reader polling `after=` never skips one (SQLite
    has a single writer anyway)."""
    await _serialise(session)  # first: a flush below takes row locks, which must not wait on it
    if document is not None and inspect(document).pending:  # (session.new copies every object)
        await session.flush()  # the row must not go before the document it names
    _add(session, type_, document.id if document else None, payload)


async def append_about(session: AsyncSession, type_: str, document_pk: uuid.UUID | None,
                       payload: dict[str, object]) -> None:  # fmt: skip
    """`append`, naming a document written as a row (schemas.pending_rows: its row goes
    first, being added first) or one in the database already."""
    await _serialise(session)
    _add(session, type_, document_pk, payload)


async def _serialise(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_LOCK_FEED, {"id": _FEED_LOCK})


def _add(session: AsyncSession, type_: str, document_pk: uuid.UUID | None,
         payload: dict[str, object]) -> None:  # fmt: skip
    session.info[_APPENDED] = True
    add_rows(session, Event, [{"type": type_, "document_pk": document_pk, "payload": payload}])


@event.listens_for(Session, "after_commit")
def _tell_the_feed(session: Session) -> None:
    """Waiting long-polls answer as soon as the events are committed."""
    if session.info.pop(_APPENDED, False) and FEED in session.info:
        session.info[FEED].changed()


@event.listens_for(Session, "after_rollback")
def _forget_appended(session: Session) -> None:
    session.info.pop(_APPENDED, None)


# Built once (see db.py): every look at the feed (a long-poll) runs it. The columns a reader
# is given, from the table: building Event objects cost about twice the CPU of the read.
_EVENT = table_of(Event)
_AFTER = (
    select(_EVENT.c.seq, _EVENT.c.type, _EVENT.c.document_pk, _EVENT.c.payload, _EVENT.c.created_at)
    .where(_EVENT.c.seq > bindparam("seq"))
    .order_by(_EVENT.c.seq)
    .limit(bindparam("limit", type_=Integer))
)


class FeedEntry(NamedTuple):
    seq: int
    type: str
    document_pk: uuid.UUID | None
    payload: dict[str, object]
    created_at: datetime


async def after(session: AsyncSession, seq: int, limit: int) -> list[FeedEntry]:
    return [FeedEntry(*row) for row in await session.execute(_AFTER, {"seq": seq, "limit": limit})]


async def wait_after(sessions: async_sessionmaker[AsyncSession], seq: int, limit: int,
                     wait_s: float) -> list[FeedEntry]:  # fmt: skip
    """Events after `seq`; if there are none yet, wait up to `wait_s` for some: woken by this
    process's commits that append events, and looking every POLL_S for other processes'."""
    clock, feed = asyncio.get_running_loop().time, feed_of(sessions)
    deadline = clock() + wait_s
    while True:
        seen = feed.generation
        async with sessions() as session:
            found = await after(session, seq, limit)
        if found or clock() >= deadline:
            return found
        await feed.wait(seen, min(POLL_S, deadline - clock()))
