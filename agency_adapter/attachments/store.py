"""The adapter's attachment store: whole files on disk, content-addressed by SHA-256.

``<attachment_dir>/blobs/<sha[:2]>/<sha>`` holds a complete, checked file;
``<attachment_dir>/incoming/`` holds files still arriving (a multipart upload, a download from
the hub). A file is written there while its SHA-256 is computed, then moved in with one
``os.replace``: a reader never sees half a file, and no file is ever held whole in memory.
The file is synced before the move and its directory after it (and any directory the move
needed first), so a file the store has taken in is still there after a power cut.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import BinaryIO

from schemas.durable_files import make_directories, sync_directory

# What is read or written at once, and the most a writer buffers. 256 KiB, not 1 MiB: a piece
# is held two or three times over on its way through a process (see the hub's WRITE_BYTES).
CHUNK = 256 * 1024
DOWNLOAD = ".download"


class AttachmentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    def has(self, sha256: str, size: int) -> bool:
        """Whether the complete file is here (its size is checked; its digest was on entry)."""
        try:
            return self.path(sha256).stat().st_size == size
        except FileNotFoundError:
            return False

    def incoming(self, name: str) -> Path:
        folder = self.root / "incoming"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    @staticmethod
    def download_name(sha256: str) -> str:
        """The temporary file a download from the hub grows in, kept between attempts."""
        return f"{sha256}{DOWNLOAD}"

    def downloads(self) -> set[str]:
        """The SHA-256 of every download from the hub left unfinished."""
        folder = self.root / "incoming"
        if not folder.is_dir():
            return set()
        return {
            p.name.removesuffix(DOWNLOAD) for p in folder.iterdir() if p.name.endswith(DOWNLOAD)
        }

    def remove_download(self, sha256: str) -> None:
        (self.root / "incoming" / self.download_name(sha256)).unlink(missing_ok=True)

    def receive(self) -> Incoming:
        """A new temporary file to write an arriving attachment into."""
        return Incoming(self.incoming(f"{uuid.uuid4()}.upload"))

    async def resume(self, name: str) -> Incoming:
        """The temporary file `name`, reopened to go on where an earlier attempt stopped."""
        return await asyncio.to_thread(Incoming.reopen, self.incoming(name))

    def adopt(self, temporary: Path, sha256: str) -> None:
        """Move a checked, synced temporary file into the store, durably (atomic; the file
        moved in replaces a copy already there, which has the same bytes)."""
        target = self.path(sha256)
        make_directories(target.parent)
        os.replace(temporary, target)
        sync_directory(target.parent)

    async def put(self, content: bytes, sha256: str) -> None:
        """Store bytes held in memory already (attachments that came as base64 JSON)."""
        if self.path(sha256).exists():
            return
        incoming = self.receive()
        try:
            await incoming.write(content)
            await incoming.finish()
            await asyncio.to_thread(self.adopt, incoming.path, sha256)
        finally:
            incoming.discard()

    def remove(self, sha256: str) -> None:
        """Delete a stored file (and say so to the disk: content deleted on mistake must not
        come back after a power cut)."""
        target = self.path(sha256)
        try:
            target.unlink()
        except FileNotFoundError:
            return
        sync_directory(target.parent)

    async def chunks(self, sha256: str, start: int, end: int) -> AsyncGenerator[bytes, None]:
        """Bytes start..end-1 of a stored file, read CHUNK at a time."""
        with self.path(sha256).open("rb") as file:
            file.seek(start)
            left = end - start
            while left > 0:
                data = await asyncio.to_thread(file.read, min(CHUNK, left))
                if not data:
                    raise OSError(f"stored attachment {sha256} is shorter than expected")
                left -= len(data)
                yield data


class Incoming:
    """A file being written: hashed as it is written, buffered at most CHUNK bytes."""

    def __init__(self, path: Path, *, append: bool = False, digest: hashlib._Hash | None = None,
                 size: int = 0) -> None:  # fmt: skip
        self.path = path
        self.size = size
        self._digest = digest or hashlib.sha256()
        self._buffer = bytearray()
        self._file: BinaryIO | None = path.open("ab" if append else "wb")

    @classmethod
    def reopen(cls, path: Path) -> Incoming:
        """Go on writing `path`: what it holds is hashed again first (read CHUNK at a time)."""
        digest, size = hashlib.sha256(), 0
        if path.exists():
            with path.open("rb") as file:
                while data := file.read(CHUNK):
                    digest.update(data)
                    size += len(data)
        return cls(path, append=True, digest=digest, size=size)

    async def write(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= CHUNK:
            await self._flush()

    async def _flush(self) -> None:
        if self._buffer:
            data, self._buffer = self._buffer, bytearray()  # handed over whole, not copied
            await asyncio.to_thread(self._write, data)

    def _write(self, data: bytearray) -> None:
        assert self._file is not None, "written after it was finished"
        self._digest.update(data)
        self._file.write(data)

    def restart(self) -> None:
        """Throw away what was written and start again from byte 0."""
        self.close()
        self._digest, self._buffer, self.size = hashlib.sha256(), bytearray(), 0
        self._file = self.path.open("wb")

    async def finish(self) -> str:
        """Write out and close the file (synced to disk); its SHA-256 in lowercase hex."""
        await self._flush()
        await asyncio.to_thread(self._sync_and_close)
        return self._digest.hexdigest()

    def _sync_and_close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        """Close and delete the temporary file (nothing left when it was adopted already)."""
        self.close()
        self.path.unlink(missing_ok=True)
