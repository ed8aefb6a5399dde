"""Keeping files in the attachment store as long as documents need them, and no longer.

A stored file goes when:
- every envelope carrying it was deleted on mistake (at all its recipients) and no agency
  uploaded or claimed it since: purged (right after the deletion, a file claimed within
  attachment_recent_claim_s is left to the sweeper: its sender may be re-sending it, having
  claimed it just before the deletion was recorded);
- else, when no live envelope carrying it is younger than attachment_retention_days and no
  agency uploaded or claimed it within attachment_partial_days: expired (or unclaimed, when no
  envelope ever carried it: an upload whose package never came).

Each removal is decided again under the file's exclusive advisory lock (intake checks a file
under a shared one, so a file is never removed under an envelope being accepted), written to
the audit log, committed, and only then deleted from the store, while the lock is still held.
A crash between commit and delete leaves a file nothing keeps, which the next sweep removes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import audit
from hub.attachments import repository
from hub.attachments.repository import Usage
from hub.attachments.store import AttachmentStore, StoredFile
from hub.db import transaction
from hub.errors import Transient
from hub.runtime import Runtime
from hub.settings import HubSettings

log = logging.getLogger(__name__)

PURGED = "attachment-purged"
EXPIRED = "attachment-expired"
UNCLAIMED = "attachment-unclaimed"
STALE_UPLOADS = "stale-uploads"


@dataclass(frozen=True)
class Retention:
    keep: timedelta  # after the newest live envelope carrying a file
    grace: timedelta  # after a file (or a partial upload) was last written or claimed
    recent: timedelta = timedelta(0)  # spared by a purge right after a deletion, if used since

    @classmethod
    def of(cls, settings: HubSettings) -> Retention:
        return cls(
            keep=timedelta(days=settings.attachment_retention_days),
            grace=timedelta(days=settings.attachment_partial_days),
            recent=timedelta(seconds=settings.attachment_recent_claim_s),
        )


def fate(usage: Usage | None, last_used: datetime, now: datetime, keep: Retention) -> str | None:
    """The audit action removing a stored file, or None while something keeps it."""
    live = usage.newest_live if usage else None
    deleted = usage.newest_deletion if usage else None
    if live is not None and live > now - keep.keep:
        return None
    if live is None and deleted is not None and last_used <= deleted:
        return PURGED
    if last_used > now - keep.grace:
        return None  # uploaded or claimed lately: its package may be on its way
    if live is not None:
        return EXPIRED
    return PURGED if deleted is not None else UNCLAIMED


def _detail(stored: StoredFile, usage: Usage | None) -> dict[str, object]:
    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "size": stored.size,
        "newest_document_at": moment(usage.newest_live if usage else None),
        "deleted_at": moment(usage.newest_deletion if usage else None),
    }


async def settle(
    sessions: async_sessionmaker[AsyncSession], store: AttachmentStore, sha256: str,
    retention: Retention,
) -> str | None:  # fmt: skip
    """Remove one stored file if nothing keeps it any more; returns the audit action taken.
    A file used within `retention.recent` stays in any case: the deletion that freed it is
    dated by when its transaction began, and its sender may be re-sending it correctly."""
    async with sessions() as guard:
        await repository.hold_exclusive(guard, sha256)  # until `guard` closes, after the delete
        async with transaction(sessions) as session:
            stored = await store.stored(sha256)
            if stored is None:
                return None
            now = datetime.now(UTC)
            if stored.last_used > now - retention.recent:
                return None
            usage = (await repository.usage(session, [sha256])).get(sha256)
            action = fate(usage, stored.last_used, now, retention)
            if action is None:
                return None
            audit.append(session, action, "hub", sha256, _detail(stored, usage))
            await repository.forget_possession(session, sha256)
        await store.remove(sha256)
    log.info("attachment %s removed from the store: %s", sha256, action)
    return action


async def purge(
    sessions: async_sessionmaker[AsyncSession], store: AttachmentStore, sha256s: Iterable[str],
    retention: Retention,
) -> list[str]:  # fmt: skip
    """Settle each file a deletion may have freed, right after its commit; returns the ones
    removed. A file claimed or uploaded lately is the sweeper's to judge later: the deletion's
    time is when its transaction began, so a sender re-sending the file correctly may have
    claimed it a moment before, with its new package still on the way."""
    return [
        sha for sha in sha256s
        if await settle(sessions, store, sha, retention)
    ]  # fmt: skip


class AttachmentSweeper:
    """Removes expired and purgeable files and stale partial uploads; runs in the worker role."""

    def __init__(
        self, settings: HubSettings, sessions: async_sessionmaker[AsyncSession],
        store: AttachmentStore,
    ) -> None:  # fmt: skip
        self.settings, self.sessions, self.store = settings, sessions, store
        self.retention = Retention.of(settings)

    async def sweep(self) -> Counter[str]:
        """One pass over the store; how many of each removal it made."""
        done: Counter[str] = Counter()
        stale_before = datetime.now(UTC) - self.retention.grace
        done[STALE_UPLOADS] = await self.store.remove_stale_uploads(stale_before)
        async for batch in self.store.listing():
            for sha256 in await self._due(batch):
                action = await settle(self.sessions, self.store, sha256, self.retention)
                if action:
                    done[action] += 1
        return done

    async def _due(self, batch: list[StoredFile]) -> list[str]:
        """The files of a batch that look removable (`settle` decides again under the lock)."""
        async with self.sessions() as session:
            found = await repository.usage(session, [stored.sha256 for stored in batch])
        now = datetime.now(UTC)
        return [
            stored.sha256
            for stored in batch
            if fate(found.get(stored.sha256), stored.last_used, now, self.retention)
        ]

    async def run(self) -> None:
        """Sweep every attachment_sweep_interval_s until cancelled."""
        while True:
            try:
                done = await self.sweep()
                if sum(done.values()):
                    log.info("attachment sweep: %s", dict(done))
            except (DBAPIError, OSError, Transient) as error:
                log.warning("attachment sweep postponed: %s", error)
            except Exception:  # housekeeping must never stop the worker's intake beside it
                log.exception("attachment sweep failed; trying again next time")
            await asyncio.sleep(self.settings.attachment_sweep_interval_s)


async def run_sweeper(runtime: Runtime) -> None:
    """The sweeper of a hub process (started with the worker role)."""
    await AttachmentSweeper(runtime.settings, runtime.sessions, runtime.store).run()
