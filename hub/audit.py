"""The append-only, hash-chained audit log: every accept, refusal, delivery, status and action.

Each entry's hash covers its content and the previous entry's hash, so changing or removing
any row breaks the chain from there on. A transaction's entries are written when it commits,
under a transaction-scoped advisory lock, so that several hub workers still build one chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from hub.db import HubSession
from hub.models import AuditEntry
from schemas.pending_rows import table_of

GENESIS = "0" * 64
_CHAIN_LOCK = 0x6C69656E  # 'lien': one advisory lock id for the whole chain
_PENDING = "lienthong.audit_entries"  # in a session's info: entries its commit will write


def entry_hash(previous: str, entry: AuditEntry) -> str:
    """The hash an entry must carry, given the hash of the entry before it."""
    content = Entry(entry.action, entry.actor, entry.subject, entry.detail)
    return _digest(previous, entry.at, content)


def _digest(previous: str, at: datetime, entry: Entry) -> str:
    canonical = json.dumps(
        [previous, at.astimezone(UTC).isoformat(), entry.action, entry.actor, entry.subject,
         entry.detail],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )  # fmt: skip
    return hashlib.sha256(canonical.encode()).hexdigest()


def append(
    session: AsyncSession, action: str, actor: str, subject: str, detail: dict[str, object]
) -> None:
    """Add one entry at the end of the chain, stamped now and written when the session's
    transaction commits (dropped if it rolls back; not readable before the commit)."""
    append_many(session, [Entry(action, actor, subject, detail)])


@dataclass(frozen=True)
class Entry:
    action: str
    actor: str
    subject: str
    detail: dict[str, object]


class MisusedAudit(RuntimeError):
    """Entries added where they could be lost or written early: a programming error."""


def append_many(session: AsyncSession, entries: list[Entry]) -> None:
    """Add entries at the end of the chain, in order, each stamped now, written when the
    session's transaction commits (dropped if it rolls back; not readable before the
    commit)."""
    if not isinstance(session.sync_session, HubSession):
        raise MisusedAudit("audit entries need a session of the hub's (hub.db.make_sessions)")
    if not session.in_transaction():  # no transaction's end would write or drop them
        raise MisusedAudit("audit entries need a transaction begun")
    if session.in_nested_transaction():  # a savepoint's rollback would not drop them
        raise MisusedAudit("audit entries are not for savepoints")
    pending = session.info.setdefault(_PENDING, [])
    pending.extend((datetime.now(UTC), item) for item in entries)


_CHAIN_HEAD = text("SELECT audit_chain_head(:lock)")  # built once (see db.py)
_INSERT = insert(table_of(AuditEntry))  # Core: without the ORM's bulk-insert work


@event.listens_for(HubSession, "before_commit")
def _write_entries(session: Session) -> None:
    """The transaction's entries, chained to the head as committed. The chain's lock is
    taken here, after everything else is written, so that it is held only for these INSERTs
    and the commit: taken at the first entry, it made every other transaction that writes
    entries wait for all the work this one did after it."""
    entries: list[tuple[datetime, Entry]] = session.info.pop(_PENDING, None) or []
    if not entries:
        return
    # Everything else first (the commit flushes after this hook), so that every row lock of
    # this transaction is taken before the chain's: one waiting for a row while holding the
    # chain's lock deadlocks with the row's holder, waiting for the chain to commit. The
    # statement below would autoflush as well; said here, the order does not hang on that.
    session.flush()
    previous = session.scalar(_CHAIN_HEAD, {"lock": _CHAIN_LOCK}) or GENESIS
    rows = []
    for at, item in entries:
        digest = _digest(previous, at, item)
        rows.append({"at": at, "action": item.action, "actor": item.actor,
                     "subject": item.subject, "detail": item.detail,
                     "previous_hash": previous, "hash": digest})  # fmt: skip
        previous = digest
    session.execute(_INSERT, rows)


@event.listens_for(HubSession, "after_transaction_create")
def _no_savepoint_over_entries(session: Session, transaction: SessionTransaction) -> None:
    # SQLAlchemy runs before_commit when a savepoint is released, too: entries pending then
    # would be written inside it, and the chain's lock held for the rest of the transaction.
    if transaction.nested and session.info.get(_PENDING):
        raise MisusedAudit("no savepoint may begin while audit entries wait for the commit")


@event.listens_for(HubSession, "after_transaction_end")
def _drop_entries(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (written already) or rolled back (dropped)
        session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    broken_at: int | None  # id of the first entry that does not fit, None when intact
    reason: str | None


async def verify_chain(session: AsyncSession) -> ChainCheck:
    """Walk the chain in order; report the first entry whose hash or link does not hold."""
    previous = GENESIS
    count = await session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    # Streamed, a thousand at a time: a hub's chain grows by four entries per document.
    entries = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
    streamed = await session.stream_scalars(entries)
    try:
        async for entry in streamed:
            if entry.previous_hash != previous:
                return ChainCheck(count, entry.id, "it does not link to the entry before it")
            if entry.hash != entry_hash(previous, entry):
                return ChainCheck(count, entry.id, "its content was changed after it was written")
            previous = entry.hash
    finally:
        await streamed.close()  # the server-side cursor, when the walk stopped early
    return ChainCheck(count, None, None)
