"""SQLite for the async engine, with few thread hops.

aiosqlite sends every call (cursor, execute, fetch, close) to the connection's thread and
back; under load those hand-overs cost an adapter more CPU than the SQL itself. Here only what
can wait on a lock or the disk goes to the thread: COMMIT (the disk), pragmas, writes outside
a transaction that already holds the write lock, and BEGIN IMMEDIATE when the lock is taken
(it is tried on the loop first, without waiting). Reads never wait in WAL mode, and writes
inside a BEGIN IMMEDIATE transaction hold the lock already, so they run on the event loop's
thread at once, as plain calls; so does the end of a read, which has nothing to commit.

The connections of one engine take the write lock in turn, first come first served
(``Writers``): SQLite's own busy handler polls, and under many concurrent writers one of them
could lose every race for longer than the busy timeout and fail with "database is locked".
The busy handler is then left to wait only for other processes (a command-line tool, say).

The connection speaks the small part of aiosqlite's interface that SQLAlchemy's aiosqlite
dialect uses (given to it as ``async_creator``); errors are sqlite3's own, as with aiosqlite.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

Result = TypeVar("Result")
_NEVER_WAITS = ("SELECT",)  # in WAL mode a reader takes no lock
_TAKES_WRITE_LOCK = "BEGIN IMMEDIATE"


def _first_words(sql: str) -> str:
    return " ".join(sql.lstrip().split(None, 2)[:2]).upper()


class Writers:
    """Turns at the write lock for the connections of one engine (one event loop), in order
    of arrival; a writer that waits longer than the busy timeout fails as SQLite would."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()  # asyncio's lock wakes its waiters in order

    async def take(self, timeout_s: float) -> None:
        try:
            # Not asyncio.wait_for: on Python 3.11 it can swallow a cancellation that comes as
            # the lock is handed over, and the cancelled task would then run on.
            async with asyncio.timeout(timeout_s):
                await self._lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError(
                f"database is locked: other writers of this process held it for {timeout_s} s"
            ) from None

    def give_back(self) -> None:
        self._lock.release()


class Connection:
    """One SQLite connection; calls that may wait run on its own thread, one at a time."""

    def __init__(self, raw: sqlite3.Connection, thread: ThreadPoolExecutor,
                 busy_timeout_s: float, writers: Writers) -> None:  # fmt: skip
        self._connection: sqlite3.Connection | None = raw  # SQLAlchemy checks it is set
        self._thread = thread
        self._busy_timeout_s = busy_timeout_s
        self._busy_timeout_ms = int(busy_timeout_s * 1000)
        self._writers = writers
        self._holds_write_lock = False
        self._has_turn = False

    @property
    def raw(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("Connection closed")
        return self._connection

    async def off_loop(self, call: Callable[..., Result], *args: Any) -> Result:
        return await asyncio.get_running_loop().run_in_executor(self._thread, call, *args)

    def may_wait(self, sql: str) -> bool:
        """Whether running `sql` may wait for a lock or the disk."""
        words = _first_words(sql)
        if words == _TAKES_WRITE_LOCK:
            return True
        return not (self._holds_write_lock or words.split(" ", 1)[0] in _NEVER_WAITS)

    async def run(self, cursor: sqlite3.Cursor, sql: str, parameters: Any) -> None:
        if _first_words(sql) == _TAKES_WRITE_LOCK:
            await self._writers.take(self._busy_timeout_s)
            self._has_turn = True
            try:
                await self._take_write_lock(cursor, sql)
            except BaseException:
                self._end_turn()
                raise
            self._holds_write_lock = True
        elif self.may_wait(sql):
            await self.off_loop(cursor.execute, sql, parameters)
        else:
            cursor.execute(sql, parameters)

    async def _take_write_lock(self, cursor: sqlite3.Cursor, sql: str) -> None:
        """At once if it is free (the usual case: this process's writers take turns before
        they get here); else wait for it off the loop."""
        raw = self.raw
        raw.execute("PRAGMA busy_timeout=0")
        try:
            cursor.execute(sql)
            return
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorname", None) != "SQLITE_BUSY":
                raise
        finally:
            raw.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        await self.off_loop(cursor.execute, sql)

    def cursor(self) -> Cursor:
        return Cursor(self, self.raw.cursor())

    @property
    def isolation_level(self) -> str | None:
        return self.raw.isolation_level

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self.raw.create_function(*args, **kw)

    async def commit(self) -> None:
        await self._end(self.raw.commit)

    async def rollback(self) -> None:
        await self._end(self.raw.rollback)

    async def _end(self, end: Callable[[], None]) -> None:
        self._holds_write_lock = False
        try:
            if self.raw.in_transaction:
                await self.off_loop(end)  # a commit waits for the disk
            else:
                end()  # nothing to end: a read
        finally:
            self._end_turn()

    def _end_turn(self) -> None:
        """The next writer of this process may take the lock."""
        if self._has_turn:
            self._has_turn = False
            self._writers.give_back()

    async def close(self) -> None:
        if self._connection is not None:
            raw, self._connection = self._connection, None
            await self.off_loop(raw.close)
        self._thread.shutdown(wait=False)
        self._end_turn()  # closing ends (rolls back) an open transaction

    def stop(self) -> None:
        """Force-close (SQLAlchemy's terminate); the thread is left to finish what it has."""
        self._end_turn()
        if self._connection is not None:
            raw, self._connection = self._connection, None
            self._thread.submit(raw.close)
        self._thread.shutdown(wait=False)


class Cursor:
    def __init__(self, connection: Connection, raw: sqlite3.Cursor) -> None:
        self._connection, self._raw = connection, raw

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def description(self) -> Any:
        return self._raw.description

    @property
    def rowcount(self) -> int:
        return self._raw.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._raw.lastrowid

    @property
    def arraysize(self) -> int:
        return self._raw.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._raw.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        await self._connection.run(self._raw, sql, parameters)
        return self

    async def executemany(self, sql: str, rows: Iterable[Any]) -> Cursor:
        if self._connection.may_wait(sql):
            await self._connection.off_loop(self._raw.executemany, sql, rows)
        else:
            self._raw.executemany(sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._raw.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._raw.fetchmany(self._raw.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._raw.fetchall()

    async def close(self) -> None:
        self._raw.close()


async def connect(path: str, busy_timeout_s: float, writers: Writers | None = None) -> Connection:
    """Open the database file; the connection is used from its thread and the loop's, never
    from both at once (SQLAlchemy runs one call on a connection at a time). A statement that
    finds the database locked by another connection waits up to `busy_timeout_s`. `writers`:
    shared by the connections of one engine, which then take the write lock in turn."""
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
    loop = asyncio.get_running_loop()
    raw = await loop.run_in_executor(
        thread, lambda: sqlite3.connect(path, timeout=busy_timeout_s, check_same_thread=False)
    )
    return Connection(raw, thread, busy_timeout_s, writers or Writers())
