"""A migrated hub database of a test's own, and sessions on it, without broker or API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import ClauseElement, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db import make_engine, make_sessions
from hub.migrate import upgrade
from tests.services import temporary_database


@asynccontextmanager
async def migrated_sessions(concurrency: int) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions of the hub's kind on a fresh database at head (removed afterwards); the pool
    holds `concurrency` connections and a few more, as the hub's does."""
    async with temporary_database() as dsn:
        url = dsn.replace("postgresql://", "postgresql+asyncpg://")
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url, concurrency=concurrency)
        try:
            yield make_sessions(engine)
        finally:
            await engine.dispose()


async def rows_read(session: AsyncSession, statement: ClauseElement) -> dict[str, int]:
    """Run `statement` under EXPLAIN ANALYZE (on freshly analyzed tables): the rows each
    table's scans read, kept or filtered out, summed over the plan."""
    await session.execute(text("ANALYZE"))
    dialect = (await session.connection()).dialect
    sql = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    plan = await session.scalar(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"))
    return _read_by(plan[0]["Plan"])


def _read_by(node: dict[str, Any]) -> dict[str, int]:
    # PostgreSQL reports a scan's rows, and those its filter removed, per loop.
    read: dict[str, int] = {}
    if "Relation Name" in node:
        per_loop = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        read[node["Relation Name"]] = int(per_loop * node["Actual Loops"])
    for child in node.get("Plans", []):
        for table, rows in _read_by(child).items():
            read[table] = read.get(table, 0) + rows
    return read
