"""The adapter's SQLite connection: what may wait runs off the event loop, the rest on it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from agency_adapter import sqlite_driver


async def _database(tmp_path: Path) -> tuple[str, sqlite_driver.Connection]:
    path = str(tmp_path / "store.db")
    connection = await sqlite_driver.connect(path, busy_timeout_s=5)
    cursor = connection.cursor()
    await cursor.execute("PRAGMA journal_mode=WAL")
    await cursor.execute("CREATE TABLE note (text TEXT)")
    await connection.commit()
    return path, connection


async def test_what_may_wait_for_a_lock_is_told_apart(tmp_path: Path) -> None:
    _, connection = await _database(tmp_path)
    assert not connection.may_wait("SELECT * FROM note")
    assert connection.may_wait("  begin immediate")
    assert connection.may_wait("INSERT INTO note VALUES ('a')")  # takes the lock itself
    assert connection.may_wait("PRAGMA wal_checkpoint(TRUNCATE)")
    await connection.cursor().execute("BEGIN IMMEDIATE")
    assert not connection.may_wait("INSERT INTO note VALUES ('a')")  # holds it already
    await connection.rollback()
    assert connection.may_wait("INSERT INTO note VALUES ('a')")
    await connection.close()


async def test_a_writer_waiting_for_another_process_leaves_the_event_loop_free(
    tmp_path: Path,
) -> None:
    path, connection = await _database(tmp_path)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    await connection.cursor().execute("BEGIN IMMEDIATE")  # waits about 0.3 s, off the loop
    await connection.cursor().execute("INSERT INTO note VALUES ('written')")
    await connection.commit()
    ticker.cancel()
    assert ticks >= 10  # the loop ran on while the writer waited
    cursor = connection.cursor()
    await cursor.execute("SELECT text FROM note")
    assert await cursor.fetchall() == [("written",)]
    await connection.close()
    other.close()


async def test_errors_are_sqlite3_errors_and_a_closed_connection_says_so(tmp_path: Path) -> None:
    _, connection = await _database(tmp_path)
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await connection.cursor().execute("SELECT * FROM missing")
    await connection.close()
    with pytest.raises(ValueError, match="Connection closed"):
        connection.cursor()


async def _writer(
    path: str, writers: sqlite_driver.Writers, timeout_s: float = 5
) -> sqlite_driver.Connection:
    """Another connection of the same engine (sharing `writers`)."""
    return await sqlite_driver.connect(path, busy_timeout_s=timeout_s, writers=writers)


async def test_writers_of_one_engine_take_the_lock_in_order_of_arrival(tmp_path: Path) -> None:
    path, first = await _database(tmp_path)
    writers = sqlite_driver.Writers()
    holder = await _writer(path, writers)
    await holder.cursor().execute("BEGIN IMMEDIATE")
    order: list[int] = []

    async def write(number: int) -> None:
        connection = await _writer(path, writers)
        await connection.cursor().execute("BEGIN IMMEDIATE")
        await connection.cursor().execute("INSERT INTO note VALUES (?)", (str(number),))
        order.append(number)
        await connection.commit()
        await connection.close()

    waiting = []
    for number in range(8):  # each arrives while the holder still has the lock
        waiting.append(asyncio.create_task(write(number)))
        await asyncio.sleep(0.01)
    await holder.rollback()  # a rollback hands the turn on, as a commit does
    await asyncio.wait_for(asyncio.gather(*waiting), timeout=10)
    assert order == list(range(8))
    cursor = first.cursor()
    await cursor.execute("SELECT count(*) FROM note")
    assert await cursor.fetchall() == [(8,)]
    await holder.close()
    await first.close()


async def test_a_writer_kept_waiting_past_the_busy_timeout_fails_and_the_next_goes_on(
    tmp_path: Path,
) -> None:
    path, first = await _database(tmp_path)
    writers = sqlite_driver.Writers()
    holder, late = await _writer(path, writers), await _writer(path, writers, timeout_s=0.2)
    await holder.cursor().execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        await late.cursor().execute("BEGIN IMMEDIATE")
    await holder.close()  # closing with the lock held hands the turn on
    await asyncio.wait_for(late.cursor().execute("BEGIN IMMEDIATE"), timeout=1)
    await late.cursor().execute("INSERT INTO note VALUES ('late')")
    await late.commit()
    await late.close()
    await first.close()
