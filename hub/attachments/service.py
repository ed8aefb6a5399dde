"""Uploads into the attachment store and downloads from it.

An upload is resumable: each agency has its own partial file per SHA-256, every chunk must
start where that file ends, and whatever arrived before a connection dropped is kept. When the
last byte is in, the file is hashed: the right digest moves it into the store, a wrong one
discards it. Nothing here holds a database transaction while a body streams.

Knowing a digest gives nothing: only an agency that uploaded the bytes itself (possession is
recorded when its digest checks, even if the store had the file already) or that may
download them hears that the store has a file; any other agency uploads it like a new one.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from hub.attachments import repository
from hub.attachments.errors import (
    DigestMismatch,
    OffsetMismatch,
    StoreFull,
    UploadQuotaExceeded,
)
from hub.attachments.payloads import Chunk, ContentRange, UploadProgress, UploadStatus
from hub.attachments.store import SHA256_HEX, AttachmentStore, OpenedFile, StoredFile, Upload
from hub.db import transaction
from hub.errors import BadRequest, Forbidden, NotFound, TooLarge
from hub.runtime import Runtime


def valid_sha256(sha256: str) -> str:
    if not SHA256_HEX.fullmatch(sha256):
        raise BadRequest(
            f"'{sha256[:80]}' in the path is not a SHA-256: it must be 64 lowercase hex digits"
        )
    return sha256


async def _complete_for(rt: Runtime, agency: str, sha256: str) -> StoredFile | None:
    """The stored file, claimed, if this agency uploaded it itself or may download it."""
    async with rt.sessions() as session:
        allowed = await repository.entitled(session, agency, sha256)
    return await rt.store.claim(sha256) if allowed else None


async def upload_status(rt: Runtime, agency: str, sha256: str) -> UploadStatus:
    """Complete (with its size) for an agency entitled to the stored file; else, and for
    everyone else whatever the store holds, this agency's own offset."""
    stored = await _complete_for(rt, agency, valid_sha256(sha256))
    if stored is not None:
        return UploadStatus(sha256=sha256, offset=stored.size, complete=True)
    offset = await rt.store.upload_offset(agency, sha256)
    return UploadStatus(sha256=sha256, offset=offset, complete=False)


async def receive(rt: Runtime, agency: str, chunk: Chunk) -> UploadProgress:
    """Append one chunk to the agency's upload; finish it when the last byte is in."""
    sha256, span = valid_sha256(chunk.sha256), ContentRange.parse(chunk.content_range)
    limit = rt.settings.max_attachment_bytes
    if span.total > limit:
        raise TooLarge(f"the file is {span.total:,} bytes; this hub stores at most {limit:,}")
    if (stored := await _complete_for(rt, agency, sha256)) is not None:
        return UploadProgress(offset=stored.size, complete=True)
    await _make_room(rt, agency, sha256, span)
    async with rt.store.upload(agency, sha256, create=span.start == 0) as upload:
        if (stored := await _complete_for(rt, agency, sha256)) is not None:
            await upload.discard()  # another request of this agency finished it meanwhile
            return UploadProgress(offset=stored.size, complete=True)
        if upload.offset != span.start:
            raise OffsetMismatch(
                f"this chunk starts at byte {span.start:,}, but the upload so far has "
                f"{upload.offset:,} bytes; send from there",
                offset=upload.offset,
            )
        await upload.append(_at_most(chunk.body, span.length))
        if upload.offset == 0 < span.total:
            await upload.discard()  # nothing came: no empty file is left behind
        if upload.offset < span.total:
            return UploadProgress(offset=upload.offset, complete=False)
        return await _finish(rt, upload, agency, sha256)


async def _make_room(rt: Runtime, agency: str, sha256: str, span: ContentRange) -> None:
    """Refuse a chunk that would take the agency past its quota or the disk below its reserve."""
    settings, quota = rt.settings, rt.settings.attachment_partial_quota_bytes
    if span.total > quota:  # never possible, however long the agency waits: not a 507
        raise TooLarge(
            f"the file is {span.total:,} bytes; this hub takes unfinished uploads of at most "
            f"{quota:,} bytes per agency (attachment_partial_quota_bytes)"
        )
    others = await rt.store.unfinished_bytes(agency, besides=sha256)
    if others + span.total > quota:
        raise UploadQuotaExceeded(
            f"'{agency}' has {others:,} bytes of unfinished uploads at this hub; this file's "
            f"{span.total:,} would pass the cap of {quota:,} bytes per agency "
            "(attachment_partial_quota_bytes): finish other uploads first (abandoned ones are "
            f"removed after {settings.attachment_partial_days} days)"
        )
    floor = settings.attachment_min_free_bytes
    if span.length and await rt.store.free_bytes() - span.length < floor:
        raise StoreFull(
            f"the hub's attachment store is full (it keeps {floor:,} bytes free, "
            "attachment_min_free_bytes); try again later"
        )


async def _at_most(body: AsyncIterable[bytes], length: int) -> AsyncIterator[bytes]:
    """The body's first `length` bytes; BadRequest (after those) if it carries more."""
    remaining = length
    async for chunk in body:
        if len(chunk) > remaining:
            yield chunk[:remaining]
            raise BadRequest(f"the body is longer than the {length:,} bytes Content-Range gives")
        remaining -= len(chunk)
        yield chunk


async def _finish(rt: Runtime, upload: Upload, agency: str, sha256: str) -> UploadProgress:
    """Check the digest; move the file into the store, or drop this copy when the store has
    the file already. Either way the agency has shown that it holds the bytes."""
    digest = await upload.digest()
    if digest != sha256:
        await upload.discard()
        raise DigestMismatch(
            f"the {upload.offset:,} bytes uploaded have SHA-256 {digest}, not {sha256}; the "
            "upload was discarded, start it again from offset 0"
        )
    adopted = await rt.store.stored(sha256) is None
    if adopted:
        await upload.complete()  # no transaction is open while an object store takes it
    async with transaction(rt.sessions) as session:
        await repository.hold_shared(session, sha256)  # no removal of the file until recorded
        if not adopted:
            await _keep_one_copy(rt.store, upload, sha256)
        await repository.record_possession(session, agency, sha256)
    return UploadProgress(offset=upload.offset, complete=True)


async def _keep_one_copy(store: AttachmentStore, upload: Upload, sha256: str) -> None:
    if await store.claim(sha256) is None:  # removed since it was looked at: this copy replaces it
        await upload.complete()
    else:
        await upload.discard()


async def download(rt: Runtime, agency: str, sha256: str) -> OpenedFile:
    """The stored file, open, for an agency that sent or received a document carrying it."""
    valid_sha256(sha256)
    async with rt.sessions() as session:
        allowed = await repository.may_download(session, agency, sha256)
    if not allowed:
        raise Forbidden(
            f"'{agency}' neither sent nor received a document carrying attachment {sha256}"
        )
    found = await rt.store.open(sha256)
    if found is None:
        raise NotFound(
            f"attachment {sha256} is not in the hub's store (never uploaded, or removed)"
        )
    return found
