"""Rows added with schemas.pending_rows are written when the unit of work would have written them:
at every flush (so before the session's next statement while autoflush is on) and before the
commit; a statement per table, parents before children; dropped with a rollback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import ForeignKey, event, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from schemas.pending_rows import MisusedRows, RowsSession, add_rows, pending_rows
from tests.services import temporary_database


class Base(DeclarativeBase):
    pass


class Parent(Base):
    __tablename__ = "parent"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Child(Base):
    __tablename__ = "child"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parent.id"))


@dataclass
class Database:
    sessions: async_sessionmaker[AsyncSession]
    inserts: list[str] = field(default_factory=list)  # INSERT statements sent, in order


@pytest.fixture
async def db() -> AsyncIterator[Database]:
    async with temporary_database() as dsn:
        engine = create_async_engine(dsn.replace("postgresql://", "postgresql+asyncpg://"))
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        database = Database(
            async_sessionmaker(engine, expire_on_commit=False, sync_session_class=RowsSession)
        )

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if statement.startswith("INSERT"):
                database.inserts.append(statement.split("(", maxsplit=1)[0].strip())

        yield database
        await engine.dispose()


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session, session.begin():
        yield session


def parents(*names: str) -> list[dict[str, Any]]:
    return [{"id": index, "name": name} for index, name in enumerate(names, start=1)]


async def count(session: AsyncSession, model: type[Base]) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_rows_are_written_at_the_commit_parents_before_children(db: Database) -> None:
    async with transaction(db.sessions) as session:
        add_rows(session, Child, [{"id": 1, "parent_id": 1}])  # added first, written second
        add_rows(session, Parent, parents("ủy ban"))
        assert db.inserts == []
    assert db.inserts == ["INSERT INTO parent", "INSERT INTO child"]
    async with db.sessions() as session:
        assert (await session.get(Parent, 1)) is not None and await count(session, Child) == 1


async def test_a_statement_in_the_same_transaction_sees_them(db: Database) -> None:
    async with transaction(db.sessions) as session:
        add_rows(session, Parent, parents("huyện", "xã"))
        assert await count(session, Parent) == 2
        assert pending_rows(session, Parent) == []


async def test_a_plain_sql_statement_sees_them_too(db: Database) -> None:
    async with transaction(db.sessions) as session:
        add_rows(session, Parent, parents("xã"))
        assert await session.scalar(text("SELECT count(*) FROM parent")) == 1
        assert db.inserts == ["INSERT INTO parent"]


async def test_rows_added_apart_go_in_one_statement_per_table(db: Database) -> None:
    async with transaction(db.sessions) as session:
        first, second = parents("huyện", "xã")
        add_rows(session, Parent, [first])
        add_rows(session, Parent, [second])
    assert db.inserts == ["INSERT INTO parent"]
    async with db.sessions() as session:
        assert await count(session, Parent) == 2


async def test_without_autoflush_they_wait_for_the_commit(db: Database) -> None:
    async with transaction(db.sessions) as session:
        add_rows(session, Parent, parents("tỉnh"))
        with session.no_autoflush:
            assert await count(session, Parent) == 0
        assert [row["name"] for row in pending_rows(session, Parent)] == ["tỉnh"]
    async with db.sessions() as session:
        assert await count(session, Parent) == 1


async def test_a_rollback_drops_them(db: Database) -> None:
    session = db.sessions()
    async with session:
        await session.begin()
        add_rows(session, Parent, parents("nhầm"))
        await session.rollback()
        assert pending_rows(session, Parent) == []
        async with session.begin():  # the next transaction of the same session writes nothing
            assert await count(session, Parent) == 0
    assert db.inserts == []


async def test_no_rows_no_statement(db: Database) -> None:
    async with transaction(db.sessions) as session:
        add_rows(session, Parent, [])
    assert db.inserts == []
    async with db.sessions() as session:
        assert await count(session, Parent) == 0  # an INSERT without values would write a row


async def test_an_explicit_flush_writes_them(db: Database) -> None:
    async with transaction(db.sessions) as session:
        add_rows(session, Parent, parents("huyện"))
        await session.flush()
        assert db.inserts == ["INSERT INTO parent"]
        with session.no_autoflush:
            assert await count(session, Parent) == 1


async def test_rows_that_could_be_written_wrong_are_refused(db: Database) -> None:
    async with transaction(db.sessions) as session:
        add_rows(session, Parent, parents("huyện"))
        with pytest.raises(MisusedRows, match="rows of Parent name different columns"):
            add_rows(session, Parent, [{"id": 2}])  # its name would silently be left out
        async with session.begin_nested():
            with pytest.raises(MisusedRows, match="not for savepoints"):
                add_rows(session, Parent, parents("xã"))
    plain = async_sessionmaker(db.sessions.kw["bind"])
    async with plain() as session, session.begin():
        with pytest.raises(MisusedRows, match="sync_session_class is RowsSession"):
            add_rows(session, Parent, parents("tỉnh"))
