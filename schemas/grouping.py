"""Group work that arrives while the previous group runs into one run (a group commit).

Under load many handlers reach the same step at about the same time: the hub's intake admitting
its message, or publishing its deliveries and marking them queued; an adapter storing what its
mailbox brought. Doing that for all of them in one transaction saves a transaction's round
trips per message, and the busier the service, the larger the groups. A lone caller is served
at once: nothing ever waits for a group to fill.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# One outcome per item, in order: its result, or the exception that is its caller's to raise.
Work = Callable[[list[Item]], Awaitable[list[Result | Exception]]]
Together = Callable[[list[Item]], Awaitable[list[Result]]]
Alone = Callable[[Item], Awaitable[Result]]


async def together_or_alone(group: list[Item], together: Together[Item, Result],
                            alone: Alone[Item, Result], log: logging.Logger,
                            doing: tuple[str, str]) -> list[Result | Exception]:  # fmt: skip
    """The group's outcomes from one run of `together` (one transaction, say). If that fails,
    `alone` runs on each item in turn: the item that failed the group then fails on its own
    (its outcome is its exception, for its caller to handle) and the others do not share its
    fate. `doing`, e.g. ("storing", "messages"), names the work in the log."""
    if len(group) > 1:
        try:
            return [*await together(group)]
        except Exception as error:  # not lost: the item behind it fails again alone
            verb, items = doing
            log.info("%s %d %s together failed (%s); one by one", verb, len(group), items,
                     type(error).__name__)  # fmt: skip
    return [await _outcome(alone, item) for item in group]


async def _outcome(alone: Alone[Item, Result], item: Item) -> Result | Exception:
    try:
        return await alone(item)
    except Exception as error:  # its caller decides what it means: retry, dead-letter...
        return error


class Grouped(Generic[Item, Result]):
    """Runs `work` over every item submitted while the previous run was going on."""

    def __init__(self, work: Work[Item, Result]) -> None:
        self._work = work
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._runner: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        """Items submitted and not yet taken up by a run."""
        return len(self._waiting)

    async def submit(self, item: Item) -> Result:
        """Return the item's outcome once a run that included it is over (raise it, if an
        exception); a run that fails as a whole fails each of its callers."""
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._drain())
        return await asyncio.shield(done)  # a cancelled caller does not cancel the others' run

    async def _drain(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                outcomes = await self._work([item for item, _ in group])
            except Exception as error:  # each caller decides what the failure means for it
                outcomes = [error] * len(group)
            for (_, done), outcome in zip(group, outcomes, strict=True):
                _settle(done, outcome)


def _settle(done: asyncio.Future[Result], outcome: Result | Exception) -> None:
    if done.done():
        return
    if isinstance(outcome, Exception):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)
