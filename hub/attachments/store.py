"""The hub's attachment store: files that travel outside the packages, named by their SHA-256.

On a filesystem (the default backend): a complete file lives at <dir>/blobs/<sha[:2]>/<sha>, and
an agency's unfinished upload at <dir>/partial/<agency>/<sha> (see hub.attachments.partial),
growing request by request until its digest is checked and it is moved into blobs with one
atomic rename. Callers use only the ``AttachmentStore`` protocol, so that an object-store
backend can take this one's place.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import threading
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from hub.attachments import partial
from hub.attachments.errors import StoreUnavailable
from hub.attachments.partial import WRITE_BYTES, PartialUpload
from schemas.durable_files import make_directories, sync_directory

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


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


class OpenedFile(Protocol):
    """A stored file held open for one answer: removing it from the store meanwhile does not
    cut the answer short."""

    @property
    def file(self) -> StoredFile: ...

    async def stream(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes `start`..`end` (inclusive), in pieces; reading begins before this returns, so
        a file gone meanwhile is NotFound here, before any byte of an answer. The file is
        closed when the pieces end."""

    def close(self) -> None:
        """Let go of the file (again is harmless)."""


class AttachmentStore(Protocol):
    async def stored(self, sha256: str) -> StoredFile | None: ...

    async def claim(self, sha256: str) -> StoredFile | None:
        """The file, marked as used now (an agency is about to send a package listing it)."""

    async def upload_offset(self, agency: str, sha256: str) -> int: ...

    def upload(self, agency: str, sha256: str, create: bool) -> AbstractAsyncContextManager[Upload]:
        """The agency's upload, locked; `create` starts one if none has begun (else an
        OffsetMismatch at 0)."""

    async def unfinished_bytes(self, agency: str, besides: str) -> int:
        """How many bytes the agency's unfinished uploads hold, but for the one of `besides`."""

    async def free_bytes(self) -> int:
        """The space left where uploads grow."""

    async def remove(self, sha256: str) -> bool: ...

    def listing(self) -> AsyncIterator[list[StoredFile]]:
        """Every complete file, in batches."""

    async def remove_stale_uploads(self, before: datetime) -> int:
        """Remove unfinished uploads last written before `before`; returns how many."""

    async def open(self, sha256: str) -> OpenedFile | None:
        """The stored file, held open for reading; None if the store does not have it."""


def checked(sha256: str) -> str:
    """Only a SHA-256 in lowercase hex ever becomes part of a path."""
    if not SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 in lowercase hex: {sha256!r}")
    return sha256


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
        return self.partial / partial.directory_name(agency) / checked(sha256)

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
    async def upload(self, agency: str, sha256: str, create: bool) -> AsyncIterator[Upload]:
        path = self.partial_path(agency, sha256)
        fd = await partial.locked(path, create)
        upload = PartialUpload(fd, path, sha256, self.adopt)
        try:
            yield upload
        finally:
            await upload.settle()  # no worker thread may still use the descriptor
            os.close(fd)  # releases the lock

    async def unfinished_bytes(self, agency: str, besides: str) -> int:
        directory = self.partial / partial.directory_name(agency)
        return await asyncio.to_thread(partial.unfinished_bytes, directory, besides)

    async def free_bytes(self) -> int:
        place = self.partial
        while not place.exists():  # not made yet: the filesystem it will be made on
            place = place.parent
        found = await asyncio.to_thread(os.statvfs, place)
        return found.f_bavail * found.f_frsize

    def adopt(self, upload: Path, sha256: str) -> None:
        """Move a checked upload into blobs in one rename, durably."""
        target = self.blob_path(sha256)
        try:
            make_directories(target.parent)
            os.replace(upload, target)
            sync_directory(target.parent)
        except OSError as error:
            raise partial.unwritable(error) from None

    async def remove(self, sha256: str) -> bool:
        """Delete a stored file, durably: content deleted on mistake must not come back after
        a power cut."""
        target = self.blob_path(sha256)
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        sync_directory(target.parent)
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
        return await asyncio.to_thread(partial.remove_stale, self.partial, before.timestamp())

    async def open(self, sha256: str) -> OpenedFile | None:
        try:
            file = self.blob_path(sha256).open("rb", buffering=0)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise _unreadable(error) from None
        stat = os.fstat(file.fileno())
        return _OpenBlob(file, StoredFile(sha256, stat.st_size, _when(stat)))


def _unreadable(error: OSError) -> StoreUnavailable:
    return StoreUnavailable(f"the hub's attachment store cannot be read: {error.strerror}")


class _OpenBlob:
    """A blob held open by descriptor: a purge unlinking it meanwhile changes nothing here."""

    def __init__(self, file: io.FileIO, stored: StoredFile) -> None:
        self._file, self._stored = file, stored
        # Reads run in worker threads: closing waits for the one in progress, so that no
        # thread ever reads a descriptor that was closed (or reused for another file).
        self._guard = threading.Lock()

    @property
    def file(self) -> StoredFile:
        return self._stored

    async def stream(self, start: int, end: int) -> AsyncIterator[bytes]:
        return self._pieces(start, end)

    async def _pieces(self, start: int, end: int) -> AsyncIterator[bytes]:
        position = start
        try:
            while position <= end:
                size = min(end + 1 - position, WRITE_BYTES)
                piece = await asyncio.to_thread(self._read, size, position)
                if not piece:
                    return
                position += len(piece)
                yield piece
        finally:
            self.close()

    def _read(self, size: int, position: int) -> bytes:
        with self._guard:
            if self._file.closed:
                return b""
            try:
                return os.pread(self._file.fileno(), size, position)
            except OSError as error:
                raise _unreadable(error) from None

    def close(self) -> None:
        with self._guard:
            self._file.close()


def _scan_blobs(directory: Path) -> list[StoredFile]:
    found = []
    for entry in os.scandir(directory):
        if not (SHA256_HEX.fullmatch(entry.name) and entry.name[:2] == directory.name):
            continue
        with suppress(FileNotFoundError):  # removed while being listed
            stat = entry.stat()
            found.append(StoredFile(entry.name, stat.st_size, _when(stat)))
    return found
