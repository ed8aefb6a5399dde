"""The hub's attachment store: files that travel outside the packages, named by their SHA-256.

On a filesystem (the default backend): a complete file lives at <dir>/blobs/<sha[:2]>/<sha>, and
an agency's unfinished upload at <dir>/partial/<agency>/<sha>, growing request by request until
its digest is checked and it is moved into blobs with one atomic rename. Callers use only the
``AttachmentStore`` protocol, so that an object-store backend can take this one's place.

Several requests (in one process or several) can aim at the same upload: an exclusive
``flock`` on the partial file makes them take turns, and since the lock belongs to the inode, a
request that waited re-checks that the path still names the file it locked.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import re
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from hub.attachments.errors import StoreUnavailable, UploadBusy

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# At most this much of a request body is held in memory before it is written out.
WRITE_BYTES = 1024 * 1024
# A retry may overtake the request it retries (whose dropped connection the hub has not noticed
# yet): it waits this long for that one to let go of the upload.
LOCK_WAIT_S = 5.0
LOCK_POLL_S = 0.05
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class StoredFile:
    """A complete file in the store."""

    sha256: str
    size: int
    last_used: datetime  # when it was uploaded, or last claimed by an agency about to send it


class Upload(Protocol):
    """One agency's unfinished upload of one file, held by one request at a time."""

    @property
    def offset(self) -> int: ...

    async def append(self, chunks: AsyncIterable[bytes]) -> None:
        """Write the chunks at the end; what arrived is kept even if `chunks` raises."""

    async def digest(self) -> str: ...

    async def complete(self) -> None:
        """Move the upload into the store, under the digest it was opened with."""

    async def discard(self) -> None: ...


class AttachmentStore(Protocol):
    async def stored(self, sha256: str) -> StoredFile | None: ...

    async def claim(self, sha256: str) -> StoredFile | None:
        """The file, marked as used now (an agency is about to send a package listing it)."""

    async def upload_offset(self, agency: str, sha256: str) -> int: ...

    def upload(self, agency: str, sha256: str) -> AbstractAsyncContextManager[Upload]: ...

    async def remove(self, sha256: str) -> bool: ...

    def listing(self) -> AsyncIterator[list[StoredFile]]:
        """Every complete file, in batches."""

    async def remove_stale_uploads(self, before: datetime) -> int:
        """Remove unfinished uploads last written before `before`; returns how many."""

    def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes `start`..`end` (inclusive) of a stored file, in pieces."""


def checked(sha256: str) -> str:
    """Only a SHA-256 in lowercase hex ever becomes part of a path."""
    if not SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 in lowercase hex: {sha256!r}")
    return sha256


def _directory_name(agency: str) -> str:
    """An agency's directory: its code when that is a safe file name, else a digest of it."""
    if _SAFE_NAME.fullmatch(agency):
        return agency
    return "h-" + hashlib.sha256(agency.encode()).hexdigest()[:40]


def _unwritable(error: OSError) -> StoreUnavailable:
    return StoreUnavailable(f"the hub's attachment store cannot be written: {error.strerror}")


def _when(stat: os.stat_result) -> datetime:
    return datetime.fromtimestamp(stat.st_mtime, UTC)


