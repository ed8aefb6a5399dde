"""What an adapter's store costs per document as its history grows (`lienthong adapter
bench-store`).

A store keeps every document its agency ever sent or received. A statement that reads that
whole history costs nothing on a new store and a little more every day after, so the full-path
bench, which starts from an empty store, cannot see it. This builds throw-away SQLite stores
(migrated as a served adapter's is) holding a given number of documents, half received and
half sent, each with its feed event delivered to the webhook, its outbox row published, the
received ones announced; then it times, against each, what the adapter runs for every
document, for a clerk's page (a request's work below its route) and for a scrape of its
metrics: CPU (this process, the store's thread included) and bytes read (`rchar`: what SQLite's
own cache did not hold and read from the store's files, from the disk or the system's cache;
the little the measurement itself reads counts too). Announcing runs last: the events it adds
wait for the webhook, and the other operations see the history as it was built.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agency_adapter.announcing import announce_waiting
from agency_adapter.db import make_engine, make_sessions, transaction
from agency_adapter.documents.payloads import ListQuery
from agency_adapter.documents.views import page
from agency_adapter.events import after
from agency_adapter.metrics import snapshot_of
from agency_adapter.migrate import upgrade_async
from agency_adapter.models import Box, Document, Event, Outbox
from agency_adapter.webhooks import undelivered
from agency_adapter.workers import waiting
from schemas.benchmarks import sample_package

Sessions = async_sessionmaker[AsyncSession]
FILL_BATCH = 500
_AGENCY, _PEER = "000.00.29.H40", "000.04.29.H40"
_START = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Cost:
    """One operation's mean cost: CPU milliseconds, and KiB read (None where /proc cannot
    tell)."""

    cpu_ms: float
    read_kib: float | None


def _read_bytes() -> int | None:
    """Bytes this process has read so far (reads SQLite served from its own cache do not count;
    those from the system's page cache do)."""
    try:
        lines = Path("/proc/self/io").read_text().splitlines()
    except OSError:
        return None
    return next(int(line.split()[1]) for line in lines if line.startswith("rchar:"))


def _document(index: int, box: Box, body: bytes) -> dict[str, Any]:
    received = box == Box.INBOX
    return {
        "id": uuid.uuid4(), "box": box, "envelope_id": str(uuid.uuid4()),
        "document_id": f"{_PEER if received else _AGENCY},2025/01/01,{index}/UBND",
        "sender_code": _PEER if received else _AGENCY, "sender_name": "UBND",
        "recipients": [_AGENCY if received else _PEER], "subject": f"document {index}",
        "content": None, "code_number": str(index), "code_notation": "UBND",
        "due_date": (_START + timedelta(days=index % 60)).date() if index % 3 == 0 else None,
        "priority": index % 4, "business_type": 0, "state": "received" if received else "sent",
        "local_system": None, "body": body, "version": 1,
        "created_at": _START + timedelta(minutes=index),
        "announced_at": _START + timedelta(minutes=index) if received else None,
    }  # fmt: skip


async def fill(sessions: Sessions, documents: int, body: bytes) -> None:
    """`documents` documents as years of work leave them (see the module's docstring)."""
    delivered = datetime.now(UTC)
    for first in range(0, documents, FILL_BATCH):
        rows = [_document(i, Box.INBOX if i % 2 else Box.OUTBOX, body)
                for i in range(first, min(first + FILL_BATCH, documents))]  # fmt: skip
        events = [{"type": "document.received" if row["box"] == Box.INBOX else "status.received",
                   "document_pk": row["id"], "payload": {"subject": row["subject"]},
                   "webhook_delivered_at": delivered} for row in rows]  # fmt: skip
        sent = [{"envelope_id": row["envelope_id"], "body": None, "published_at": delivered}
                for row in rows if row["box"] == Box.OUTBOX]  # fmt: skip
        async with transaction(sessions) as session:
            await session.execute(insert(Document), rows)
            await session.execute(insert(Event), events)
            if sent:
                await session.execute(insert(Outbox), sent)


async def _arrive(sessions: Sessions, body: bytes) -> None:
    """A received document, not announced yet (as the mailbox stores it)."""
    arrived = _document(-1, Box.INBOX, body) | {"announced_at": None}
    async with transaction(sessions) as session:
        await session.execute(insert(Document), [arrived])


async def _announce(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        await announce_waiting(session)


def _read(
    query: Callable[[AsyncSession], Awaitable[object]],
) -> Callable[[Sessions], Awaitable[None]]:
    """A look that only reads, in a session of its own, as a request or a round makes it."""

    async def look(sessions: Sessions) -> None:
        async with sessions() as session:
            await query(session)

    return look


@dataclass(frozen=True)
class Operation:
    timed: Callable[[Sessions], Awaitable[None]]
    setup: Callable[[Sessions], Awaitable[None]] | None = None  # before each round, not timed


def operations(documents: int, body: bytes) -> dict[str, Operation]:
    newest = documents  # the feed's last seq, near enough: one event per document
    return {
        "feed: the newest events": Operation(_read(lambda s: after(s, newest - 10, 100))),
        "relay: rows to publish": Operation(_read(lambda s: waiting(s, []))),
        "webhook: events to deliver": Operation(_read(undelivered)),
        "inbox: first page": Operation(_read(lambda s: page(s, ListQuery(box=Box.INBOX)))),
        "outbox: first page": Operation(_read(lambda s: page(s, ListQuery(box=Box.OUTBOX)))),
        "metrics: one scrape": Operation(_read(snapshot_of)),
        "announce a received document": Operation(_announce, partial(_arrive, body=body)),
    }


async def _mean_cost(operation: Operation, sessions: Sessions, rounds: int) -> Cost:
    cpu, read = 0.0, 0
    counted = _read_bytes() is not None
    for _ in range(rounds):
        if operation.setup is not None:
            await operation.setup(sessions)
        before, started = _read_bytes() or 0, time.process_time()
        await operation.timed(sessions)
        cpu += time.process_time() - started
        read += (_read_bytes() or 0) - before
    return Cost(cpu * 1000 / rounds, read / 1024 / rounds if counted else None)


async def bench_store(documents: int, size: int, rounds: int, directory: Path) -> dict[str, Cost]:
    """Each operation's mean cost over `rounds`, against a store built in `directory` of
    `documents` documents, each an edXML package with an attachment of `size` random bytes."""
    body = sample_package(os.urandom(size))
    url = f"sqlite+aiosqlite:///{directory / 'store.db'}"
    await upgrade_async(url)
    engine = make_engine(url)
    try:
        sessions = make_sessions(engine)
        await fill(sessions, documents, body)
        costs = {}
        for name, operation in operations(documents, body).items():
            await _mean_cost(operation, sessions, 2)  # the first rounds warm the caches
            costs[name] = await _mean_cost(operation, sessions, rounds)
        return costs
    finally:
        await engine.dispose()
