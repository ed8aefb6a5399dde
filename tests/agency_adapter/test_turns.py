"""Turn-taking at the mailbox: one at a time, urgent ones first, cancellation never wedges it."""

from __future__ import annotations

import asyncio

from agency_adapter.turns import Turns


async def _take(turns: Turns, name: str, urgent: bool, log: list[str], gate: asyncio.Event) -> None:
    async with turns.turn(urgent=urgent):
        log.append(f"+{name}")
        await gate.wait()
        log.append(f"-{name}")


async def test_one_at_a_time_and_urgent_waiters_go_first() -> None:
    turns, log, gate = Turns(), list[str](), asyncio.Event()
    tasks = [asyncio.create_task(_take(turns, "doc1", False, log, gate))]
    await asyncio.sleep(0)
    for name, urgent in (("doc2", False), ("recall", True), ("doc3", False)):
        tasks.append(asyncio.create_task(_take(turns, name, urgent, log, gate)))
    await asyncio.sleep(0.01)
    assert log == ["+doc1"]  # the others wait
    gate.set()
    await asyncio.gather(*tasks)
    assert log == ["+doc1", "-doc1", "+recall", "-recall", "+doc2", "-doc2", "+doc3", "-doc3"]


async def test_a_cancelled_waiter_does_not_keep_the_turn() -> None:
    turns, log, gate = Turns(), list[str](), asyncio.Event()
    first = asyncio.create_task(_take(turns, "first", False, log, gate))
    await asyncio.sleep(0)
    gone = asyncio.create_task(_take(turns, "gone", True, log, gate))
    last = asyncio.create_task(_take(turns, "last", False, log, gate))
    await asyncio.sleep(0.01)
    gone.cancel()
    gate.set()
    await asyncio.gather(first, last)
    assert gone.cancelled() and log == ["+first", "-first", "+last", "-last"]
    async with asyncio.timeout(1):
        async with turns.turn(urgent=False):  # free again
            pass
