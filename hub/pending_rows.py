"""Rows written with plain INSERTs, a statement per table for everything added before the
session's next statement or its commit: the timing of the unit of work, without its
bookkeeping.

The intake records every accepted envelope with rows it never reads back in the same
transaction (the envelope, its deliveries, its timeline events, the files it carries). As
ORM objects they cost more CPU in the unit of work (state, cascades, identity map, the sort)
than the INSERTs themselves: about 0.6 ms per message. Added here instead, they are written
exactly when the session would have flushed them: before any statement it runs while
autoflush is on (so a query in the same transaction sees them), and before the commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any, cast

from sqlalchemy import Insert, Table, event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, SessionTransaction

Row = dict[str, Any]
_PENDING = "lienthong.pending_rows"  # in Session.info: {table: [row, ...]}, in order added


class HubSession(Session):
    """The hub's sessions: rows added with `add_rows` are written before the session's next
    statement (unless autoflush is off) and before its commit, and dropped with a rollback."""


def add_rows(session: AsyncSession, model: type[DeclarativeBase], rows: Iterable[Row]) -> None:
    """Write these rows of `model`'s table with the session's next statement or its commit.
    Rows of one table must name the same columns (one statement carries them all)."""
    if rows := list(rows):  # none: no statement (an INSERT without values writes a row)
        pending: dict[Table, list[Row]] = session.info.setdefault(_PENDING, {})
        pending.setdefault(_table(model), []).extend(rows)


def pending_rows(session: AsyncSession, model: type[DeclarativeBase]) -> list[Row]:
    """Rows of `model`'s table added and not written yet."""
    pending: dict[Table, list[Row]] = session.info.get(_PENDING, {})
    return pending.get(_table(model), [])


def _table(model: type[DeclarativeBase]) -> Table:
    return cast(Table, model.__table__)


def _write(session: Session) -> None:
    # Taken out first: the INSERTs below are statements of this session too.
    pending: dict[Table, list[Row]] = session.info.pop(_PENDING, None) or {}
    for table in sorted(pending, key=_dependency_rank):
        session.execute(_insert(table), pending[table])


@cache
def _insert(table: Table) -> Insert:
    return insert(table)  # built once (see hub/db.py)


@cache
def _dependency_rank(table: Table) -> int:
    """Where foreign keys put the table (an envelope before its deliveries)."""
    return table.metadata.sorted_tables.index(table)


@event.listens_for(HubSession, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    if state.session.autoflush:
        _write(state.session)


@event.listens_for(HubSession, "before_commit")
def _before_commit(session: Session) -> None:
    _write(session)


@event.listens_for(HubSession, "after_transaction_end")
def _after_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (written already) or rolled back (dropped)
        session.info.pop(_PENDING, None)
