"""Assembling a running adapter: store, broker connection, keys, workers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agency_adapter.broker import AdapterBroker
from agency_adapter.context import AdapterContext, load_context
from agency_adapter.db import make_engine, make_sessions
from agency_adapter.settings import AdapterSettings
from agency_adapter.workers import Workers
from schemas.migration_child import upgrade_in_child


@dataclass
class AdapterRuntime:
    ctx: AdapterContext
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: AdapterBroker
    workers: Workers

    @classmethod
    async def start(cls, settings: AdapterSettings) -> AdapterRuntime:
        """Migrate the store, load keys and trust, connect to the broker."""
        await upgrade_in_child("agency_adapter.migrate", settings.database_url)
        ctx = await load_context(settings)
        engine = make_engine(settings.database_url)
        sessions = make_sessions(engine)
        broker = AdapterBroker(settings)
        await broker.connect()
        return cls(ctx, engine, sessions, broker, Workers(ctx, sessions, broker))

    async def close(self) -> None:
        await self.broker.close()
        await self.engine.dispose()
