"""Resumable uploads into the hub's attachment store, over real HTTP."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from hub.attachments import partial as partial_module
from hub.attachments.store import FilesystemStore
from tests.hub.attachments.conftest import COMMUNE_A, COMMUNE_B, served_hub
from tests.hub.attachments.transfer import eventually, path_of, put, sha, signed, status
from tests.hub.hub_stack import HubStack, Member


async def test_an_upload_in_several_chunks_lands_in_the_store(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    commune = hub.members[COMMUNE_A]
    data = os.urandom(300_000)
    digest = sha(data)
    assert await status(client, commune, digest) == {"sha256": digest, "offset": 0,
                                                     "complete": False}  # fmt: skip
    answers = []
    for start in (0, 100_000, 200_000):
        response = await put(
            client, commune, digest, data[start : start + 100_000], (start, 300_000)
        )
        answers.append(response.json())
    assert answers == [
        {"offset": 100_000, "complete": False},
        {"offset": 200_000, "complete": False},
        {"offset": 300_000, "complete": True},
    ]
    assert store.blob_path(digest).read_bytes() == data
    assert not store.partial_path(COMMUNE_A, digest).exists()
    # Complete for the agency that uploaded it, and a chunk sent again changes nothing.
    assert (await status(client, commune, digest))["complete"] is True
    again = await put(client, commune, digest, data[:10], (0, 300_000))
    assert again.json() == {"offset": 300_000, "complete": True}


async def test_a_chunk_at_the_wrong_offset_is_409_and_the_upload_resumes_where_it_stands(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    commune = hub.members[COMMUNE_A]
    data = os.urandom(50_000)
    digest = sha(data)
    assert (await put(client, commune, digest, data[:20_000], (0, 50_000))).status_code == 200
    skipped = await put(client, commune, digest, data[30_000:], (30_000, 50_000))
    assert skipped.status_code == 409
    assert skipped.json()["error"] == "offset-mismatch" and skipped.json()["offset"] == 20_000
    # Another agency's upload of the same file is its own, from 0.
    assert (await status(client, hub.members[COMMUNE_B], digest))["offset"] == 0
    offset = skipped.json()["offset"]
    resumed = await put(client, commune, digest, data[offset:], (offset, 50_000))
    assert resumed.json() == {"offset": 50_000, "complete": True}
    assert store.blob_path(digest).read_bytes() == data


async def _unfinished_put(
    base_url: str, member: Member, data: bytes, sent: int
) -> asyncio.StreamWriter:
    """A PUT of the whole file over a raw socket, of whose body only `sent` bytes go out."""
    url = urlsplit(base_url)
    path = path_of(sha(data))
    _, writer = await asyncio.open_connection(url.hostname, url.port)
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: {signed(member, 'PUT', path)['Authorization']}\r\n"
        f"Content-Range: bytes 0-{len(data) - 1}/{len(data)}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    writer.write(head.encode() + data[:sent])
    await writer.drain()
    await asyncio.sleep(0.5)  # the hub has read it all by now
    return writer


async def _offset_becomes(client: httpx.AsyncClient, member: Member, sha256: str, n: int) -> None:
    async def there() -> bool:
        return bool((await status(client, member, sha256))["offset"] == n)

    await eventually(there)


async def test_a_dropped_connection_keeps_what_arrived_and_the_retry_resumes(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    commune = hub.members[COMMUNE_A]
    data = os.urandom(200_000)
    digest = sha(data)
    dropped = await _unfinished_put(str(client.base_url), commune, data, sent=80_000)
    dropped.close()
    await dropped.wait_closed()
    await _offset_becomes(client, commune, digest, 80_000)
    resumed = await put(client, commune, digest, data[80_000:], (80_000, 200_000))
    assert resumed.json() == {"offset": 200_000, "complete": True}
    assert store.blob_path(digest).read_bytes() == data


async def test_a_retry_overtaking_an_unfinished_request_hears_409_until_that_one_ends(
    hub: HubStack, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(partial_module, "LOCK_WAIT_S", 0.3)
    commune = hub.members[COMMUNE_A]
    data = os.urandom(100_000)
    digest = sha(data)
    stalled = await _unfinished_put(str(client.base_url), commune, data, sent=1000)
    busy = await put(client, commune, digest, data, (0, 100_000))
    assert busy.status_code == 409 and busy.json()["error"] == "upload-in-progress"
    stalled.close()
    await stalled.wait_closed()
    await _offset_becomes(client, commune, digest, 1000)
    assert (await put(client, commune, digest, data[1000:], (1000, 100_000))).json()["complete"]


async def test_a_connection_gone_silent_lets_go_of_the_upload(tmp_path: Path) -> None:
    """A cut that never reaches the hub (no FIN, no RST): the body's idle limit ends the
    request, what came is kept, and the retry resumes instead of hearing 409 until a restart."""
    async with served_hub(tmp_path, attachment_body_idle_s=0.5) as (hub, client):
        commune = hub.members[COMMUNE_A]
        data = os.urandom(100_000)
        digest = sha(data)
        silent = await _unfinished_put(str(client.base_url), commune, data, sent=30_000)
        try:
            await _offset_becomes(client, commune, digest, 30_000)
            resumed = await put(client, commune, digest, data[30_000:], (30_000, 100_000))
            assert resumed.json() == {"offset": 100_000, "complete": True}
        finally:
            silent.close()
        store = FilesystemStore(hub.settings.attachment_dir)
        assert store.blob_path(digest).read_bytes() == data


async def test_a_refused_chunk_leaves_no_file_behind(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    commune = hub.members[COMMUNE_A]
    data = os.urandom(10_000)
    late = await put(client, commune, sha(data), data[5000:], (5000, 10_000))
    assert late.status_code == 409 and late.json()["offset"] == 0
    assert "send it from byte 0" in late.json()["detail"]
    assert not store.partial_path(COMMUNE_A, sha(data)).exists()
    # A request from byte 0 whose connection drops before any byte leaves no empty file either.
    dropped = await _unfinished_put(str(client.base_url), commune, data, sent=0)
    assert store.partial_path(COMMUNE_A, sha(data)).exists()
    dropped.close()

    async def gone() -> bool:
        return not store.partial_path(COMMUNE_A, sha(data)).exists()

    await eventually(gone)


async def test_an_agencys_unfinished_uploads_have_a_cap(tmp_path: Path) -> None:
    async with served_hub(tmp_path, attachment_partial_quota_bytes=100_000) as (hub, client):
        store = FilesystemStore(hub.settings.attachment_dir)
        commune = hub.members[COMMUNE_A]
        first, second = os.urandom(80_000), os.urandom(50_000)
        begun = await put(client, commune, sha(first), first[:60_000], (0, 80_000))
        assert begun.status_code == 200
        over = await put(client, commune, sha(second), second[:1000], (0, 50_000))
        assert over.status_code == 507 and over.json()["error"] == "upload-quota"
        assert "60,000 bytes of unfinished uploads" in over.json()["detail"]
        assert "cap of 100,000 bytes" in over.json()["detail"]
        assert not store.partial_path(COMMUNE_A, sha(second)).exists()
        # Another agency's uploads count apart; once the first is in, the second may go.
        other = await put(client, hub.members[COMMUNE_B], sha(second), second, (0, 50_000))
        assert other.json() == {"offset": 50_000, "complete": True}
        await put(client, commune, sha(first), first[60_000:], (60_000, 80_000))
        now = await put(client, commune, sha(second), second, (0, 50_000))
        assert now.json() == {"offset": 50_000, "complete": True}
        # A file larger than the cap itself can never go: 413, not a 507 to retry for ever.
        huge = os.urandom(100_001)
        never = await put(client, commune, sha(huge), huge[:1000], (0, len(huge)))
        assert never.status_code == 413 and "at most 100,000 bytes per agency" in never.text


async def test_uploads_stop_short_of_filling_the_hubs_disk(tmp_path: Path) -> None:
    async with served_hub(tmp_path, attachment_min_free_bytes=2**62) as (hub, client):
        store = FilesystemStore(hub.settings.attachment_dir)
        commune = hub.members[COMMUNE_A]
        data = os.urandom(10_000)
        full = await put(client, commune, sha(data), data, (0, 10_000))
        assert full.status_code == 507 and full.json()["error"] == "store-full"
        assert full.json()["detail"].startswith("the hub's attachment store is full")
        assert not store.partial_path(COMMUNE_A, sha(data)).exists()
        empty = await put(client, commune, sha(b""), b"", (0, 0))  # takes no room
        assert empty.json() == {"offset": 0, "complete": True}


async def test_a_wrong_digest_is_422_and_the_upload_is_discarded(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    commune = hub.members[COMMUNE_A]
    data = os.urandom(10_000)
    claimed = sha(b"something else")
    assert (await put(client, commune, claimed, data[:5000], (0, 10_000))).status_code == 200
    wrong = await put(client, commune, claimed, data[5000:], (5000, 10_000))
    assert wrong.status_code == 422
    assert wrong.json()["error"] == "digest-mismatch" and sha(data) in wrong.json()["detail"]
    assert not store.partial_path(COMMUNE_A, claimed).exists()
    assert not store.blob_path(claimed).exists()
    assert await status(client, commune, claimed) == {"sha256": claimed, "offset": 0,
                                                      "complete": False}  # fmt: skip


async def test_an_empty_file_is_uploaded_with_no_bytes(
    hub: HubStack, client: httpx.AsyncClient, store: FilesystemStore
) -> None:
    empty = sha(b"")
    response = await put(client, hub.members[COMMUNE_A], empty, b"", (0, 0))
    assert response.json() == {"offset": 0, "complete": True}
    assert store.blob_path(empty).read_bytes() == b""


async def test_bad_requests_say_what_is_wrong(hub: HubStack, client: httpx.AsyncClient) -> None:
    commune = hub.members[COMMUNE_A]
    digest = sha(b"0123456789")

    async def answer(content_range: str, body: bytes = b"0123456789") -> tuple[int, str, str]:
        headers = signed(commune, "PUT", path_of(digest)) | {"Content-Range": content_range}
        response = await client.put(path_of(digest), content=body, headers=headers)
        return response.status_code, response.json()["error"], response.json()["detail"]

    assert (await answer("bytes 0-9"))[:2] == (400, "bad-request")
    assert (await answer("bytes 5-2/10"))[:2] == (400, "bad-request")
    assert (await answer("bytes 0-9/10", body=b"0123456789+"))[:2] == (400, "bad-request")
    too_large = await answer(f"bytes 0-9/{3 * 1024**3}")
    assert too_large[:2] == (413, "too-large") and "2,147,483,648" in too_large[2]
    for bad in ("ABC", digest.upper()):
        path = f"{path_of(bad)}/upload"
        response = await client.get(path, headers=signed(commune, "GET", path))
        assert response.status_code == 400
        assert "64 lowercase hex digits" in response.json()["detail"]
