"""The metrics' counts of the whole history on PostgreSQL: what a process keeps of the settled
past plus what it counts afresh is always a full count, however transactions interleave with
the scrapes."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.models import Envelope, TimelineEvent
from hub.tally import HistoryTally, Latency, accepted_between, latency_between
from tests.hub.database import migrated_sessions

Sessions = async_sessionmaker[AsyncSession]
HUB, COMMUNE, DISTRICT = "000.00.00.H40.hub", "000.04.29.H40", "000.00.29.H40"
# The tally keeps what was stamped over a second before the oldest open transaction began.
SETTLING_S = 1.5


@pytest.fixture
async def sessions() -> AsyncIterator[Sessions]:
    async with migrated_sessions(concurrency=4) as made:
        yield made


def _envelope(kind: str = "document", sender: str = COMMUNE, business: int | None = 0) -> Envelope:
    ident = str(uuid.uuid4())
    return Envelope(
        id=uuid.uuid4(), envelope_id=ident, kind=kind, sender_code=sender,
        business_type=business if kind == "document" else None,
        sha256=hashlib.sha256(ident.encode()).hexdigest(), size=1, body=b"<edXML/>",
    )  # fmt: skip


def _answer(document: Envelope, recipient: str = DISTRICT) -> TimelineEvent:
    return TimelineEvent(document_pk=document.id, recipient_code=recipient, event="status",
                         status_code="01", source_envelope_id=str(uuid.uuid4()))  # fmt: skip


def _deletion(target: Envelope) -> list[object]:
    """A revocation that deletes: the target's timeline says so, not the envelope."""
    revocation = _envelope(business=1)
    said = TimelineEvent(
        document_pk=target.id, recipient_code=DISTRICT, event="delete-requested",
        source_envelope_id=revocation.envelope_id,
    )  # fmt: skip
    return [revocation, said]


async def _commit(sessions: Sessions, *rows: object) -> None:
    async with sessions() as session, session.begin():
        session.add_all(rows)


Counts = tuple[dict[tuple[str, str], int], Latency]


def _same(tallied: Counts, full: Counts) -> bool:
    """The same counts; the latency's sum to a microsecond (added up in another order)."""
    (accepted, latency), (all_accepted, all_latency) = tallied, full
    return (accepted, latency.buckets, latency.count) == (
        all_accepted,
        all_latency.buckets,
        all_latency.count,
    ) and latency.total_s == pytest.approx(all_latency.total_s, abs=1e-6)


async def _full_count(sessions: Sessions) -> Counts:
    async with sessions() as session:
        return await accepted_between(session, HUB, None, None), await latency_between(
            session, None, None
        )


async def _tally(
    sessions: Sessions, tally: HistoryTally
) -> tuple[dict[tuple[str, str], int], Latency]:
    async with sessions() as session:
        return await tally.counts(session, HUB)


async def test_a_transaction_open_across_scrapes_is_counted_once_it_commits(
    sessions: Sessions,
) -> None:
    tally, first, second = HistoryTally(), _envelope(), _envelope()
    await _commit(sessions, first, second, _envelope("status", DISTRICT), _envelope(sender=HUB))
    await _commit(sessions, _answer(first), _answer(first), _answer(second, COMMUNE))
    assert _same(await _tally(sessions, tally), await _full_count(sessions))
    async with sessions() as slow, slow.begin():
        late = _envelope()
        slow.add_all([late, _answer(second)])
        await slow.flush()  # stamped now, committed after the scrapes below
        await asyncio.sleep(SETTLING_S)  # long enough for a careless tally to settle past it
        await _commit(sessions, _envelope(business=2), _answer(first, COMMUNE), *_deletion(first))
        assert _same(await _tally(sessions, tally), await _full_count(sessions))
        await asyncio.sleep(SETTLING_S)
        assert _same(await _tally(sessions, tally), await _full_count(sessions))
    accepted, latency = await _tally(sessions, tally)
    assert _same((accepted, latency), await _full_count(sessions))
    assert accepted == {("document", "new"): 3, ("document", "update"): 1, ("status", ""): 1,
                        ("document", "delete"): 1}  # fmt: skip
    assert latency.count == 4  # first and second, each by the district and by the commune


async def test_the_latency_is_that_of_each_recipients_first_01(sessions: Sessions) -> None:
    document = _envelope()
    await _commit(sessions, document)
    await _commit(sessions, _answer(document))
    await asyncio.sleep(0.3)
    await _commit(sessions, _answer(document))  # a second 01 from the same recipient
    _, latency = await _tally(sessions, HistoryTally())
    async with sessions() as session:
        first = await session.scalar(select(func.min(TimelineEvent.at)))
        received = await session.scalar(select(Envelope.received_at))
    assert first is not None and received is not None
    assert latency.count == 1
    assert latency.total_s == pytest.approx((first - received).total_seconds(), abs=1e-3)
    assert latency.buckets[-1] == 1


async def test_scrapes_at_once_each_give_the_full_count(sessions: Sessions) -> None:
    tally = HistoryTally()
    documents = [_envelope() for _ in range(5)]
    await _commit(sessions, *documents)
    await _commit(sessions, *map(_answer, documents))
    await asyncio.sleep(SETTLING_S)  # all of it settled: each scrape below may count it
    together = await asyncio.gather(*(_tally(sessions, tally) for _ in range(4)))
    full = await _full_count(sessions)
    assert all(_same(counts, full) for counts in together)
    assert _same(await _tally(sessions, tally), full)
    assert full[1].count == 5
