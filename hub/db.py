"""The hub's database: one async engine per process, sessions whose owner commits.

The edge (a request dependency or the consumer wrapper) owns each transaction; code below
it only flushes.

Statements that every message runs are module constants built once, with bound parameters:
SQLAlchemy spends more building a statement and computing its cache key than running it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from schemas.pending_rows import RowsSession

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str, concurrency: int = 16) -> AsyncEngine:
    """`concurrency`: intake messages handled at once. Each holds a connection, and the pool
    keeps that many and a few more open: a connection beyond the pool is opened and closed
    again for one transaction, which under load costs more than the transaction."""
    # No ping before each checkout: it is a round trip per transaction, about a tenth of an
    # intake message's. A connection lost with a restart of PostgreSQL fails its first
    # statement instead, which invalidates the whole pool: the intake consumer waits and
    # takes the message again, a request hears 503 (see `database_away`).
    return create_async_engine(url, pool_size=concurrency + 4, max_overflow=concurrency // 2)


_UNAVAILABLE_CLASSES = {"08", "53", "57", "58"}
_NOT_ACCEPTING = "55000"  # "database ... is not currently accepting connections"


def unusable_database(error: Exception) -> str | None:
    """What a command or the serving hub says when the database cannot be used; None for an
    error of another kind."""
    if not isinstance(error, DBAPIError | OSError):
        return None
    reason = getattr(error, "orig", None) or error
    return f"cannot use the database (LIENTHONG_DATABASE_URL): {reason}"


def database_away(error: DBAPIError) -> bool:
    """Connection-level failures (no SQLSTATE, or classes 08, 53, 57, 58, or 'not accepting
    connections'); errors about the data or the SQL are no reason to wait."""
    if error.connection_invalidated or isinstance(error, OperationalError | InterfaceError):
        return True
    cause = getattr(error.orig, "driver_exception", None) or error.orig
    state = getattr(cause, "sqlstate", None)
    return state is None or state[:2] in _UNAVAILABLE_CLASSES or state == _NOT_ACCEPTING


class HubSession(RowsSession):
    """The hub's sessions: rows added with `add_rows` (schemas.pending_rows), and audit
    entries, which `hub.audit` writes at the commit."""


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=HubSession)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: committed when the block ends, rolled back when it raises."""
    async with sessions() as session, session.begin():
        yield session