class FilesystemStore:
    """The store in a local (or network-mounted) directory."""

    def __init__(self, root: Path) -> None:
        self.blobs = root / "blobs"
        self.partial = root / "partial"

    def blob_path(self, sha256: str) -> Path:
        return self.blobs / checked(sha256)[:2] / sha256

    def partial_path(self, agency: str, sha256: str) -> Path:
        return self.partial / _directory_name(agency) / checked(sha256)

    async def stored(self, sha256: str) -> StoredFile | None:
        try:
            stat = self.blob_path(sha256).stat()
        except FileNotFoundError:
            return None
        return StoredFile(sha256, stat.st_size, _when(stat))

    async def claim(self, sha256: str) -> StoredFile | None:
        with suppress(FileNotFoundError):
            os.utime(self.blob_path(sha256))
        return await self.stored(sha256)

    async def upload_offset(self, agency: str, sha256: str) -> int:
        try:
            return self.partial_path(agency, sha256).stat().st_size
        except FileNotFoundError:
            return 0

    @asynccontextmanager
    async def upload(self, agency: str, sha256: str) -> AsyncIterator[Upload]:
        path = self.partial_path(agency, sha256)
        fd = await self._locked(path)
        try:
            yield _FileUpload(self, fd, path, sha256)
        finally:
            os.close(fd)  # releases the lock

    async def _locked(self, path: Path) -> int:
        deadline = asyncio.get_running_loop().time() + LOCK_WAIT_S
        while True:
            fd = _open_partial(path)
            if _lock(fd, path):
                return fd
            os.close(fd)
            if asyncio.get_running_loop().time() >= deadline:
                raise UploadBusy(
                    "another request is still uploading this file; ask for the offset again "
                    "and resume from there",
                    offset=path.stat().st_size if path.exists() else 0,
                )
            await asyncio.sleep(LOCK_POLL_S)

    def adopt(self, partial: Path, sha256: str) -> None:
        """Move a checked upload into blobs in one rename, durably."""
        target = self.blob_path(sha256)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, target)
            _sync_directory(target.parent)
        except OSError as error:
            raise _unwritable(error) from None

    async def remove(self, sha256: str) -> bool:
        try:
            self.blob_path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    async def listing(self) -> AsyncIterator[list[StoredFile]]:
        if not self.blobs.is_dir():
            return
        for fan_out in sorted(os.listdir(self.blobs)):
            found = await asyncio.to_thread(_scan_blobs, self.blobs / fan_out)
            if found:
                yield found

    async def remove_stale_uploads(self, before: datetime) -> int:
        if not self.partial.is_dir():
            return 0
        return await asyncio.to_thread(_remove_stale, self.partial, before.timestamp())

    async def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        with self.blob_path(sha256).open("rb") as file:
            file.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = await asyncio.to_thread(file.read, min(left, WRITE_BYTES))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk


class _FileUpload:
    """A partial file, opened and locked by the request appending to it."""

    def __init__(self, store: FilesystemStore, fd: int, path: Path, sha256: str) -> None:
        self._store, self._fd, self._path, self._sha256 = store, fd, path, sha256
        self._offset = os.fstat(fd).st_size

    @property
    def offset(self) -> int:
        return self._offset

    async def append(self, chunks: AsyncIterable[bytes]) -> None:
        pending = bytearray()
        try:
            async for chunk in chunks:
                pending += chunk
                if len(pending) >= WRITE_BYTES:
                    await asyncio.to_thread(self._write, bytes(pending))
                    pending.clear()
        except BaseException:
            # Whatever ended the request (a dropped connection, a shutdown): keep what came, in
            # this thread, since a cancelled task may not be able to await any more.
            self._write(bytes(pending), sync=True)
            raise
        await asyncio.to_thread(self._write, bytes(pending), True)

    def _write(self, data: bytes, sync: bool = False) -> None:
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                self._offset += written
                view = view[written:]
            if sync:
                os.fsync(self._fd)
        except OSError as error:
            raise _unwritable(error) from None

    async def digest(self) -> str:
        return await asyncio.to_thread(_sha256_of, self._fd)

    async def complete(self) -> None:
        await asyncio.to_thread(self._store.adopt, self._path, self._sha256)

    async def discard(self) -> None:
        self._path.unlink(missing_ok=True)


def _open_partial(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
    except OSError as error:
        raise _unwritable(error) from None


def _lock(fd: int, path: Path) -> bool:
    """Lock the open file without waiting; True when it is locked and `path` still names it
    (a request that held it may have moved it into blobs or deleted it meanwhile)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return os.fstat(fd).st_ino == path.stat().st_ino
    except (BlockingIOError, FileNotFoundError):
        return False


def _sha256_of(fd: int) -> str:
    digest, position = hashlib.sha256(), 0
    while chunk := os.pread(fd, WRITE_BYTES, position):
        digest.update(chunk)
        position += len(chunk)
    return digest.hexdigest()


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _scan_blobs(directory: Path) -> list[StoredFile]:
    found = []
    for entry in os.scandir(directory):
        if not (SHA256_HEX.fullmatch(entry.name) and entry.name[:2] == directory.name):
            continue
        with suppress(FileNotFoundError):  # removed while being listed
            stat = entry.stat()
            found.append(StoredFile(entry.name, stat.st_size, _when(stat)))
    return found


def _remove_stale(partial: Path, cutoff: float) -> int:
    removed = 0
    for agency in os.scandir(partial):
        if not agency.is_dir():
            continue
        for entry in os.scandir(agency.path):
            with suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff and _unlink_if_idle(Path(entry.path)):
                    removed += 1
    return removed


def _unlink_if_idle(path: Path) -> bool:
    """Remove an upload no request is appending to right now."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        path.unlink()
        return True
    finally:
        os.close(fd)
