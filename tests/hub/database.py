"""A migrated hub database of a test's own, and sessions on it, without broker or API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
