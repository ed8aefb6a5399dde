"""Long-polls and the webhook wake when this process commits events, not at their next look."""

from __future__ import annotations

import asyncio

import pytest

from agency_adapter import events
from agency_adapter.db import feed_of, transaction
from agency_adapter.feed_signal import FeedSignal
from tests.agency_adapter.adapter_stack import Adapter
from tests.agency_adapter.codes import DISTRICT
from tests.agency_adapter.documents import decision, send
from tests.agency_adapter.store import Sessions, add_document
from tests.hub.hub_stack import HubStack


class Refused(Exception):
    pass


async def append_then_fail(sessions: Sessions) -> None:
    with pytest.raises(Refused):
        async with transaction(sessions) as session:
            await events.append(session, "document.received", None, {})
            await session.flush()
            raise Refused


async def test_only_a_commit_that_appended_events_moves_the_feed(sessions: Sessions) -> None:
    feed = feed_of(sessions)
    start = feed.generation
    await add_document(sessions)  # a commit with no event
    await append_then_fail(sessions)  # events appended, then rolled back
    assert feed.generation == start
    async with transaction(sessions) as session:
        await events.append(session, "document.received", None, {})
        await events.append(session, "status.received", None, {})
    assert feed.generation == start + 1


async def test_a_waiter_wakes_at_the_commit_and_a_late_one_does_not_wait(
    sessions: Sessions,
) -> None:
    feed = feed_of(sessions)
    seen = feed.generation
    waiter = asyncio.create_task(feed.wait(seen, timeout_s=60))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    async with transaction(sessions) as session:
        await events.append(session, "document.received", None, {})
    await asyncio.wait_for(waiter, 5)  # woken, not after its 60 s
    await asyncio.wait_for(feed.wait(seen, timeout_s=60), 5)  # it moved while this looked away


async def test_a_wait_with_nothing_committed_ends_at_its_timeout() -> None:
    feed = FeedSignal()
    waiter = asyncio.create_task(feed.wait(feed.generation, timeout_s=0.05))
    await asyncio.wait_for(waiter, 5)
    assert waiter.result() is None
    assert feed.generation == 0


async def test_a_long_poll_answers_with_the_event_committed_while_it_waits(
    pair: tuple[HubStack, Adapter, Adapter], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, commune, district = pair
    monkeypatch.setattr(events, "POLL_S", 120.0)  # only the signal can answer it within the test
    after = max((event["seq"] for event in await district.events()), default=0)
    poll = asyncio.create_task(district.events(after=after, wait=60))
    await asyncio.sleep(0.1)
    assert not poll.done()  # it found nothing, and waits

    await send(commune, decision(DISTRICT, subject="V/v báo cáo nhanh"))
    found = await asyncio.wait_for(poll, 30)
    assert [event["type"] for event in found] == ["document.received"]
    assert found[0]["seq"] > after
