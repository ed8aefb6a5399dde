"""Fetching the files of received documents set aside for them, in the background.

The mailbox handler never holds a message while files move: a document whose files outside
its package are not all here is recorded (``AwaitingFiles``) and its message acked. This task
takes up each row when it is due: downloads the files (resuming what an earlier attempt
left), then, in a mailbox turn, stores the document exactly as the mailbox would have (a
recall or deletion that came meanwhile was recorded as ahead of it, and settles it) and
deletes the row in the same transaction. The turn only checks the store: a file removed
meanwhile is fetched again outside it, so recalls and deletions never wait on a download.
A new version waits behind the version it revises while that one waits: versions are stored
in order. Files that are not what the sender signed for refuse the document (02 to the
sender), and what was fetched for it is removed. While the hub cannot give them (away, 5xx, full,
the file missing, 403), the row waits, tried again with back-off, for as long as it takes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from agency_adapter import events
from agency_adapter.attachments import repository
from agency_adapter.attachments.fetching import all_here, fetch_files, waiting_version
from agency_adapter.attachments.hub_client import HubAttachments
from agency_adapter.context import AdapterContext
from agency_adapter.db import transaction
from agency_adapter.errors import (
    AttachmentMismatch,
    FileVanished,
    HubForbids,
    HubUnavailable,
    InvalidDocument,
    VersionWaits,
)
from agency_adapter.models import AwaitingFiles
from agency_adapter.receiving import Verified, receive, refuse, set_aside
from agency_adapter.turns import Turns
from schemas.retrying import woken_or_timed_out

log = logging.getLogger(__name__)
BATCH = 100
MAX_EXPONENT = 30  # a row waits for ever: its attempts must not overflow the back-off
REFETCHES = 3  # times a file removed while its document waited for its turn is fetched again
Committed = Callable[[AsyncSession], Awaitable[None]]


class Fetcher:
    def __init__(self, ctx: AdapterContext, sessions: async_sessionmaker[AsyncSession],
                 hub: HubAttachments, turns: Turns, committed: Committed) -> None:  # fmt: skip
        """`committed`: what the workers do after a mailbox transaction (announce, purge)."""
        self.ctx, self.sessions, self.hub, self.turns = ctx, sessions, hub, turns
        self.committed = committed
        self.wake = asyncio.Event()  # set when the mailbox set a document aside

    async def fetch_forever(self) -> None:
        while True:
            self.wake.clear()
            try:
                pause = await self.fetch_due()
            except (DBAPIError, OSError, StaleDataError) as error:
                # StaleDataError: a request changed a document it stores meanwhile.
                log.warning("fetching attachments postponed: %s", error)
                pause = self.ctx.settings.attachment_retry_s
            except Exception:  # a bug must not stop the fetcher for good: log it, try again
                log.exception("fetching attachments failed; retrying")
                pause = self.ctx.settings.attachment_retry_s
            await woken_or_timed_out(self.wake, pause)  # woken early, or the next row is due

    async def fetch_due(self) -> float:
        """Take up every row that is due; the seconds until the next one is."""
        async with self.sessions() as session:
            due_now = await repository.awaiting_due(session, time.time(), BATCH)
        for row_id in due_now:  # one package in memory at a time
            async with self.sessions() as session:
                row = await session.get(AwaitingFiles, row_id)
            if row is not None:  # else a deletion on mistake dropped it meanwhile
                await self._take_up_or_postpone(row)
        async with self.sessions() as session:
            due = await repository.next_attempt_at(session)
            await self._remove_unwanted_downloads(session)
        longest = self.ctx.settings.attachment_max_backoff_s
        return longest if due is None else min(longest, max(0.0, due - time.time()))

    async def _take_up_or_postpone(self, row: AwaitingFiles) -> None:
        """One row; whatever goes wrong with it, it is tried again later and the rows behind
        it go on (a bug is logged with its trace the first time only)."""
        try:
            await self._take_up(row)
        except (HubUnavailable, OSError, DBAPIError, StaleDataError) as error:
            # StaleDataError: a request changed a document it stores meanwhile.
            await self._postpone(row, error)
        except VersionWaits as waits:
            async with transaction(self.sessions) as session:
                await repository.defer_awaiting(session, row.id, str(waits), waits.until)
        except Exception as error:
            if row.attempts == 0:
                log.exception("taking up envelope %s failed", row.envelope_id)
            await self._postpone(row, error)

    async def _take_up(self, row: AwaitingFiles) -> None:
        try:
            message = set_aside(row, self.ctx)
        except InvalidDocument as error:  # its bytes no longer read: nothing can be done
            await self._give_up(row, str(error))
            return
        for _ in range(REFETCHES):
            refusal = await self._fetch(message)  # the long part: beside the mailbox
            async with self.turns.turn(urgent=False):
                try:
                    async with transaction(self.sessions) as session:
                        await self._store(session, row, message, refusal)
                except FileVanished:  # a purge removed a shared file: fetch it again, off turn
                    continue
            await self.committed(session)
            return
        raise FileVanished(f"the files of envelope {row.envelope_id} were removed again "
                           "each time they were fetched")  # fmt: skip

    async def _fetch(self, message: Verified) -> str | None:
        """Bring the document's files; why it is refused, if they are not what its sender
        signed for."""
        try:
            await fetch_files(self.sessions, self.hub, message.package, message.envelope_id)
        except AttachmentMismatch as error:
            log.error("document in envelope %s refused: %s", message.envelope_id, error)
            return str(error)
        return None

    async def _store(self, session: AsyncSession, row: AwaitingFiles, message: Verified,
                     refusal: str | None) -> None:  # fmt: skip
        """Store (or refuse) the document and delete its row, in one transaction (rolled
        back when it must wait still). If a deletion on mistake dropped the row meanwhile,
        or the document is refused, remove what was fetched for it (held by no other)."""
        if not await repository.take_awaiting(session, row.id):
            await self._forget_files(session, row.files)
            return
        earlier = await waiting_version(session, message.package)
        if earlier is not None:
            until = max(earlier.next_attempt_at, time.time())
            waits = f"stored after envelope {earlier.envelope_id}, which it revises"
            raise VersionWaits(waits, until)
        if refusal is not None:
            await refuse(session, self.ctx, message, refusal)
            await self._forget_files(session, row.files)
        elif not all_here(self.ctx.attachments, message.package):
            raise FileVanished(f"a file of envelope {row.envelope_id} was removed")
        else:
            await receive(session, self.ctx, message, late=True)

    async def _forget_files(self, session: AsyncSession, digests: list[str]) -> None:
        """Files fetched for a document that will not be stored, unless another document
        holds them (same bytes) or needs them."""
        wanted = set(digests)
        for digest in wanted - await repository.still_held(session, wanted):
            await asyncio.to_thread(self.ctx.attachments.remove, digest)

    async def _remove_unwanted_downloads(self, session: AsyncSession) -> None:
        """Unfinished downloads no waiting document needs any more (deleted on mistake while
        its files came). Only this task downloads, and it is between documents now."""
        store = self.ctx.attachments
        left = await asyncio.to_thread(store.downloads)
        if left:
            for digest in left - await repository.awaited_files(session):
                await asyncio.to_thread(store.remove_download, digest)

    async def _postpone(self, row: AwaitingFiles, error: Exception) -> None:
        settings = self.ctx.settings
        doubled = settings.attachment_retry_s * 2.0 ** min(row.attempts, MAX_EXPONENT)
        backoff = min(settings.attachment_max_backoff_s, doubled)
        if isinstance(error, HubForbids):
            log.warning("the hub refuses us the files of envelope %s (deleted on mistake by "
                        "its sender, or not meant for us?); trying again in %.1f s: %s",
                        row.envelope_id, backoff, error)  # fmt: skip
        else:
            log.warning("files of envelope %s postponed %.1f s: %s", row.envelope_id, backoff,
                        error)  # fmt: skip
        async with transaction(self.sessions) as session:
            await repository.postpone_awaiting(session, row.id, str(error), time.time() + backoff)

    async def _give_up(self, row: AwaitingFiles, reason: str) -> None:
        """A row whose package can no longer be read: dropped with what was fetched for it,
        and the local system told."""
        log.error("envelope %s set aside for its files refused: %s", row.envelope_id, reason)
        async with self.turns.turn(urgent=False), transaction(self.sessions) as session:
            if await repository.take_awaiting(session, row.id):
                await self._forget_files(session, row.files)
                await events.append(session, "envelope.refused", None, {
                    "envelope_id": row.envelope_id, "reason": reason[:1000],
                })  # fmt: skip
