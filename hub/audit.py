"""The append-only, hash-chained audit log: every accept, refusal, delivery, status and action.

Each entry's hash covers its content and the previous entry's hash, so changing or removing
any row breaks the chain from there on. Appends take a transaction-scoped advisory lock so
that several hub workers still build one chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import AuditEntry
from schemas.pending_rows import add_rows

GENESIS = "0" * 64
_CHAIN_LOCK = 0x6C69656E  # 'lien': one advisory lock id for the whole chain
_HEAD = "lienthong.audit_head"  # (transaction, last hash it wrote) in a session's info


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


async def append(
    session: AsyncSession, action: str, actor: str, subject: str, detail: dict[str, object]
) -> None:
    """Add one entry at the end of the chain (written with the session's next flush or its
    commit; the caller's transaction commits it)."""
    await append_many(session, [Entry(action, actor, subject, detail)])


@dataclass(frozen=True)
class Entry:
    action: str
    actor: str
    subject: str
    detail: dict[str, object]


async def append_many(session: AsyncSession, entries: list[Entry]) -> None:
    """Add entries at the end of the chain, in order: plain INSERTs (schemas.pending_rows)
    written with the session's next flush or its commit, in one statement with the
    entries added before them; the caller's transaction commits them. Every entry goes that
    way, in the order added, so their ids follow the chain."""
    previous, rows = await _chain_head(session), []
    for item in entries:
        at = datetime.now(UTC)
        digest = _digest(previous, at, item)
        rows.append({"at": at, "action": item.action, "actor": item.actor,
                     "subject": item.subject, "detail": item.detail,
                     "previous_hash": previous, "hash": digest})  # fmt: skip
        previous = digest
    add_rows(session, AuditEntry, rows)
    session.info[_HEAD] = (session.sync_session.get_transaction(), previous)


_CHAIN_HEAD = text("SELECT audit_chain_head(:lock)")  # built once (see db.py)


async def _chain_head(session: AsyncSession) -> str:
    """The chain's last hash, its lock held until the transaction ends. One round trip: the
    chain's advisory lock, then the last hash as committed once it is held (migration 0006),
    so that concurrent workers append to one chain. Later appends in the same transaction
    (messages admitted together) hold the lock already and know the head: no round trip."""
    held = session.info.get(_HEAD)
    if held is not None and held[0] is session.sync_session.get_transaction():
        return cast(str, held[1])
    last = await session.scalar(_CHAIN_HEAD, {"lock": _CHAIN_LOCK})
    return last or GENESIS


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    broken_at: int | None  # id of the first entry that does not fit, None when intact
    reason: str | None


async def verify_chain(session: AsyncSession) -> ChainCheck:
    """Walk the chain in order; report the first entry whose hash or link does not hold."""
    previous = GENESIS
    count = await session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    for entry in await session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        if entry.previous_hash != previous:
            return ChainCheck(count, entry.id, "it does not link to the entry before it")
        if entry.hash != entry_hash(previous, entry):
            return ChainCheck(count, entry.id, "its content was changed after it was written")
        previous = entry.hash
    return ChainCheck(count, None, None)
