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
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.attachments.retention import Retention, purge
from hub.broker import Broker, Decision, Incoming
from hub.db import database_away, transaction
from hub.errors import Transient, Unroutable
from hub.intake.repository import record_failure, stale_pending
from hub.intake.service import Admitted, IntakeContext, Outgoing, admit, claim, delivered
from hub.settings import HubSettings
from schemas.grouping import Grouped, together_or_alone

log = logging.getLogger(__name__)
CRASH_EXIT_CODE = 86
SWEEP_BATCH = 200


def decide(error: BaseException) -> Decision:
    """The one policy from failure to broker decision: wait for services, else dead-letter."""
    if isinstance(error, Transient | OSError | TimeoutError | PoolTimeout):
        return Decision.RETRY
    if isinstance(error, DBAPIError) and database_away(error):
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
        # Messages that arrive together are admitted in one transaction, and their
        # deliveries go out in one more.
        self._admissions: Grouped[Incoming, Admitted] = Grouped(self._admit_together)
        self._deliveries: Grouped[list[uuid.UUID], None] = Grouped(self._publish_envelopes)

    async def handle(self, incoming: Incoming) -> Decision:
        try:
            admitted = await self._admissions.submit(incoming)
            if self.settings.crash_after_commit:
                log.critical("crash_after_commit is set: exiting between commit and ack")
                os._exit(CRASH_EXIT_CODE)
            await self._deliver(admitted.envelopes)
            await self._purge(admitted.purge)
        except Exception as error:
            decision = decide(error)
            log.log(
                logging.WARNING if decision is Decision.RETRY else logging.ERROR,
                "intake message %s: %s -> %s", incoming.message_id, error, decision.value,
                exc_info=decision is Decision.DEAD_LETTER,
            )  # fmt: skip
            return decision
        return Decision.ACK

    async def _admit_together(self, group: list[Incoming]) -> list[Admitted | Exception]:
        """Admit messages that arrived together in one transaction; if it fails, each alone
        (a repeat caught by a unique key, say, is then handled on its own)."""
        doing = ("admitting", "messages")
        return await together_or_alone(group, self._admit_all, self._admit, log, doing)

    async def _admit_all(self, group: list[Incoming]) -> list[Admitted]:
        async with transaction(self.sessions) as session:
            return [await admit(session, self.context, incoming) for incoming in group]

    async def _admit(self, incoming: Incoming) -> Admitted:
        try:
            async with transaction(self.sessions) as session:
                return await admit(session, self.context, incoming)
        except IntegrityError:
            # Its digest or envelope id is recorded already (a repeat, or another worker took
            # the same envelope a moment ago): admit it again, looking for that outcome first.
            async with transaction(self.sessions) as session:
                return await admit(session, self.context, incoming, careful=True)

    async def _deliver(self, envelope_pks: list[uuid.UUID]) -> None:
        """Publish what the admitted message left pending. The intake message is acked even
        when a mailbox refuses: its deliveries are committed, and the sweeper retries them."""
        if envelope_pks:
            await self._deliveries.submit(envelope_pks)

    async def _publish_envelopes(self, groups: list[list[uuid.UUID]]) -> list[Exception | None]:
        await self._publish_claimed(envelopes=[pk for pks in groups for pk in pks], wait=True)
        return [None] * len(groups)

    async def _purge(self, sha256s: list[str]) -> None:
        """Purge a deleted document's files from the store, after its deletion was committed.
        A failure only postpones it (the attachment sweeper finds files nothing keeps), and
        never touches the message, which is committed and delivered by now."""
        if not sha256s:
            return
        try:
            store, retention = self.context.store, Retention.of(self.settings)
            await purge(self.sessions, store, sha256s, retention)
        except Exception:
            log.exception("purging attachments %s postponed to the next sweep", sha256s)

    async def _publish_claimed(
        self, *, wait: bool, envelopes: list[uuid.UUID] | None = None,
        deliveries: list[int] | None = None,
    ) -> int:  # fmt: skip
        """Claim pending deliveries, publish each, mark the confirmed ones queued and record
        why the others failed, all in one transaction; returns how many went out."""
        async with transaction(self.sessions) as session:
            items = await claim(session, envelopes=envelopes, deliveries=deliveries, wait=wait)
            # Published side by side: the broker confirms them together.
            outcomes = await asyncio.gather(*map(self._publish, items), return_exceptions=True)
            sent = []
            for item, outcome in zip(items, outcomes, strict=True):
                if outcome is None:
                    sent.append(item)
                elif isinstance(outcome, Transient):
                    log.warning(
                        "delivery %s to %s postponed: %s", item.delivery_id, item.recipient, outcome
                    )
                    await record_failure(session, item.delivery_id, str(outcome))
                else:
                    raise outcome
            if sent:
                await delivered(session, sent)
        return len(sent)

    async def _publish(self, item: Outgoing) -> None:
        try:
            await self.broker.publish_to_mailbox(item.recipient, item.body, item.envelope_id)
        except Unroutable:
            # The agency is registered (it was resolved) but its queue is gone: recreate it.
            log.warning("mailbox of %s was missing; declaring it again", item.recipient)
            await self.broker.declare_mailbox(item.recipient)
            await self.broker.publish_to_mailbox(item.recipient, item.body, item.envelope_id)

    async def sweep(self) -> int:
        """Publish stale pending deliveries (a mailbox refused, the broker was away, a message
        was dead-lettered after its commit); returns how many went out."""
        async with self.sessions() as session:
            stale = await stale_pending(session, self.settings.redelivery_after_s, SWEEP_BATCH)
        return await self._publish_claimed(deliveries=stale, wait=False) if stale else 0

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.redelivery_interval_s)
            try:
                await self.sweep()
            except (DBAPIError, OSError, Transient) as error:
                log.warning("redelivery sweep postponed: %s", error)

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
        """Consume intake and sweep pending deliveries until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.broker.consume_intake(self.handle, self.wait_until_healthy))
            tasks.create_task(self._sweep_forever())
