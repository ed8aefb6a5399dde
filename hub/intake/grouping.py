"""Group work that arrives while the previous group runs into one run (a group commit).

Under load many intake handlers finish their own transaction at about the same time and each
has deliveries to publish and mark queued; doing that for all of them in one transaction
saves a transaction's round trips per message. A lone caller is served at once: nothing ever
waits for a group to fill.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class Grouped(Generic[Item]):
    """Runs `work` over every item submitted while the previous run was going on."""

    def __init__(self, work: Callable[[list[Item]], Awaitable[None]]) -> None:
        self._work = work
        self._waiting: list[tuple[list[Item], asyncio.Future[None]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, items: list[Item]) -> None:
        """Return once a run that included `items` succeeded; raise what it raised."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((items, done))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._drain())
        await asyncio.shield(done)  # a cancelled caller does not cancel the others' run

    async def _drain(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                await self._work([item for items, _ in group for item in items])
            except Exception as error:  # each caller decides what the failure means for it
                _settle(group, error)
            else:
                _settle(group, None)


def _settle(group: list[tuple[list[Item], asyncio.Future[None]]], error: Exception | None) -> None:
    for _, done in group:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
