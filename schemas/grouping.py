"""Group work that arrives while the previous group runs into one run (a group commit).

Under load many handlers reach the same step at about the same time: the hub's intake admitting
its message, or publishing its deliveries and marking them queued; an adapter storing what its
mailbox brought. Doing that for all of them in one transaction saves a transaction's round
trips per message, and the busier the service, the larger the groups. A lone caller is served
at once: nothing ever waits for a group to fill.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# One outcome per item, in order: its result, or the exception that is its caller's to raise.
Work = Callable[[list[Item]], Awaitable[list[Result | Exception]]]


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
