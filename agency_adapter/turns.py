"""Taking turns at the store: one mailbox group at a time, recalls and deletions first.

The broker hands the adapter up to `prefetch` messages at once and each is verified in a task
of its own; they are stored in groups (see mailbox.py), one group at a time. Stored side by
side with other work on the mailbox (the fetcher storing a document set aside for its files,
announcing, clearing purged files), a recall could miss the document it recalls in the
other's uncommitted transaction; so they all take turns. A turn asked for a recall or
deletion is served before the others waiting: the fetcher then finds the document it was
about to store deleted on mistake, and drops it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Turns:
    def __init__(self) -> None:
        self._busy = False
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()  # keeps the queue's order within a priority

    @property
    def waiting(self) -> int:
        """Handlers waiting for their turn (not counting the one holding it)."""
        return sum(1 for _, _, ready in self._waiting if not ready.done())

    @asynccontextmanager
    async def turn(self, *, urgent: bool) -> AsyncIterator[None]:
        """Wait for this handler's turn; urgent ones are served before the others."""
        await self._wait(urgent)
        try:
            yield
        finally:
            self._pass_on()

    async def _wait(self, urgent: bool) -> None:
        if not self._busy:
            self._busy = True
            return
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (0 if urgent else 1, next(self._arrivals), ready))
        try:
            await ready
        except asyncio.CancelledError:
            if ready.done() and not ready.cancelled():
                self._pass_on()  # handed the turn just as it was cancelled: hand it on
            raise

    def _pass_on(self) -> None:
        while self._waiting:
            _, _, ready = heapq.heappop(self._waiting)
            if not ready.done():  # a cancelled waiter is skipped
                ready.set_result(None)
                return
        self._busy = False
