"""Unfinished uploads on a real disk: each byte kept once whatever ends a request, blobs'
directories recorded durably, and the sweeper never removing a newer upload than it judged."""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.attachments import partial as partial_module
from hub.attachments import store as store_module
from hub.attachments.partial import WRITE_BYTES, PartialUpload
from hub.attachments.store import FilesystemStore
from schemas import durable_files
from tests.hub.attachments.transfer import sha

AGENCY = "000.04.29.H40"


async def _append_until_cancelled(
    store: FilesystemStore, digest: str, body: AsyncIterator[bytes], ready: threading.Event
) -> None:
    """Append `body` to an upload, and cancel that once `ready` is set."""

    async def appending() -> None:
        async with store.upload(AGENCY, digest, create=True) as upload:
            await upload.append(body)

    task = asyncio.create_task(appending())
    await asyncio.to_thread(ready.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_append_cancelled_while_a_write_is_in_flight_keeps_each_byte_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, first = FilesystemStore(tmp_path), os.urandom(WRITE_BYTES)
    writing = threading.Event()
    write = PartialUpload._write

    def slow_disk(upload: PartialUpload, data: bytes, sync: bool = False) -> None:
        """The first write lands in two halves with a pause between (a busy disk)."""
        if writing.is_set():
            write(upload, data, sync)
            return
        writing.set()
        write(upload, data[: len(data) // 2])
        time.sleep(0.3)
        write(upload, data[len(data) // 2 :], sync)

    monkeypatch.setattr(PartialUpload, "_write", slow_disk)

    async def body() -> AsyncIterator[bytes]:
        yield first
        yield b"never read: the request is cancelled before"
        await asyncio.Event().wait()

    await _append_until_cancelled(store, sha(first), body(), writing)
    assert store.partial_path(AGENCY, sha(first)).read_bytes() == first
    assert await store.upload_offset(AGENCY, sha(first)) == len(first)


async def test_an_append_cancelled_while_waiting_for_the_body_keeps_what_came(
    tmp_path: Path,
) -> None:
    store, first, tail = FilesystemStore(tmp_path), os.urandom(WRITE_BYTES), os.urandom(1000)
    waiting = threading.Event()

    async def body() -> AsyncIterator[bytes]:
        yield first
        yield tail
        waiting.set()
        await asyncio.Event().wait()

    await _append_until_cancelled(store, sha(first), body(), waiting)
    assert store.partial_path(AGENCY, sha(first)).read_bytes() == first + tail


async def test_a_new_blob_directory_is_recorded_in_its_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, synced = FilesystemStore(tmp_path), []
    sync = durable_files.sync_directory

    def recorded(directory: Path) -> None:
        synced.append(directory)
        sync(directory)

    monkeypatch.setattr(store_module, "sync_directory", recorded)  # the move into blobs/xx
    monkeypatch.setattr(durable_files, "sync_directory", recorded)  # a new blobs/xx
    for data in (b"first", b"second"):
        upload = tmp_path / "upload"
        upload.write_bytes(data)
        store.adopt(upload, sha(data))
    first, second = (store.blob_path(sha(data)).parent for data in (b"first", b"second"))
    assert synced[:3] == [tmp_path, store.blobs, first]  # blobs/ made, then blobs/<xx>/
    assert synced[3:] == ([second] if first == second else [store.blobs, second])


def test_the_sweeper_leaves_a_newer_upload_under_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the sweeper's opening a stale upload and its locking it, the request holding
    it finished it (moved it away) and a new upload of the same file began at the same path."""
    store = FilesystemStore(tmp_path)
    path = store.partial_path(AGENCY, sha(b"x"))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"stale")
    os.utime(path, (time.time() - 3600, time.time() - 3600))
    flock = fcntl.flock

    def overtaken(fd: int, operation: int) -> None:
        if path.read_bytes() == b"stale":
            path.rename(tmp_path / "finished")
            path.write_bytes(b"new upload")
        flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", overtaken)
    assert partial_module.remove_stale(store.partial, time.time() - 60) == 0
    assert path.read_bytes() == b"new upload"
