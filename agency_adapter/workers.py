"""The adapter's background work: the outbox relay, the mailbox consumer, the fetcher.

The relay publishes committed outbox rows with confirms, retrying with back-off while the
broker or the hub is away: a document accepted during an outage goes out when it returns.
A document whose files travel outside its package goes out once the hub's store has them.
The consumer stores each mailbox message once and acks only after the commit; a document
whose files outside its package are not here yet is set aside, and the fetcher brings them
from the hub and stores it then, however long the hub takes (see fetcher.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from enum import Enum
from typing import NamedTuple

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from agency_adapter import events
from agency_adapter.announcing import MAX_HOLD_S, STORED, announce_waiting
from agency_adapter.attachments import repository as attachments
from agency_adapter.attachments.cleanup import remove_purged_files
from agency_adapter.attachments.hub_client import HubAttachments
from agency_adapter.broker import AdapterBroker, Decision, Delivered
from agency_adapter.context import AdapterContext
from agency_adapter.db import forget_purged, transaction
from agency_adapter.errors import (
    AttachmentRefused,
    BrokerUnavailable,
    HubUnavailable,
    InvalidDocument,
)
from agency_adapter.fetcher import Fetcher
from agency_adapter.lifecycle.receiving import PURGED
from agency_adapter.mailbox import Mailbox
from agency_adapter.models import Document, ExternalFile, Outbox
from agency_adapter.receiving import verified
from agency_adapter.turns import Turns
from agency_adapter.webhooks import WebhookSender
from schemas.pending_rows import table_of
from schemas.retrying import woken_or_timed_out

log = logging.getLogger(__name__)
BATCH = 100
MARK_WITHIN_S = 0.1  # under load, published rows are marked so together within this time


class Waiting(NamedTuple):
    """An outbox row the relay took up, with the package it publishes."""

    id: int
    envelope_id: str
    attempts: int
    next_attempt_at: float
    body: bytes | None  # None: its document left the store, which nothing does


# The relay's statements, built once (see db.py): each round runs them. A sent document's
# package is its document's body (its outbox row holds none, see models.Outbox).
_RELAYED = (Outbox.id, Outbox.envelope_id, Outbox.attempts, Outbox.next_attempt_at)
_WAITING = (
    select(*_RELAYED, func.coalesce(Outbox.body, Document.body).label("body"))
    .outerjoin(Document, and_(Outbox.body.is_(None), Document.envelope_id == Outbox.envelope_id))
    .where(Outbox.published_at.is_(None), Outbox.id.not_in(bindparam("unmarked", expanding=True)))
    .order_by(Outbox.id)
    .limit(BATCH)
)
# Core statements: the transaction that marks rows published holds no objects to keep in
# step, and an ORM UPDATE costs about twice the CPU (its criteria evaluated for the session).
_OUTBOX, _DOCUMENT = table_of(Outbox), table_of(Document)
_PUBLISHED = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
    .values(published_at=bindparam("at"))
)
_SENT = (
    update(_DOCUMENT)
    .where(_DOCUMENT.c.envelope_id.in_(bindparam("envelopes", expanding=True)))
    .where(_DOCUMENT.c.state == "queued")
    .values(state="sent")
)
# A row waits as long as the broker or the hub is away: past 2**30 retry intervals (which any
# cap is below) the exponent stops, or a float overflow would stop the relay.
MAX_EXPONENT = 30


async def waiting(session: AsyncSession, unmarked: list[int]) -> list[Waiting]:
    """Outbox rows not yet published, in order, but for those published and not yet marked
    (`unmarked`); at most BATCH."""
    found = await session.execute(_WAITING, {"unmarked": unmarked})
    return [Waiting(**row._mapping) for row in found]


class Relayed(Enum):
    """What became of an outbox row the relay took up."""

    SENT = "sent"
    WAITING = "waiting"  # the broker or the hub is away: it and every row after it wait
    SET_ASIDE = "set-aside"  # the hub will never take one of its files: the rest go on


class Workers:
    def __init__(self, ctx: AdapterContext, sessions: async_sessionmaker[AsyncSession],
                 broker: AdapterBroker) -> None:  # fmt: skip
        self.ctx, self.sessions, self.broker = ctx, sessions, broker
        self.wake = asyncio.Event()  # set when a request queued something to send
        # Published rows not yet marked so (see _more_coming); the relay reads past them.
        self._unmarked: list[Waiting] = []
        self._unmarked_since = 0.0
        self.turns = Turns()  # mailbox messages one group at a time, recalls and deletions first
        self.mailbox = Mailbox(ctx, sessions, self.turns, self._note)
        # Since when a stored document waits to be announced; at start, any left by a crash.
        self._holding_since: float | None = time.monotonic()
        self._purged = False  # content was purged: its files and the SQLite log must go
        self.hub = HubAttachments(ctx)  # the hub's attachment store
        self.fetcher = Fetcher(ctx, sessions, self.hub, self.turns, self._committed)
        self.webhooks = WebhookSender(ctx.settings, sessions)  # a bad webhook setting fails here

    async def relay_once(self) -> int:
        """Publish waiting outbox rows strictly in order, stopping at the first that fails or
        is not due: a recall never overtakes its document, nor a 03 its 01. Returns how
        many went out; they are marked published together, in one commit."""
        async with self.sessions() as session:
            unmarked = [row.id for row in self._unmarked]  # published already
            rows = await waiting(session, unmarked)
            envelopes = [row.envelope_id for row in rows]
            files = await attachments.files_to_upload(session, envelopes) if rows else {}
        sent: list[Waiting] = []
        for row in rows:
            if row.next_attempt_at > time.time():
                break
            outcome = await self._publish(row, files.get(row.envelope_id, []))
            if outcome is Relayed.WAITING:
                break
            if outcome is Relayed.SENT:
                sent.append(row)
        if sent:
            if not self._unmarked:
                self._unmarked_since = time.monotonic()
            self._unmarked.extend(sent)
        if self._unmarked and not self._more_coming():
            # A crash before this commit publishes them again: the hub drops repeats.
            await self._mark_published(self._unmarked)
            self._unmarked = []
        return len(sent)

    def _more_coming(self) -> bool:
        """Whether more rows were committed while these went out (a request or the mailbox
        woke the relay): the rows just published are then marked with the next round's, in
        one commit, saving a write transaction per round under load; at most BATCH rows
        wait so, for at most MARK_WITHIN_S."""
        waited = time.monotonic() - self._unmarked_since
        return self.wake.is_set() and len(self._unmarked) < BATCH and waited < MARK_WITHIN_S

    async def _publish(self, row: Waiting, files: list[ExternalFile]) -> Relayed:
        """Upload the row's files outside its package (if any), then publish it."""
        if row.body is None:  # rather than retry it for ever, holding up the rows behind it
            await self._set_aside(row, "its document is no longer in the store")
            return Relayed.SET_ASIDE
        try:
            for file in files:
                await self.hub.upload(file.sha256, file.size, file.name)
            await self.broker.publish(row.body, row.envelope_id)
        except (BrokerUnavailable, HubUnavailable) as error:
            await self._postpone(row, error)
            return Relayed.WAITING
        except AttachmentRefused as error:
            await self._set_aside(row, str(error))
            return Relayed.SET_ASIDE
        return Relayed.SENT

    async def _postpone(self, row: Waiting, error: Exception) -> None:
        async with transaction(self.sessions) as session:
            settings = self.ctx.settings
            doubled = settings.outbox_retry_s * 2.0 ** min(row.attempts, MAX_EXPONENT)
            backoff = min(settings.outbox_max_backoff_s, doubled)
            await session.execute(update(Outbox).where(Outbox.id == row.id).values(
                attempts=Outbox.attempts + 1, last_error=str(error)[:500],
                next_attempt_at=time.time() + backoff,
            ))  # fmt: skip

    async def _set_aside(self, row: Waiting, reason: str) -> None:
        """Never published: the document is 'failed' and the local system is told why."""
        log.error("outbox envelope %s set aside: %s", row.envelope_id, reason)
        async with transaction(self.sessions) as session:
            await session.execute(update(Outbox).where(Outbox.id == row.id).values(
                published_at=datetime.now(UTC), last_error=f"not sent: {reason}"[:500],
            ))  # fmt: skip
            document = await session.scalar(
                select(Document).where(Document.envelope_id == row.envelope_id)
            )
            if document is not None:
                document.state = "failed"
                await events.append(session, "document.failed", document, {
                    "envelope_id": row.envelope_id, "reason": reason[:1000],
                })  # fmt: skip

    async def _mark_published(self, rows: list[Waiting]) -> None:
        ids, envelopes = [row.id for row in rows], [row.envelope_id for row in rows]
        async with transaction(self.sessions) as session:
            await session.execute(_PUBLISHED, {"ids": ids, "at": datetime.now(UTC)})
            await session.execute(_SENT, {"envelopes": envelopes})

    async def nudge(self) -> None:
        """Wake the relay: a request committed something to send. A coroutine, so that a
        background task runs it on the loop (asyncio.Event is not thread-safe, and FastAPI
        runs a plain function's background task in a worker thread)."""
        self.wake.set()

    async def relay_forever(self) -> None:
        while True:
            try:
                await self.relay_once()
            except (DBAPIError, OSError) as error:
                log.warning("outbox relay postponed: %s", error)
            except Exception:  # a bug must not stop the relay for good: log it, try again
                log.exception("outbox relay failed; retrying")
            # woken early, or time for the next round
            await woken_or_timed_out(self.wake, self.ctx.settings.outbox_retry_s)
            self.wake.clear()

    async def handle(self, delivered: Delivered) -> Decision:
        decision = await self._store(delivered)
        await self._catch_up()
        return decision

    async def _store(self, delivered: Delivered) -> Decision:
        try:
            awaiting = await self.mailbox.store(verified(self.ctx, delivered))
        except InvalidDocument as error:
            log.error("mailbox message %s refused: %s", delivered.message_id, error)
            await self._tell_refused(delivered, str(error))
            return Decision.DEAD_LETTER
        except (DBAPIError, OSError, StaleDataError) as error:
            # StaleDataError: a request changed the same document meanwhile; take it again.
            log.warning("mailbox message %s postponed: %s", delivered.message_id, error)
            return Decision.RETRY
        if awaiting:
            self.fetcher.wake.set()
        return Decision.ACK

    def _note(self, session: AsyncSession) -> None:
        """After a mailbox transaction committed: what it stored waits to be announced,
        what it purged to be cleared, and the statuses it queued (01, 02, 15) go out."""
        if session.info.get(STORED) and self._holding_since is None:
            self._holding_since = time.monotonic()
        self._purged = self._purged or bool(session.info.get(PURGED))
        self.wake.set()

    async def _committed(self, session: AsyncSession) -> None:
        """The fetcher stored a document in its mailbox turn: as after a mailbox message."""
        self._note(session)
        await self._catch_up()

    async def _catch_up(self) -> None:
        await self._announce_when_caught_up()
        await self._forget_purged()

    async def _announce_when_caught_up(self) -> None:
        """Announce stored documents once no mailbox message waits (or after MAX_HOLD_S)."""
        held = self._holding_since
        waiting = self.turns.waiting or self.mailbox.waiting
        if held is None or (waiting and time.monotonic() - held < MAX_HOLD_S):
            return
        self._holding_since = None
        try:
            async with self.turns.turn(urgent=False), transaction(self.sessions) as session:
                await announce_waiting(session)
        except (DBAPIError, OSError) as error:
            log.warning("announcing received documents postponed: %s", error)
            self._holding_since = held

    async def _forget_purged(self) -> None:
        """Remove purged documents' files and clear purged content from the store's log;
        retried after the next message if a reader held the log or the store was away."""
        if not self._purged:
            return
        try:
            async with self.turns.turn(urgent=False):  # not while a document is being stored
                await remove_purged_files(self.sessions, self.ctx.attachments)
            self._purged = not await forget_purged(self.sessions)
        except (DBAPIError, OSError) as error:
            log.warning("clearing purged content from the store's log postponed: %s", error)

    async def _tell_refused(self, delivered: Delivered, reason: str) -> None:
        """The local system hears of a message the adapter would not accept (its bytes go to
        the dead-letter queue for operators)."""
        detail: dict[str, object] = {"envelope_id": delivered.message_id, "reason": reason[:1000]}
        async with transaction(self.sessions) as session:
            await events.append(session, "envelope.refused", None, detail)

    async def run(self) -> None:
        self._purged = True  # files a crash left behind a purge are removed first
        await self._forget_purged()
        await self._announce_when_caught_up()
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.relay_forever())
            tasks.create_task(self.broker.consume_mailbox(self.handle))
            tasks.create_task(self.fetcher.fetch_forever())
            tasks.create_task(self.webhooks.run())
