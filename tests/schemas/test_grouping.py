"""Grouping work that arrives while the previous run goes on (plain asyncio)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from schemas.grouping import Grouped, together_or_alone


class Recorder:
    """Work that remembers each run's items and answers each with its upper case; the first
    run waits until it is released. `fail_run_on` fails a whole run, `refuse` one item."""

    def __init__(self, fail_run_on: str | None = None, refuse: str | None = None) -> None:
        self.runs: list[list[str]] = []
        self.release = asyncio.Event()
        self.fail_run_on, self.refuse = fail_run_on, refuse

    async def __call__(self, items: list[str]) -> list[str | Exception]:
        self.runs.append(items)
        if len(self.runs) == 1:
            await self.release.wait()
        if self.fail_run_on in items:
            raise RuntimeError(f"run with {self.fail_run_on} failed")
        return [ValueError(f"{item} refused") if item == self.refuse else item.upper()
                for item in items]  # fmt: skip


async def _first_run_waiting(grouped: Grouped[str, str]) -> asyncio.Task[str]:
    first = asyncio.create_task(grouped.submit("a"))
    await asyncio.sleep(0)  # the first run has started and waits
    return first


async def test_a_lone_caller_is_served_at_once() -> None:
    work = Recorder()
    work.release.set()
    assert await asyncio.wait_for(Grouped(work).submit("a"), timeout=1) == "A"
    assert work.runs == [["a"]]


async def test_callers_arriving_during_a_run_share_the_next_one() -> None:
    work = Recorder()
    grouped = Grouped(work)
    first = await _first_run_waiting(grouped)
    later = [asyncio.create_task(grouped.submit(name)) for name in ("b", "c", "d")]
    await asyncio.sleep(0)
    work.release.set()
    assert grouped.waiting == 3
    outcomes = await asyncio.wait_for(asyncio.gather(first, *later), timeout=1)
    assert outcomes == ["A", "B", "C", "D"]
    assert grouped.waiting == 0
    assert work.runs == [["a"], ["b", "c", "d"]]


async def test_each_caller_gets_its_own_outcome() -> None:
    work = Recorder(refuse="c")
    grouped = Grouped(work)
    first = await _first_run_waiting(grouped)
    later = [asyncio.create_task(grouped.submit(name)) for name in ("b", "c", "d")]
    await asyncio.sleep(0)
    work.release.set()
    outcomes = await asyncio.wait_for(
        asyncio.gather(first, *later, return_exceptions=True), timeout=1
    )
    assert outcomes[:2] == ["A", "B"] and outcomes[3] == "D"
    assert isinstance(outcomes[2], ValueError) and str(outcomes[2]) == "c refused"


async def test_a_failed_run_fails_its_callers_only() -> None:
    work = Recorder(fail_run_on="b")
    grouped = Grouped(work)
    first = await _first_run_waiting(grouped)
    failing = [asyncio.create_task(grouped.submit(name)) for name in ("b", "c")]
    await asyncio.sleep(0)
    work.release.set()
    assert await first == "A"
    for task in failing:
        with pytest.raises(RuntimeError, match="run with b failed"):
            await task
    assert await asyncio.wait_for(grouped.submit("e"), timeout=1) == "E"
    assert work.runs == [["a"], ["b", "c"], ["e"]]


async def test_a_group_that_fails_together_is_run_alone_and_fails_only_its_culprit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[list[str]] = []

    async def together(items: list[str]) -> list[str]:
        runs.append(items)
        if "bad" in items:
            raise RuntimeError("the group failed")
        return [item.upper() for item in items]

    async def alone(item: str) -> str:
        (done,) = await together([item])
        return done

    log = logging.getLogger("tests.grouping")
    caplog.set_level(logging.INFO, logger="tests.grouping")
    doing = ("storing", "items")
    assert await together_or_alone(["a", "b"], together, alone, log, doing) == ["A", "B"]
    outcomes = await together_or_alone(["a", "bad", "c"], together, alone, log, doing)
    assert outcomes[0] == "A" and outcomes[2] == "C"
    assert isinstance(outcomes[1], RuntimeError)
    assert runs[1:] == [["a", "bad", "c"], ["a"], ["bad"], ["c"]]
    assert caplog.messages == ["storing 3 items together failed (RuntimeError); one by one"]
