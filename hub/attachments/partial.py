"""Unfinished uploads on the hub's disk: one file per agency and SHA-256, growing chunk by chunk.

Several requests (in one process or several) can aim at the same upload: an exclusive
``flock`` on the partial file makes them take turns, and since the lock belongs to the inode, a
request that waited re-checks that the path still names the file it locked. Whatever ends a
request (a dropped connection, a cancelled task), what arrived is kept, each byte once.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import hashlib
import os
import re
from collections.abc import AsyncIterable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

from hub.attachments.errors import OffsetMismatch, StoreUnavailable, UploadBusy

# At most this much of a request body is held in memory before it is written out, and what a
# read takes at once. 256 KiB, not 1 MiB: each piece is held two or three times over on its way
# (the socket's buffer, the piece, the answer being written), and at 1 MiB that was 2.4 MB of a
# serving hub's peak. The price: four hand-offs to a worker thread per MiB instead of one,
# about 0.2 ms of CPU per MiB (with it, a 1 GB file crossed commune to district in 21 s).
WRITE_BYTES = 256 * 1024
# A retry may overtake the request it retries (whose dropped connection the hub has not noticed
# yet): it waits this long for that one to let go of the upload.
LOCK_WAIT_S = 5.0
LOCK_POLL_S = 0.05
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
T = TypeVar("T")


def directory_name(agency: str) -> str:
    """An agency's directory: its code when that is a safe file name, else a digest of it."""
    if _SAFE_NAME.fullmatch(agency):
        return agency
    return "h-" + hashlib.sha256(agency.encode()).hexdigest()[:40]


def unwritable(error: OSError) -> StoreUnavailable:
    return StoreUnavailable(f"the hub's attachment store cannot be written: {error.strerror}")


class PartialUpload:
    """A partial file, opened and locked by the request appending to it.

    Work on the file runs in worker threads; a cancelled request cannot stop a thread, so the
    work in flight is shielded and waited for (`settle`) before anything else is written and
    before the file is closed."""

    def __init__(self, fd: int, path: Path, sha256: str, adopt: Callable[[Path, str], None]):
        self._fd, self._path, self._sha256, self._adopt = fd, path, sha256, adopt
        self._offset = os.fstat(fd).st_size
        self._in_flight: asyncio.Future[Any] | None = None
        self._failed = False  # after a failed write nothing more is appended (no gap, no mix)

    @property
    def offset(self) -> int:
        return self._offset

    async def append(self, chunks: AsyncIterable[bytes]) -> None:
        """Write the chunks at the end; what arrived is kept even if `chunks` raises."""
        pending = bytearray()
        try:
            async for chunk in chunks:
                pending += chunk
                if len(pending) >= WRITE_BYTES:
                    # Handed over whole, not copied; `pending` starts afresh before the await.
                    data, pending = pending, bytearray()
                    await self._in_thread(functools.partial(self._write, data))
            data, pending = pending, bytearray()
            await self._in_thread(functools.partial(self._write, data, sync=True))
        except BaseException:
            # Whatever ended the request: keep what came after the write in flight, in this
            # thread (a task cancelled again could be stopped in any further await).
            await self.settle()
            with suppress(StoreUnavailable):  # the error that ended the request says more
                self._write(pending, sync=True)
            raise

    async def _in_thread(self, work: Callable[[], T]) -> T:
        self._in_flight = asyncio.ensure_future(asyncio.to_thread(work))
        result: T = await asyncio.shield(self._in_flight)
        return result

    async def settle(self) -> None:
        """Wait until no worker thread uses the file (one a cancelled request left running)."""
        while self._in_flight is not None and not self._in_flight.done():
            with suppress(asyncio.CancelledError, Exception):  # its own outcome is known
                await asyncio.shield(self._in_flight)

    def _write(self, data: bytes | bytearray, sync: bool = False) -> None:
        if self._failed:
            return
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                self._offset += written
                view = view[written:]
            if sync:
                os.fsync(self._fd)
        except OSError as error:
            self._failed = True
            raise unwritable(error) from None

    async def digest(self) -> str:
        return await self._in_thread(lambda: _sha256_of(self._fd))

    async def complete(self) -> None:
        """Move the upload into the store, under the digest it was opened with."""
        await self._in_thread(lambda: self._adopt(self._path, self._sha256))

    async def discard(self) -> None:
        self._path.unlink(missing_ok=True)


async def locked(path: Path, create: bool) -> int:
    """The partial file at `path`, open and locked by this request. With `create` false, an
    upload that has not begun is an OffsetMismatch (nothing is created for a refused chunk)."""
    deadline = asyncio.get_running_loop().time() + LOCK_WAIT_S
    while True:
        fd = _open_partial(path, create)
        if fd is None:
            raise OffsetMismatch(
                "no upload of this file by this agency has begun at the hub: send it from byte 0",
                offset=0,
            )
        if lock(fd, path):
            return fd
        os.close(fd)
        if asyncio.get_running_loop().time() >= deadline:
            raise UploadBusy(
                "another request is still uploading this file; ask for the offset again "
                "and resume from there",
                offset=path.stat().st_size if path.exists() else 0,
            )
        await asyncio.sleep(LOCK_POLL_S)


def _open_partial(path: Path, create: bool) -> int | None:
    flags = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o640)
    except FileNotFoundError as error:
        if create:
            raise unwritable(error) from None
        return None
    except OSError as error:
        raise unwritable(error) from None


def lock(fd: int, path: Path) -> bool:
    """Lock the open file without waiting; True when it is locked and `path` still names it
    (a request that held it may have moved it into blobs or deleted it meanwhile)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        opened, named = os.fstat(fd), path.stat()
    except (BlockingIOError, FileNotFoundError):
        return False
    return (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino)


def _sha256_of(fd: int) -> str:
    digest, position = hashlib.sha256(), 0
    while chunk := os.pread(fd, WRITE_BYTES, position):
        digest.update(chunk)
        position += len(chunk)
    return digest.hexdigest()


def unfinished_bytes(directory: Path, besides: str) -> int:
    """The bytes of the partial files in one agency's directory, but for `besides`."""
    total = 0
    with suppress(FileNotFoundError), os.scandir(directory) as entries:
        for entry in entries:
            if entry.name != besides:
                with suppress(FileNotFoundError):  # finished or removed while being counted
                    total += entry.stat().st_size
    return total


def remove_stale(partial: Path, cutoff: float) -> int:
    """Remove the partial files last written before `cutoff` (a POSIX time); how many."""
    removed = 0
    for agency in os.scandir(partial):
        if not agency.is_dir():
            continue
        for entry in os.scandir(agency.path):
            with suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff and _unlink_if_idle(Path(entry.path), cutoff):
                    removed += 1
    return removed


def _unlink_if_idle(path: Path, cutoff: float) -> bool:
    """Remove an upload no request is appending to, if it is still the stale one: the path may
    name a newer upload by the time the lock is held."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if not lock(fd, path) or os.fstat(fd).st_mtime >= cutoff:
            return False
        path.unlink()
        return True
    finally:
        os.close(fd)
