"""Which files of a document travel inside its package and which through the hub's store.

Packages whose attachments total at most ``inline_limit_bytes`` are sent as always, every
file base64 inside. Above that, the largest files leave the package, one by one, until what
stays inline fits: the package then lists them (name, type, size, SHA-256) in lienthong's
ExternalAttachments, so the signature still covers their bytes, and the relay uploads them to
the hub before it publishes the package.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agency_adapter.attachments.store import AttachmentStore
from agency_adapter.context import AdapterContext
from agency_adapter.errors import InvalidDocument
from schemas.model import Attachment, ExternalAttachment


@dataclass(frozen=True)
class FileToSend:
    """An attachment a local system sent: in memory (base64 JSON) or received to a file."""

    name: str
    content_type: str
    size: int
    sha256: str
    content: bytes | None = None
    path: Path | None = None  # a temporary file of the store (a multipart part)

    @classmethod
    def in_memory(cls, name: str, content_type: str, content: bytes) -> FileToSend:
        digest = hashlib.sha256(content).hexdigest()
        return cls(name, content_type, len(content), digest, content=content)

    async def read(self) -> bytes:
        """The whole content (only for files small enough to travel inline)."""
        if self.content is not None:
            return self.content
        assert self.path is not None
        return await asyncio.to_thread(self.path.read_bytes)

    async def keep(self, store: AttachmentStore) -> None:
        """Put the file into the store, content-addressed."""
        if self.path is not None:
            await asyncio.to_thread(store.adopt, self.path, self.sha256)
        else:
            assert self.content is not None
            await store.put(self.content, self.sha256)


@dataclass(frozen=True)
class Outgoing:
    """A document's files, placed: inline in the package, or outside it."""

    inline: tuple[Attachment, ...] = ()
    external: tuple[ExternalAttachment, ...] = ()
    to_store: tuple[FileToSend, ...] = ()

    async def keep(self, store: AttachmentStore) -> None:
        """Put the files that travel outside into the store (once the package is signed)."""
        for file in self.to_store:
            await file.keep(store)


def outside(sizes: Sequence[int], limit: int) -> set[int]:
    """Indexes of the files that leave the package: the largest first, until the rest fits."""
    staying = sum(sizes)
    leaving: set[int] = set()
    for index in sorted(range(len(sizes)), key=lambda i: sizes[i], reverse=True):
        if staying <= limit:
            break
        leaving.add(index)
        staying -= sizes[index]
    return leaving


async def place(ctx: AdapterContext, files: Sequence[FileToSend]) -> Outgoing:
    leaving = outside([file.size for file in files], ctx.settings.inline_limit_bytes)
    if leaving and not ctx.settings.hub_url:
        total = sum(file.size for file in files)
        raise InvalidDocument(
            f"the attachments total {total:,} bytes, above the inline limit of "
            f"{ctx.settings.inline_limit_bytes:,}: such files travel through the hub's "
            "attachment store, so hub_url (LIENTHONG_ADAPTER_HUB_URL) must be set"
        )
    inline = [
        Attachment(content_id=str(uuid.uuid4()), name=file.name, content_type=file.content_type,
                   content=await file.read())
        for i, file in enumerate(files) if i not in leaving
    ]  # fmt: skip
    external = [file for i, file in enumerate(files) if i in leaving]
    described = [
        ExternalAttachment(name=f.name, content_type=f.content_type, size=f.size, sha256=f.sha256)
        for f in external
    ]
    return Outgoing(tuple(inline), tuple(described), tuple(external))
