"""`lienthong adapter bench-store`: the store's work per document, against stores of a given
history, run as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agency_adapter.bench_store import Operation, bench_store, fill, operations
from agency_adapter.db import make_engine, make_sessions
from agency_adapter.migrate import upgrade_async
from agency_adapter.models import Box, Document, Event, Outbox
from schemas.benchmarks import sample_package
from tests.schemas.cli.run import lienthong

Sessions = async_sessionmaker[AsyncSession]

OPERATIONS = {"announce a received document", "feed: the newest events",
              "relay: rows to publish", "webhook: events to deliver", "inbox: first page",
              "outbox: first page", "metrics: one scrape"}  # fmt: skip


async def _counts(sessions: Sessions) -> tuple[dict[str, int], tuple[int, int, int]]:
    """Documents by box; and those unannounced, events undelivered, outbox rows unpublished."""
    waiting = (
        select(func.count()).where(Document.box == Box.INBOX, Document.announced_at.is_(None)),
        select(func.count()).where(Event.webhook_delivered_at.is_(None)),
        select(func.count()).where(Outbox.published_at.is_(None)),
    )
    async with sessions() as session:
        counted = await session.execute(select(Document.box, func.count()).group_by(Document.box))
        boxes = {box: count for box, count in counted}
        unannounced, undelivered, unpublished = [await session.scalar(q) or 0 for q in waiting]
    return boxes, (unannounced, undelivered, unpublished)


async def test_a_filled_store_holds_a_history_that_needs_nothing_done(tmp_path: Path) -> None:
    """Half received and announced, half sent and published, every event delivered: what
    each operation finds to do is what a new document brings, not the history."""
    url = f"sqlite+aiosqlite:///{tmp_path}/store.db"
    await upgrade_async(url)
    engine = make_engine(url)
    try:
        await fill(make_sessions(engine), 30, sample_package(b"attached"))
        boxes, waiting = await _counts(make_sessions(engine))
    finally:
        await engine.dispose()
    assert boxes == {Box.INBOX: 15, Box.OUTBOX: 15}
    assert waiting == (0, 0, 0)


def test_each_operation_is_a_timed_step_of_the_adapters_own_work() -> None:
    found = operations(100, sample_package(b"attached"))
    assert set(found) == OPERATIONS
    assert all(isinstance(operation, Operation) for operation in found.values())
    assert found["announce a received document"].setup is not None  # a document arrives
    assert list(found)[-1] == "announce a received document"  # its events stay undelivered


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


def test_a_json_file_that_cannot_be_written_is_refused_before_the_run(tmp_path: Path) -> None:
    done = lienthong("adapter", "bench-store", "--json", tmp_path / "no-such-folder" / "out.json")
    assert done.returncode == 2
    assert "no-such-folder" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_size_that_is_not_one_is_refused_with_a_usage_error() -> None:
    done = lienthong("adapter", "bench-store", "--size", "ten kilobytes")
    assert done.returncode == 2
    assert "ten kilobytes" in done.stderr
    assert "Traceback" not in done.stderr
