"""Retrying a start-up step with growing pauses: a service that starts before its broker or
database should wait for it a while, then fail with a clear error, not hang or crash."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)
START_UP_PAUSES_S = (0.5, 1, 2, 4, 8)


async def with_pauses(
    attempt: Callable[[], Awaitable[T]],
    transient: tuple[type[BaseException], ...],
    what: str,
    pauses: Sequence[float] = START_UP_PAUSES_S,
) -> T:
    """`attempt()` until it succeeds; after the last pause its transient error propagates."""
    for pause in pauses:
        try:
            return await attempt()
        except transient as error:
            log.warning("%s not reachable (%s); retrying in %s s", what, error, pause)
            await asyncio.sleep(pause)
    return await attempt()


async def woken_or_timed_out(wake: asyncio.Event, seconds: float) -> bool:
    """Wait until `wake` is set or `seconds` pass; whether it was set.

    Not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that arrives as the
    event is set, so a worker woken while being stopped ran on and held up shutdown for ever.
    """
    try:
        async with asyncio.timeout(seconds):
            await wake.wait()
    except TimeoutError:
        return False
    return True
