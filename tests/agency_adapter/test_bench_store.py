"""`lienthong adapter bench-store`: the store's work per document, against stores of a given
history, run as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from agency_adapter.bench_store import Operation, _fill, _operations, bench_store
from agency_adapter.db import make_engine, make_sessions
from agency_adapter.migrate import upgrade_async
from agency_adapter.models import Box, Document, Event, Outbox
from schemas.benchmarks import sample_package
from tests.schemas.cli.run import lienthong

OPERATIONS = {"announce a received document", "feed: the newest events",
              "relay: rows to publish", "webhook: events to deliver", "inbox: first page",
              "outbox: first page", "metrics: one scrape"}  # fmt: skip


async def test_a_filled_store_holds_a_history_that_needs_nothing_done(tmp_path: Path) -> None:
    """Half received and announced, half sent and published, every event delivered: what
    each operation finds to do is what a new document brings, not the history."""
    url = f"sqlite+aiosqlite:///{tmp_path}/store.db"
    await upgrade_async(url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    await _fill(sessions, 30, sample_package(b"attached"))
    async with sessions() as session:
        counted = await session.execute(select(Document.box, func.count()).group_by(Document.box))
        boxes = {box: count for box, count in counted}
        unannounced = await session.scalar(
            select(func.count()).where(Document.box == Box.INBOX, Document.announced_at.is_(None))
        )
        undelivered = await session.scalar(
            select(func.count()).where(Event.webhook_delivered_at.is_(None))
        )
        unpublished = await session.scalar(
            select(func.count()).where(Outbox.published_at.is_(None))
        )
    await engine.dispose()
    assert boxes == {Box.INBOX: 15, Box.OUTBOX: 15}
    assert (unannounced, undelivered, unpublished) == (0, 0, 0)


def test_each_operation_is_a_timed_step_of_the_adapters_own_work() -> None:
    operations = _operations(100, sample_package(b"attached"))
    assert set(operations) == OPERATIONS
    assert all(isinstance(op, Operation) for op in operations.values())
    assert operations["announce a received document"].setup is not None  # a document arrives


async def test_bench_store_reports_every_operation(tmp_path: Path) -> None:
    costs = await bench_store(documents=40, size=2048, rounds=3, directory=tmp_path)
    assert set(costs) == OPERATIONS
    assert all(cost.cpu_ms > 0 for cost in costs.values())
    assert all(cost.read_kib is not None and cost.read_kib >= 0 for cost in costs.values())


def test_the_command_prints_a_column_per_store_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "store.json"
    done = lienthong("adapter", "bench-store", "--documents", "20", "--documents", "60",
                     "--size", "1K", "--rounds", "2", "--json", out)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "20 documents" in lines[1] and "60 documents" in lines[1]
    assert {line[:30].strip() for line in lines[2:]} == OPERATIONS
    written = json.loads(out.read_text())
    assert written["size"] == 1024
    assert set(written["documents"]) == {"20", "60"}
    assert set(written["documents"]["60"]) == OPERATIONS


def test_a_size_that_is_not_one_is_refused_with_a_usage_error() -> None:
    done = lienthong("adapter", "bench-store", "--size", "ten kilobytes")
    assert done.returncode == 2
    assert "ten kilobytes" in done.stderr
    assert "Traceback" not in done.stderr
