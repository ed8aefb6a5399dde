"""An adapter's store on its own, for tests of what happens inside it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import ClauseElement
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler

from agency_adapter.db import make_engine, make_sessions, transaction
from agency_adapter.models import Document
from tests.services import temporary_database

Sessions = async_sessionmaker[AsyncSession]


@asynccontextmanager
async def store_url(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty store: a SQLite file, or a PostgreSQL database of its own."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/store.db"
        return
    async with temporary_database() as dsn:
        yield dsn.replace("postgresql://", "postgresql+asyncpg://")


@asynccontextmanager
async def store_at(url: str) -> AsyncIterator[Sessions]:
    """Sessions on the store at `url`, its connections closed on exit."""
    engine = make_engine(url)
    try:
        yield make_sessions(engine)
    finally:
        await engine.dispose()


async def add_document(sessions: Sessions) -> Document:
    document = Document(
        box="inbox", envelope_id=str(uuid.uuid4()), sender_code="000.04.29.H40",
        recipients=["000.00.29.H40"], state="received", body=b"<edXML/>",
    )  # fmt: skip
    async with transaction(sessions) as session:
        session.add(document)
    return document


async def query_plan(sessions: Sessions, statement: ClauseElement) -> list[str]:
    """SQLite's plan for a statement, one step a line (its parameters do not change it)."""
    async with sessions() as session:
        connection = await session.connection()
        # Expanding lists (IN ...) rendered with their values, one "?" each.
        compiled = statement.compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        assert isinstance(compiled, SQLCompiler)
        unbound = (None,) * len(compiled.positiontup or ())
        plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", unbound)
        return [str(step["detail"]) for step in plan.mappings()]
