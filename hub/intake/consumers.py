"""The intake consumer: the edge that owns each message's transaction and its ack.

For every message: admit it in one transaction and commit; publish what it produced to the
mailboxes (confirmed); mark those deliveries queued in a second transaction; only then ack.
A crash anywhere before the ack redelivers the message, and admitting it again only finishes
what was left (nothing is recorded or queued twice).
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid

from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.broker import Broker, Decision, Incoming
from hub.db import transaction
from hub.errors import Transient, Unroutable
from hub.intake.service import IntakeContext, Outgoing, admit, claim, delivered
from hub.settings import HubSettings

log = logging.getLogger(__name__)
_DATA_ERRORS = (IntegrityError, DataError, ProgrammingError)
CRASH_EXIT_CODE = 86


def decide(error: BaseException) -> Decision:
    """The one policy from failure to broker decision: wait for services, else dead-letter.

    Database errors count as the database being away unless they are about the data or the
    SQL itself: wrongly waiting costs one delivery attempt, wrongly dead-lettering costs an
    operator's replay.
    """
    if isinstance(error, Transient | OSError | TimeoutError):
        return Decision.RETRY
    if isinstance(error, DBAPIError) and not isinstance(error, _DATA_ERRORS):
        return Decision.RETRY
    return Decision.DEAD_LETTER


class IntakeWorker:
    """Handles intake messages; share the queue with any number of other workers."""

    def __init__(
        self,
        settings: HubSettings,
        sessions: async_sessionmaker[AsyncSession],
        broker: Broker,
        context: IntakeContext,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.broker = broker
        self.context = context

    async def handle(self, incoming: Incoming) -> Decision:
        try:
            pending = await self._admit(incoming)
            if self.settings.crash_after_commit:
                log.critical("crash_after_commit is set: exiting between commit and ack")
                os._exit(CRASH_EXIT_CODE)
            await self._deliver(pending)
        except Exception as error:
            decision = decide(error)
            log.log(
                logging.WARNING if decision is Decision.RETRY else logging.ERROR,
                "intake message %s: %s -> %s", incoming.message_id, error, decision.value,
                exc_info=decision is Decision.DEAD_LETTER,
            )  # fmt: skip
            return decision
        return Decision.ACK

    async def _admit(self, incoming: Incoming) -> list[uuid.UUID]:
        try:
            async with transaction(self.sessions) as session:
                return await admit(session, self.context, incoming)
        except IntegrityError:
            # Another worker recorded the same envelope a moment ago: take its outcome.
            async with transaction(self.sessions) as session:
                return await admit(session, self.context, incoming)

    async def _deliver(self, envelope_pks: list[uuid.UUID]) -> None:
        """Publish what is still pending, holding its rows so no other handler does it too."""
        if not envelope_pks:
            return
        async with transaction(self.sessions) as session:
            pending = await claim(session, envelope_pks)
            for item in pending:
                await self._publish(item)
            if pending:
                await delivered(session, pending)

    async def _publish(self, item: Outgoing) -> None:
        try:
            await self.broker.publish_to_mailbox(item.recipient, item.body, item.envelope_id)
        except Unroutable:
            # The agency is registered (it was resolved) but its queue is gone: recreate it.
            log.warning("mailbox of %s was missing; declaring it again", item.recipient)
            await self.broker.declare_mailbox(item.recipient)
            await self.broker.publish_to_mailbox(item.recipient, item.body, item.envelope_id)

    async def wait_until_healthy(self) -> None:
        """Called while consuming is paused: poll the database until it answers."""
        while True:
            await asyncio.sleep(self.settings.database_retry_s)
            try:
                async with self.sessions() as session:
                    await session.execute(text("SELECT 1"))
                return
            except (DBAPIError, OSError) as error:
                log.warning("database still unavailable: %s", error)

    async def run(self) -> None:
        await self.broker.consume_intake(self.handle, self.wait_until_healthy)
