"""Rows written with plain INSERTs, a statement per table for everything added before the
session's next flush or its commit: the timing of the unit of work, without its bookkeeping.

Rows that nothing reads back as objects in the same transaction go this way: the hub's
accepted envelopes (the envelope, its deliveries, its timeline events, the files it carries);
an adapter's sent documents (with their files outside the package), its received first
versions (the document, those files, its 01), its outbox rows, the statuses it receives and
its feed's events. As ORM objects they cost more CPU in the unit of work (state, cascades,
identity map, the sort) than the INSERTs themselves: about 0.6 ms per message. Added here
instead, they are written exactly when the session would have flushed objects: at every
flush, so by the autoflush before each statement the session executes unless autoflush is
off (a plain Core statement, `text()` or a Table's insert, flushes too: SQLAlchemy
autoflushes before every statement), and before the commit. Each table's rows go in one
round trip (executemany), in the order added, parents first, and before the session's own
objects: an object may refer to a row, never a row to an object not written yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, cast

from sqlalchemy import Insert, Table, event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction

Row = dict[str, Any]
_PENDING = "lienthong.pending_rows"  # in Session.info: {table: [row, ...]}, in order added


class RowsSession(Session):
    """The `sync_session_class` of the hub's and the adapters' sessions: rows added with
    `add_rows` are written at every flush (so by the autoflush before each statement, unless
    it is off) and before the commit, and dropped with a rollback."""

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        _write(self)
        super().flush(objects)


class MisusedRows(RuntimeError):
    """`add_rows` used where its rows could be lost or written wrong: a programming error."""


def add_rows(session: AsyncSession, model: type[DeclarativeBase], rows: Iterable[Row]) -> None:
    """Write these rows of `model`'s table with the session's next flush or its commit.
    Rows of one table must name the same columns: one statement carries them all, and takes
    its columns from the first row."""
    if not (rows := list(rows)):  # none: no statement (an INSERT without values writes a row)
        return
    if not isinstance(session.sync_session, RowsSession):
        raise MisusedRows("add_rows needs a session whose sync_session_class is RowsSession")
    if session.in_nested_transaction():  # a savepoint's rollback would not drop them
        raise MisusedRows("add_rows is not for savepoints")
    pending: dict[Table, list[Row]] = session.info.setdefault(_PENDING, {})
    table = pending.setdefault(table_of(model), [])
    columns = (table or rows)[0].keys()
    if any(row.keys() != columns for row in rows):
        raise MisusedRows(f"rows of {model.__name__} name different columns")
    table.extend(rows)


def pending_rows(session: AsyncSession, model: type[DeclarativeBase]) -> list[Row]:
    """Rows of `model`'s table added and not written yet."""
    pending: dict[Table, list[Row]] = session.info.get(_PENDING, {})
    return pending.get(table_of(model), [])


def table_of(model: type[DeclarativeBase]) -> Table:
    """The model's table, for Core statements that skip the ORM's work around each one (an
    ORM UPDATE, for one, evaluates its criteria against the session's objects every time)."""
    return cast(Table, model.__table__)


def _write(session: Session) -> None:
    # Taken out first: the INSERTs below are statements of this session too. Without
    # autoflush, they go before the session's objects, which may refer to them.
    pending: dict[Table, list[Row]] = session.info.pop(_PENDING, None) or {}
    with session.no_autoflush:
        for table in sorted(pending, key=_dependency_rank):
            session.execute(_insert(table), pending[table])


@cache
def _insert(table: Table) -> Insert:
    return insert(table)  # built once: SQLAlchemy caches what it compiles from it


@cache
def _dependency_rank(table: Table) -> int:
    """Where foreign keys put the table (an envelope before its deliveries)."""
    return table.metadata.sorted_tables.index(table)


@event.listens_for(RowsSession, "before_commit")
def _before_commit(session: Session) -> None:
    _write(session)  # the commit calls flush only while the session holds objects


@event.listens_for(RowsSession, "after_transaction_end")
def _after_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (written already) or rolled back (dropped)
        session.info.pop(_PENDING, None)
