"""The dead-letter keeper: moves every dead-lettered message into the `dead_letter` table.

RabbitMQ cannot list a queue without taking its messages, so the hub keeps them itself, where
operators can list, replay and discard them. Each message is acked only after its row is
committed; a message that cannot be stored goes back to the queue (nothing is ever dropped)
and the keeper waits for the database before taking more.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.broker import Broker, DeadLettered, Decision
from hub.db import transaction
from hub.operations.service import keep
from hub.runtime import Runtime
from hub.settings import HubSettings

log = logging.getLogger(__name__)


class DeadLetterKeeper:
    """Consumes the dead-letter queue; run one or several, in the hub's worker role."""

    def __init__(
        self, settings: HubSettings, sessions: async_sessionmaker[AsyncSession], broker: Broker
    ) -> None:
        self.settings, self.sessions, self.broker = settings, sessions, broker

    async def handle(self, letter: DeadLettered) -> Decision:
        try:
            async with transaction(self.sessions) as session:
                ident = await keep(session, letter, self.settings)
        except Exception as error:  # whatever it is, the message must stay in the queue
            log.error("dead letter %s not kept, left in the queue: %s", letter.message_id, error)
            return Decision.RETRY
        log.warning("dead letter %s kept as %s", letter.message_id, ident or "a duplicate")
        return Decision.ACK

    async def wait_until_healthy(self) -> None:
        """Called after a message could not be kept: wait for the database to answer."""
        while True:
            await asyncio.sleep(self.settings.database_retry_s)
            try:
                async with self.sessions() as session:
                    await session.execute(text("SELECT 1"))
                return
            except (DBAPIError, OSError) as error:
                log.warning("database still unavailable: %s", error)

    async def run(self) -> None:
        """Keep dead letters until cancelled."""
        log.info("dead-letter keeper consuming %s", self.settings.dead_letter_queue)
        await self.broker.consume_dead_letters(self.handle, self.wait_until_healthy)


async def run_keeper(runtime: Runtime) -> None:
    """The keeper of a hub process (started with the worker role)."""
    await DeadLetterKeeper(runtime.settings, runtime.sessions, runtime.broker).run()
