"""The hub's attachment store over HTTP: resumable uploads and downloads, streamed.

Every request is signed with the agency's package key (schemas.request_auth). A dropped
connection is not a failure: an upload asks the hub how far it got and goes on from there, a
download asks for the rest with a Range header. Only when ATTEMPTS tries in a row make no
progress does the hub count as away (HubUnavailable: the caller tries again later). Files
move at most 256 KiB at a time (the store's CHUNK); none is ever held whole in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from agency_adapter.attachments.store import Incoming
from agency_adapter.context import AdapterContext
from agency_adapter.errors import (
    AdapterError,
    AttachmentMismatch,
    AttachmentRefused,
    HubForbids,
    HubUnavailable,
    UploadDigestMismatch,
)
from schemas.http_tls import outgoing_client
from schemas.request_auth import authorization

log = logging.getLogger(__name__)
# Long reads: the hub hashes a whole file before it answers the PUT that completes it.
TIMEOUT = httpx.Timeout(120.0, connect=10.0)
ATTEMPTS = 4
PAUSE_S = 0.2
TRANSIENT = {401, 404, 408, 425, 429}  # besides 5xx: worth asking again later


def _detail(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("detail", answer.text))[:300]
    except ValueError:
        return answer.text[:300]


def _error_code(answer: httpx.Response) -> str | None:
    try:
        said = answer.json()
    except ValueError:
        return None
    return str(said.get("error")) if isinstance(said, dict) else None


def _check(answer: httpx.Response, doing: str,
           refused: type[AdapterError] = AttachmentRefused) -> None:  # fmt: skip
    """Nothing if it succeeded; HubUnavailable if asking later may help; else `refused`."""
    if answer.is_success:
        return
    said = f"{doing}: the hub answered {answer.status_code}: {_detail(answer)}"
    if answer.status_code >= 500 or answer.status_code in TRANSIENT:
        raise HubUnavailable(said)
    raise refused(said)


class HubAttachments:
    def __init__(self, ctx: AdapterContext) -> None:
        self.ctx = ctx
        self.store = ctx.attachments
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # digest -> (lock, users)

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        if not self.ctx.settings.hub_url:
            raise HubUnavailable("hub_url is not set: files kept outside packages cannot move")
        settings = self.ctx.settings
        bounded = settings.download_buffer_bytes
        async with outgoing_client(base_url=settings.hub_url, timeout=TIMEOUT,
                                   receive_buffer=bounded) as client:  # fmt: skip
            yield client

    def _signed(self, client: httpx.AsyncClient, method: str, path: str,
                **options: Any) -> httpx.Request:  # fmt: skip
        request = client.build_request(method, path, **options)
        request.headers["Authorization"] = authorization(
            self.ctx.identity, self.ctx.settings.agency_code, method, request.url.path
        )
        return request

    # Uploading -------------------------------------------------------------------------

    async def upload(self, sha256: str, size: int, name: str) -> None:
        """Make sure the hub's store holds the file, sending what it lacks in chunks. Once,
        when the hub finds that what it received is not the file (it then throws it away),
        the whole file is sent again from byte 0."""
        if not self.store.has(sha256, size):
            raise AttachmentRefused(f"attachment '{name}' ({sha256}) is missing from the "
                                    "adapter's own store")  # fmt: skip
        async with self._client() as client:
            try:
                await self._send(client, sha256, size, name)
            except UploadDigestMismatch as error:
                log.warning("uploading attachment '%s' again from byte 0: %s", name, error)
                await self._send(client, sha256, size, name)

    async def _send(self, client: httpx.AsyncClient, sha256: str, size: int, name: str) -> None:
        """Send chunks from wherever the hub's copy ends until the hub has the whole file."""
        offset, stalled = await self._upload_offset(client, sha256), 0
        while offset is not None:
            before = offset
            try:
                offset = await self._put(client, sha256, size, offset)
            except httpx.TransportError:  # dropped: the hub kept what reached it
                offset = await self._upload_offset(client, sha256)
            stalled = stalled + 1 if offset == before else 0
            if stalled >= ATTEMPTS:
                raise HubUnavailable(f"uploading attachment '{name}' makes no progress "
                                     f"at byte {before:,}")  # fmt: skip
            await asyncio.sleep(PAUSE_S * stalled)

    async def _upload_offset(self, client: httpx.AsyncClient, sha256: str) -> int | None:
        """How much of the file the hub has from us; None when it has the whole file."""
        try:
            answer = await client.send(
                self._signed(client, "GET", f"/v1/attachments/{sha256}/upload")
            )
        except httpx.TransportError as error:
            raise HubUnavailable(
                f"the hub's attachment store cannot be reached: {error!r}"
            ) from None
        _check(answer, f"asking the hub about attachment {sha256}")
        said = answer.json()
        return None if said["complete"] else int(said["offset"])

    async def _put(self, client: httpx.AsyncClient, sha256: str, size: int,
                   offset: int) -> int | None:  # fmt: skip
        """Send one chunk from `offset`; the hub's offset after it (None: complete)."""
        if offset > size:
            raise AttachmentRefused(f"the hub holds {offset:,} bytes of attachment {sha256}, "
                                    f"which has {size:,}")  # fmt: skip
        end = min(offset + self.ctx.settings.upload_chunk_bytes, size)
        # All bytes there but not finished (the last PUT's answer lost, the hub restarted
        # before its digest check): no bytes, "finish if the offset is the size".
        span = f"bytes {offset}-{end - 1}/{size}" if end > offset else f"bytes */{size}"
        chunks = self.store.chunks(sha256, offset, end)
        headers = {"Content-Range": span, "Content-Length": str(end - offset),
                   "Content-Type": "application/octet-stream"}  # fmt: skip
        try:
            request = self._signed(client, "PUT", f"/v1/attachments/{sha256}", content=chunks,
                                   headers=headers)  # fmt: skip
            answer = await client.send(request)
        finally:
            await chunks.aclose()  # close the file even when the connection dropped
        if answer.status_code == 409:  # we were not where the hub is: go on from its offset
            return int(answer.json()["offset"])
        mismatch = _error_code(answer) == "digest-mismatch"  # the hub threw the partial away
        _check(answer, f"uploading attachment {sha256}",
               UploadDigestMismatch if mismatch else AttachmentRefused)  # fmt: skip
        said = answer.json()
        return None if said["complete"] else int(said["offset"])

    # Downloading -----------------------------------------------------------------------

    async def download(self, sha256: str, size: int, name: str) -> None:
        """Bring the file into the store, checked against the size and SHA-256 the signed
        package gives (AttachmentMismatch if the hub's bytes are others). What arrived
        before a failure is kept, so the next attempt resumes there; if a file resumed so
        turns out wrong, the part kept here may be what is wrong (it is not synced while it
        grows): it is fetched once more from byte 0 before the sender is blamed."""
        async with self._only_one(sha256):
            if self.store.has(sha256, size):
                return
            incoming = await self.store.resume(self.store.download_name(sha256))
            resumed = incoming.size > 0
            try:
                await self._fill(incoming, sha256, size, name)
            except AttachmentMismatch as error:
                if not resumed:
                    raise
                log.warning("attachment '%s' downloaded again from byte 0: %s", name, error)
                incoming = await self.store.resume(self.store.download_name(sha256))
                await self._fill(incoming, sha256, size, name)

    async def _fill(self, incoming: Incoming, sha256: str, size: int, name: str) -> None:
        """Download what `incoming` lacks, check it, move it into the store."""
        try:
            await self._download_into(incoming, sha256, size, name)
            digest = await incoming.finish()
        except AttachmentMismatch:
            incoming.discard()
            raise
        except Exception:
            if not incoming.size:  # nothing came: leave no empty file behind
                incoming.discard()
            else:  # synced, so that the next attempt resumes from bytes that are on disk
                with contextlib.suppress(OSError):
                    await incoming.finish()
            raise
        finally:
            incoming.close()
        if digest != sha256:
            incoming.discard()
            raise AttachmentMismatch(
                f"attachment '{name}': its SHA-256 is {digest} but the package says {sha256}"
            )
        await asyncio.to_thread(self.store.adopt, incoming.path, sha256)

    async def _download_into(self, incoming: Incoming, sha256: str, size: int,
                             name: str) -> None:  # fmt: skip
        if incoming.size > size:
            raise AttachmentMismatch(self._too_long(name, size))
        async with self._client() as client:
            stalled = 0
            while incoming.size < size:
                before = incoming.size
                try:
                    await self._get(client, sha256, size, name, incoming)
                except httpx.TransportError as error:  # dropped: ask for the rest
                    stalled = 0 if incoming.size > before else stalled + 1
                    if stalled >= ATTEMPTS:
                        raise HubUnavailable(
                            f"downloading attachment '{name}' makes no progress: {error!r}"
                        ) from None
                    await asyncio.sleep(PAUSE_S * stalled)

    async def _get(self, client: httpx.AsyncClient, sha256: str, size: int, name: str,
                   incoming: Incoming) -> None:  # fmt: skip
        """One GET of what is missing, streamed into `incoming`."""
        have = incoming.size
        headers = {"Range": f"bytes={have}-"} if have else {}
        request = self._signed(client, "GET", f"/v1/attachments/{sha256}", headers=headers)
        answer = await client.send(request, stream=True)
        try:
            if not answer.is_success:
                await answer.aread()  # the error's detail, to say what the hub said
            self._check_download(answer, incoming, name, size)
            async for data in answer.aiter_bytes():  # as it arrives: none is lost to a cut
                if incoming.size + len(data) > size:
                    raise AttachmentMismatch(self._too_long(name, size))
                await incoming.write(data)
        finally:
            await answer.aclose()
        if incoming.size < size:
            raise AttachmentMismatch(
                f"attachment '{name}': the hub's copy is {incoming.size:,} bytes but the "
                f"package says {size:,}"
            )

    @staticmethod
    def _too_long(name: str, size: int) -> str:
        return (
            f"attachment '{name}': the hub's copy is longer than the {size:,} bytes the "
            "package says"
        )

    @staticmethod
    def _check_download(answer: httpx.Response, incoming: Incoming, name: str, size: int) -> None:
        """Whether the answer brings what is missing. A refusal is not the sender's fault
        (this agency not a recipient, the file purged): the message waits, and is retried."""
        if answer.status_code == 416:  # nothing at or after what we have: the copy is shorter
            raise AttachmentMismatch(
                f"attachment '{name}': the hub's copy is shorter than the {size:,} bytes the "
                "package says"
            )
        doing = f"downloading attachment '{name}'"
        if answer.status_code == 403:
            raise HubForbids(f"{doing}: the hub answered 403: {_detail(answer)}")
        _check(answer, doing, refused=HubUnavailable)
        if not incoming.size:
            return
        if answer.status_code == 200:  # the hub sent the whole file again: take it from byte 0
            incoming.restart()
            return
        start = answer.headers.get("content-range", "").removeprefix("bytes ").split("-")[0]
        if start != str(incoming.size):
            raise HubUnavailable(f"the hub sent the wrong part of '{name}' (from byte {start})")

    @asynccontextmanager
    async def _only_one(self, sha256: str) -> AsyncIterator[None]:
        """One download of a file at a time (two documents may carry the same file)."""
        lock, users = self._locks.get(sha256, (asyncio.Lock(), 0))
        self._locks[sha256] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[sha256]
            if users == 1:
                del self._locks[sha256]
            else:
                self._locks[sha256] = (lock, users - 1)
