"""Storing what the mailbox brings: messages handed over together go in one transaction.

The broker hands the adapter up to `prefetch` messages at once, each verified in a task of
its own. The messages verified while the previous group was being stored are stored next, in
the order they came, in one transaction taken in the mailbox's turn (see turns.py). Under
load this saves a transaction, and most of a flush, per message. Nothing stored is announced
before the whole group is: a document deleted on mistake in the same group is purged and
never announced. If the transaction fails, each message is stored alone, in a transaction of
its own: the one that failed it (a repeat caught by a unique key, a request that changed the
same document meanwhile) then fails alone, and the others do not share its fate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agency_adapter.context import AdapterContext
from agency_adapter.db import transaction
from agency_adapter.receiving import Verified, take_all
from agency_adapter.turns import Turns
from schemas.grouping import Grouped, together_or_alone

log = logging.getLogger(__name__)
Committed = Callable[[AsyncSession], None]  # told of each committed mailbox transaction


class Mailbox:
    def __init__(self, ctx: AdapterContext, sessions: async_sessionmaker[AsyncSession],
                 turns: Turns, committed: Committed) -> None:  # fmt: skip
        self.ctx, self.sessions, self.turns, self.committed = ctx, sessions, turns, committed
        self._group: Grouped[Verified, bool] = Grouped(self._store_together)

    @property
    def waiting(self) -> int:
        """Messages verified and waiting to be stored (not counting those being stored)."""
        return self._group.waiting

    async def store(self, message: Verified) -> bool:
        """Store a verified message once (True: set aside until its files are here); raises
        what stopped it."""
        return await self._group.submit(message)

    async def _store_together(self, group: list[Verified]) -> list[bool | Exception]:
        doing = ("storing", "mailbox messages")
        return await together_or_alone(group, self._store, self._store_alone, log, doing)

    async def _store_alone(self, message: Verified) -> bool:
        (awaiting,) = await self._store([message])
        return awaiting

    async def _store(self, messages: list[Verified]) -> list[bool]:
        urgent = any(message.urgent for message in messages)
        async with self.turns.turn(urgent=urgent):
            async with transaction(self.sessions) as session:
                awaiting = await take_all(session, self.ctx, messages)
            self.committed(session)
        if len(messages) > 1:
            log.debug("stored %d mailbox messages in one transaction", len(messages))
        return awaiting
