"""Tells the event feed's long-polls that this process committed new events.

A long-poll that found nothing waits for this signal rather than looking at the store again
after a fixed pause: the local system hears of a document the moment its event is committed.
Events written by another process (a second adapter process on the same PostgreSQL store,
say) are still seen, at the long-poll's next look.
"""

from __future__ import annotations

import asyncio


class FeedSignal:
    """A counter of commits that appended events, and the long-polls waiting for it to move.

    Used from the event loop's thread only (SQLAlchemy's async sessions commit there)."""

    def __init__(self) -> None:
        self.generation = 0
        self._waiting: set[asyncio.Future[None]] = set()

    def changed(self) -> None:
        """Events were committed: wake every waiting long-poll."""
        self.generation += 1
        for waiter in self._waiting:
            if not waiter.done():
                waiter.set_result(None)
        self._waiting.clear()

    async def wait(self, seen: int, timeout_s: float) -> None:
        """Return once the generation is past `seen` (at once if it already is), or after
        `timeout_s`. A caller reads `generation` before it looks at the store, so a commit
        made while it looks is not missed."""
        if self.generation != seen or timeout_s <= 0:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.add(waiter)
        try:
            async with asyncio.timeout(timeout_s):
                await waiter
        except TimeoutError:
            pass  # nothing committed here: the caller looks at the store anyway
        finally:
            self._waiting.discard(waiter)
