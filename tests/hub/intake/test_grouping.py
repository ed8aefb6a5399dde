"""Grouping deliveries of messages admitted at about the same time (plain asyncio)."""

from __future__ import annotations

import asyncio

import pytest

from hub.intake.grouping import Grouped


class Recorder:
    """Work that remembers each run's items; the first run waits until it is released."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.runs: list[list[str]] = []
        self.release = asyncio.Event()
        self.fail_on = fail_on

    async def __call__(self, items: list[str]) -> None:
        self.runs.append(items)
        if len(self.runs) == 1:
            await self.release.wait()
        if self.fail_on in items:
            raise RuntimeError(f"run with {self.fail_on} failed")


async def test_a_lone_caller_is_served_at_once() -> None:
    work = Recorder()
    work.release.set()
    await asyncio.wait_for(Grouped(work).submit(["a"]), timeout=1)
    assert work.runs == [["a"]]


async def test_callers_arriving_during_a_run_share_the_next_one() -> None:
    work = Recorder()
    grouped = Grouped(work)
    first = asyncio.create_task(grouped.submit(["a"]))
    await asyncio.sleep(0)  # the first run has started and waits
    later = [asyncio.create_task(grouped.submit([name])) for name in ("b", "c", "d")]
    await asyncio.sleep(0)
    work.release.set()
    await asyncio.wait_for(asyncio.gather(first, *later), timeout=1)
    assert work.runs == [["a"], ["b", "c", "d"]]


async def test_a_failed_run_fails_its_callers_only() -> None:
    work = Recorder(fail_on="b")
    grouped = Grouped(work)
    first = asyncio.create_task(grouped.submit(["a"]))
    await asyncio.sleep(0)
    failing = [asyncio.create_task(grouped.submit([name])) for name in ("b", "c")]
    await asyncio.sleep(0)
    work.release.set()
    await first
    for task in failing:
        with pytest.raises(RuntimeError, match="run with b failed"):
            await task
    await asyncio.wait_for(grouped.submit(["e"]), timeout=1)
    assert work.runs == [["a"], ["b", "c"], ["e"]]
