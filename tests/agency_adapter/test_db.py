"""The adapter's SQLite store under concurrent writers (a real file, WAL mode)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from agency_adapter import events
from agency_adapter.db import forget_purged, transaction
from agency_adapter.models import Event
from tests.agency_adapter.store import Sessions


async def _append(sessions: Sessions, type_: str, read: asyncio.Event | None = None) -> None:
    """One writing unit of work that reads first; with `read`, it says so and dawdles a
    little before it writes (another writer tries to commit meanwhile)."""
    async with transaction(sessions) as session:
        await session.scalar(select(func.count()).select_from(Event))
        if read is not None:
            read.set()
            await asyncio.sleep(0.3)
        await events.append(session, type_, None, {})


async def test_a_writer_that_read_first_is_not_refused_when_another_writes_meanwhile(
    sessions: Sessions,
) -> None:
    # A deferred transaction would fail at its first write with "database is locked" (the
    # other one committed after it read); a writing one holds the lock, so the other waits.
    read = asyncio.Event()
    first = asyncio.create_task(_append(sessions, "first", read))
    await read.wait()
    await asyncio.gather(first, _append(sessions, "second"))
    async with sessions() as session:
        written = list(await session.scalars(select(Event.type).order_by(Event.seq)))
    assert written == ["first", "second"]


async def test_many_concurrent_writers_all_commit_in_order(sessions: Sessions) -> None:
    await asyncio.gather(*(_append(sessions, f"e{n}") for n in range(40)))
    async with sessions() as session:
        written = list(await session.scalars(select(Event.type).order_by(Event.seq)))
    assert sorted(written) == sorted(f"e{n}" for n in range(40))


async def test_the_write_ahead_log_is_folded_outside_any_transaction(sessions: Sessions) -> None:
    await _append(sessions, "before")
    assert await forget_purged(sessions) is True
