from __future__ import annotations

import asyncio

import pytest

from schemas.retrying import with_pauses, woken_or_timed_out


async def test_a_step_that_succeeds_late_is_waited_for() -> None:
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OSError("not yet")
        return "up"

    assert await with_pauses(flaky, (OSError,), "test", pauses=(0, 0, 0)) == "up"
    assert len(calls) == 3


async def test_after_the_last_pause_the_error_propagates_and_others_at_once() -> None:
    async def down() -> None:
        raise OSError("still down")

    with pytest.raises(OSError, match="still down"):
        await with_pauses(down, (OSError,), "test", pauses=(0, 0))

    async def broken() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        await with_pauses(broken, (OSError,), "test", pauses=(60,))


async def test_waiting_says_whether_it_was_woken_or_timed_out() -> None:
    wake = asyncio.Event()
    assert await woken_or_timed_out(wake, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, wake.set)
    assert await woken_or_timed_out(wake, 5) is True


async def test_a_waiter_woken_as_it_is_stopped_still_stops() -> None:
    """The wake-up and the cancellation in one turn of the loop: the worker must end."""
    wake = asyncio.Event()
    rounds: list[int] = []

    async def worker() -> None:
        while True:
            rounds.append(1)
            await woken_or_timed_out(wake, 60)
            wake.clear()

    task = asyncio.create_task(worker())
    await asyncio.sleep(0)  # the worker now waits
    wake.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(task), 2)
    assert task.cancelled() and rounds == [1]
