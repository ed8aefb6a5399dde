"""Complete attachment files in an S3-compatible object store.

Unfinished uploads grow chunk by chunk, which objects cannot, so they stay in the local
directory exactly as the filesystem store keeps them (locks included); once an upload's digest
is checked it is streamed to the bucket as a multipart upload (at most two 8 MiB parts in
memory) and the local copy is dropped. When a file was last claimed by an agency is kept
beside the uploads, since an object's time cannot be touched without copying it.
boto3 is synchronous: every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from hub.attachments.errors import StoreUnavailable
from hub.attachments.store import SHA256_HEX, FilesystemStore, OpenedFile, StoredFile, checked
from hub.errors import NotFound
from hub.settings import HubSettings

PART_BYTES = 8 * 1024 * 1024
READ_BYTES = 1024 * 1024
_TRANSFER = TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES,
                           max_concurrency=2, use_threads=True)  # fmt: skip
T = TypeVar("T")


def _missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in {"404", "NoSuchKey", "NotFound"}


async def _call(work: Callable[[], T]) -> T:
    """A boto3 call in a worker thread; StoreUnavailable when the object store fails."""
    try:
        return await asyncio.to_thread(work)
    except (BotoCoreError, ClientError) as error:
        raise StoreUnavailable(f"the hub's object store did not answer: {error}") from None


class S3Store(FilesystemStore):
    """The filesystem store's uploads, with complete files in a bucket."""

    def __init__(self, settings: HubSettings) -> None:
        super().__init__(settings.attachment_dir)
        assert settings.attachment_s3_bucket is not None
        self.bucket, self.prefix = settings.attachment_s3_bucket, settings.attachment_s3_prefix
        self.claims = settings.attachment_dir / "claims"
        secret = settings.attachment_s3_secret_key
        self.client: Any = boto3.client(
            "s3", endpoint_url=settings.attachment_s3_endpoint_url,
            region_name=settings.attachment_s3_region,
            aws_access_key_id=settings.attachment_s3_access_key,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
        )  # fmt: skip

    def key(self, sha256: str) -> str:
        return f"{self.prefix}blobs/{checked(sha256)}"

    def adopt(self, partial: Path, sha256: str) -> None:
        """Stream a checked upload into the bucket (called in a worker thread)."""
        try:
            self.client.upload_file(str(partial), self.bucket, self.key(sha256), Config=_TRANSFER)
        except (BotoCoreError, ClientError) as error:
            message = f"the hub's object store did not take the file: {error}"
            raise StoreUnavailable(message) from None
        self._touch(sha256)
        partial.unlink(missing_ok=True)

    def _touch(self, sha256: str) -> None:
        self.claims.mkdir(parents=True, exist_ok=True)
        (self.claims / checked(sha256)).touch()

    def _claimed_at(self, sha256: str) -> datetime | None:
        try:
            return datetime.fromtimestamp((self.claims / sha256).stat().st_mtime, UTC)
        except FileNotFoundError:
            return None

    def _file(self, sha256: str, size: int, modified: datetime) -> StoredFile:
        claimed = self._claimed_at(sha256)
        return StoredFile(sha256, size, max(modified, claimed) if claimed else modified)

    def _head(self, sha256: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.client.head_object(
                Bucket=self.bucket, Key=self.key(sha256)
            )
        except ClientError as error:
            if _missing(error):
                return None
            raise
        return found

    async def stored(self, sha256: str) -> StoredFile | None:
        head = await _call(lambda: self._head(sha256))
        if head is None:
            return None
        return self._file(sha256, int(head["ContentLength"]), head["LastModified"])

    async def claim(self, sha256: str) -> StoredFile | None:
        if await self.stored(sha256) is not None:
            self._touch(sha256)
        return await self.stored(sha256)

    async def remove(self, sha256: str) -> bool:
        existed = await self.stored(sha256) is not None
        key = self.key(sha256)
        await _call(lambda: self.client.delete_object(Bucket=self.bucket, Key=key))
        with suppress(FileNotFoundError):
            (self.claims / sha256).unlink()
        return existed

    async def listing(self) -> AsyncIterator[list[StoredFile]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}blobs/"
        )
        iterator = iter(pages)
        while (page := await _call(lambda: next(iterator, None))) is not None:
            found = [self._file(o["Key"].rsplit("/", 1)[1], int(o["Size"]), o["LastModified"])
                     for o in page.get("Contents", [])
                     if SHA256_HEX.fullmatch(o["Key"].rsplit("/", 1)[1])]  # fmt: skip
            if found:
                yield found

    async def open(self, sha256: str) -> OpenedFile | None:
        found = await self.stored(sha256)
        return _Object(self, found) if found is not None else None


class _Object:
    """A stored object about to be read: its GET is made before an answer starts, so an object
    removed meanwhile is a 404, never an answer cut short."""

    def __init__(self, store: S3Store, stored: StoredFile) -> None:
        self._store, self._stored = store, stored
        self._body: Any = None
        self._guard = threading.Lock()  # a read in a worker thread finishes before a close

    @property
    def file(self) -> StoredFile:
        return self._stored

    async def stream(self, start: int, end: int) -> AsyncIterator[bytes]:
        sha256, store = self._stored.sha256, self._store
        try:
            answer = await asyncio.to_thread(lambda: store.client.get_object(
                Bucket=store.bucket, Key=store.key(sha256), Range=f"bytes={start}-{end}"
            ))  # fmt: skip
        except ClientError as error:
            if _missing(error):
                raise NotFound(f"attachment {sha256} was removed from the hub's store") from None
            raise StoreUnavailable(f"the hub's object store did not answer: {error}") from None
        except BotoCoreError as error:
            raise StoreUnavailable(f"the hub's object store did not answer: {error}") from None
        self._body = answer["Body"]
        return self._pieces()

    async def _pieces(self) -> AsyncIterator[bytes]:
        """The body a megabyte at a time."""
        try:
            while chunk := await _call(self._read):
                yield chunk
        finally:
            self.close()

    def _read(self) -> bytes:
        with self._guard:
            return b"" if self._body is None else bytes(self._body.read(READ_BYTES))

    def close(self) -> None:
        with self._guard:
            if self._body is not None:
                self._body.close()
                self._body = None
