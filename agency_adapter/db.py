"""The adapter's store: SQLite by default (WAL, nothing to install), PostgreSQL when the URL
says so. The edge (request dependency, consumer wrapper, relay) owns each transaction.

Statements that every message runs are module constants built once, with bound parameters:
SQLAlchemy spends more building a statement and computing its cache key than running it (a
received document's two look-ups: 743 -> 164 us).
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from sqlalchemy import Connection, MetaData, event, make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from agency_adapter import sqlite_driver
from agency_adapter.feed_signal import FeedSignal
from schemas.pending_rows import RowsSession

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# An execution option: a unit of work that writes begins IMMEDIATE on SQLite, taking the
# write lock with its first statement. Left to the driver, a transaction begins (deferred) at
# its first write, and one that read before it fails at once ("database is locked", no busy
# wait) when another connection committed in between, which concurrent requests do all the
# time. Other sessions keep the driver's way; PostgreSQL ignores the option.
SQLITE_IMMEDIATE = "lienthong_sqlite_immediate"
BUSY_TIMEOUT_S = 10  # how long a statement waits for another connection's write lock


def _sqlite_pragmas(connection: Any, _: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA foreign_keys=ON")
    # Content deleted on mistake is overwritten on disk, not left in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    if connection.get_execution_options().get(SQLITE_IMMEDIATE):
        # The driver sees the open transaction and begins none of its own.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = make_url(url).database or ""
        engine = create_async_engine(
            url,
            async_creator=partial(
                sqlite_driver.connect, path, BUSY_TIMEOUT_S, sqlite_driver.Writers()
            ),
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


FEED = "lienthong_feed"  # in each session's info: the FeedSignal of its engine's store


def make_sessions(engine: AsyncEngine, feed: FeedSignal | None = None,
                  ) -> async_sessionmaker[AsyncSession]:  # fmt: skip
    """Sessions that write rows added with `schemas.pending_rows.add_rows` as well."""
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=RowsSession,
                              info={FEED: feed or FeedSignal()})  # fmt: skip


def feed_of(sessions: async_sessionmaker[AsyncSession]) -> FeedSignal:
    """What the sessions' commits that appended events tell the feed's long-polls."""
    signal = sessions.kw.get("info", {}).get(FEED)
    if not isinstance(signal, FeedSignal):
        raise TypeError("these sessions were not made by db.make_sessions: they have no feed")
    return signal


async def forget_purged(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """After content was purged: on SQLite, fold the write-ahead log (which still holds the
    old pages) into the database and truncate it; False if a reader kept it busy (try again
    later). PostgreSQL reclaims old row versions by vacuum."""
    async with sessions() as session:
        if session.get_bind().dialect.name != "sqlite":
            return True
        busy, _, _ = (await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).one()
        return not busy


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work that writes: committed when the block ends, rolled back when it
    raises; on SQLite it holds the write lock from its first statement to its end."""
    async with writing(sessions)() as session, session.begin():
        yield session


_writers: weakref.WeakKeyDictionary[
    async_sessionmaker[AsyncSession], async_sessionmaker[AsyncSession]
] = weakref.WeakKeyDictionary()


def writing(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions like `sessions` whose transactions begin IMMEDIATE on SQLite, taking the
    write lock with their first statement (not before: a request streams its body first)."""
    if (writer := _writers.get(sessions)) is None:
        engine: AsyncEngine = sessions.kw["bind"]
        writer = make_sessions(
            engine.execution_options(**{SQLITE_IMMEDIATE: True}), feed_of(sessions)
        )
        _writers[sessions] = writer
    return writer
