"""The adapter's file store: content-addressed, hashed while written, resumable."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from agency_adapter.attachments.outgoing import outside
from agency_adapter.attachments.store import CHUNK, AttachmentStore


async def test_a_file_is_hashed_as_written_and_enters_the_store_whole(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path)
    content = os.urandom(2 * CHUNK + 123)
    incoming = store.receive()
    for start in range(0, len(content), 100_000):
        await incoming.write(content[start : start + 100_000])
    digest = await incoming.finish()
    assert digest == hashlib.sha256(content).hexdigest() and incoming.size == len(content)
    assert not store.has(digest, len(content))  # not before it is adopted
    store.adopt(incoming.path, digest)
    assert store.has(digest, len(content)) and not incoming.path.exists()
    assert store.path(digest) == tmp_path / "blobs" / digest[:2] / digest
    read = b"".join([chunk async for chunk in store.chunks(digest, 5, len(content))])
    assert read == content[5:]


async def test_an_interrupted_file_goes_on_where_it_stopped(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path)
    content = os.urandom(3 * CHUNK + 10)
    stop = 2 * CHUNK + 1000  # mid-chunk: part of it was still in the writer's buffer
    first = await store.resume("abc.download")
    await first.write(content[:stop])
    await first.finish()  # the process stopped here; the next attempt reopens the file
    again = await store.resume("abc.download")
    assert again.size == stop
    await again.write(content[stop:])
    assert await again.finish() == hashlib.sha256(content).hexdigest()
    again.discard()
    assert not again.path.exists()


def test_the_largest_files_leave_the_package_until_the_rest_fits() -> None:
    assert outside([10, 20, 30], limit=100) == set()
    assert outside([10, 500, 30, 200], limit=100) == {1, 3}
    assert outside([80, 90], limit=100) == {1}
    assert outside([5, 5], limit=0) == {0, 1}


async def test_a_file_taken_in_is_synced_with_every_directory_it_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file, the directory it moves into, and each directory created for it reach the
    disk: after a power cut the store still has what it said it had."""
    synced: list[Path] = []
    fsync = os.fsync

    def recording(fd: int) -> None:
        synced.append(Path(os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recording)
    store = AttachmentStore(tmp_path)
    incoming = store.receive()
    await incoming.write(b"ban do quy hoach")
    digest = await incoming.finish()
    store.adopt(incoming.path, digest)
    fan_out = tmp_path / "blobs" / digest[:2]
    assert synced == [incoming.path, tmp_path, tmp_path / "blobs", fan_out]
    synced.clear()
    again = store.receive()
    await again.write(b"ban do quy hoach")
    await again.finish()
    store.adopt(again.path, digest)  # the same file again: only its directory changes
    store.remove(digest)
    assert synced == [again.path, fan_out, fan_out]
