"""The audit chain on PostgreSQL: a transaction's entries are chained when it commits, so one
that is still working holds no lock over the others, and the chain stays whole whatever the
order of the commits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import audit
from hub.models import AttachmentPossession, AuditEntry
from tests.hub.database import migrated_sessions

# A commit that waits for another transaction's lock would wait until that one ends, which
# the test below only lets happen after this long: far beyond a commit's own time.
NOT_BLOCKED_S = 10


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated_sessions(concurrency=2) as made:
        yield made


async def _chain(sessions: async_sessionmaker[AsyncSession]) -> list[AuditEntry]:
    async with sessions() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _entry(subject: str) -> audit.Entry:
    return audit.Entry("accept", "000.04.29.H40", subject, {"n": subject})


async def test_an_open_transaction_with_entries_does_not_hold_up_another_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as slow, slow.begin():
        audit.append_many(slow, [_entry("slow-1"), _entry("slow-2")])
        await slow.flush()  # its other work goes on: the entries wait for the commit
        async with sessions() as quick, quick.begin():
            audit.append(quick, "deliver", "hub", "quick", {"recipients": ["000.00.29.H40"]})
            await asyncio.wait_for(quick.commit(), NOT_BLOCKED_S)
    chain = await _chain(sessions)
    assert [entry.subject for entry in chain] == ["quick", "slow-1", "slow-2"]
    assert chain[0].previous_hash == audit.GENESIS
    assert [entry.previous_hash for entry in chain[1:]] == [entry.hash for entry in chain[:-1]]
    async with sessions() as session:
        check = await audit.verify_chain(session)
    assert (check.entries, check.broken_at) == (3, None)


async def test_concurrent_transactions_build_one_chain(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def write(n: int) -> None:
        async with sessions() as session, session.begin():
            audit.append_many(session, [_entry(f"{n}-a"), _entry(f"{n}-b")])
            await asyncio.sleep(0.001 * (n % 3))  # commits in another order than begun

    await asyncio.gather(*(write(n) for n in range(12)))
    chain = await _chain(sessions)
    assert len(chain) == 24
    subjects = [entry.subject for entry in chain]
    for n in range(12):  # a transaction's entries follow each other, in the order added
        assert subjects.index(f"{n}-b") == subjects.index(f"{n}-a") + 1
    async with sessions() as session:
        assert (await audit.verify_chain(session)).broken_at is None


async def test_entries_of_a_rolled_back_transaction_are_not_written(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        async with session.begin():
            audit.append(session, "refuse", "000.04.29.H40", "dropped", {})
            await session.rollback()
        async with session.begin():  # the same session's next transaction starts clean
            audit.append(session, "accept", "000.04.29.H40", "kept", {})
    assert [entry.subject for entry in await _chain(sessions)] == ["kept"]


async def test_entries_need_a_hub_session_and_no_savepoint(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    plain = async_sessionmaker(sessions.kw["bind"])
    async with plain() as session, session.begin():
        with pytest.raises(audit.MisusedAudit, match="session of the hub's"):
            audit.append(session, "accept", "hub", "lost", {})
    async with sessions() as session, session.begin(), session.begin_nested():
        with pytest.raises(audit.MisusedAudit, match="not for savepoints"):
            audit.append(session, "accept", "hub", "lost", {})
    async with sessions() as session:
        with pytest.raises(audit.MisusedAudit, match="need a transaction begun"):
            audit.append(session, "accept", "hub", "lost", {})
    async with sessions() as session, session.begin():
        audit.append(session, "accept", "hub", "kept", {})
        with pytest.raises(audit.MisusedAudit, match="no savepoint may begin"):
            await session.begin_nested()  # its release would write the entry inside it
    assert [entry.subject for entry in await _chain(sessions)] == ["kept"]


async def test_the_chain_lock_is_the_last_lock_a_commit_takes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A transaction whose commit must wait for a row another one holds does not take the
    chain's lock before: the holder, committing its own entries, is not held up by it."""
    held = {"agency_code": "000.04.29.H40", "sha256": "ab" * 32}
    async with sessions() as first, first.begin():
        first.add(AttachmentPossession(**held))
        await first.flush()  # its key is now taken until `first` ends
        audit.append(first, "upload", "000.04.29.H40", "first", {})
        async with sessions() as second:

            async def second_commits() -> None:
                async with second.begin():
                    second.add(AttachmentPossession(**held))  # written by its commit: waits
                    audit.append(second, "upload", "000.04.29.H40", "second", {})

            waiting = asyncio.create_task(second_commits())
            await _until_a_backend_waits_for_a_lock(sessions)  # `second`, for the key
            await asyncio.wait_for(first.commit(), NOT_BLOCKED_S)
            with pytest.raises(IntegrityError):  # the same key: not a deadlock
                await waiting
    assert [entry.subject for entry in await _chain(sessions)] == ["first"]


_LOCK_WAITS = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def _until_a_backend_waits_for_a_lock(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with asyncio.timeout(NOT_BLOCKED_S):
        while True:
            async with sessions() as session:
                if await session.scalar(_LOCK_WAITS):
                    return
            await asyncio.sleep(0.01)
