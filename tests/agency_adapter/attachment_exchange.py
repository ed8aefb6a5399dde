"""A hub whose attachment store is served over HTTP, and the district's and commune's
adapters on it: what the tests of files outside packages share."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from agency_adapter.settings import AdapterSettings
from hub.models import AgencyLevel, Delivery, Envelope
from tests.agency_adapter.adapter_stack import Adapter, adapter_settings, running_adapter
from tests.agency_adapter.codes import COMMUNE, DISTRICT
from tests.hub.hub_stack import HubStack, hub_stack
from tests.hub.served import serving

MIB = 1024 * 1024
INLINE_LIMIT = 64 * 1024  # small, so that a few MB already travel outside the package
TIFF = "image/tiff"


@dataclass
class Exchange:
    """A hub whose API (and attachment store) is served on a local port, a district and a
    commune registered; their adapters start when a test wants them."""

    hub: HubStack
    hub_url: str
    directory: Path

    def settings(self, code: str, **extra: Any) -> AdapterSettings:
        defaults = {"hub_url": self.hub_url, "inline_limit_bytes": INLINE_LIMIT,
                    "attachment_dir": self.directory / code / "attachments"}  # fmt: skip
        return adapter_settings(self.hub, self.hub.members[code], self.directory,
                                **(defaults | extra))  # fmt: skip

    def adapter(self, code: str, **extra: Any) -> AbstractAsyncContextManager[Adapter]:
        return running_adapter(self.settings(code, **extra))

    def stored_at_hub(self, digest: str) -> Path:
        return self.hub.settings.attachment_dir / "blobs" / digest[:2] / digest


@asynccontextmanager
async def exchange_on(directory: Path, **hub_settings: Any) -> AsyncIterator[Exchange]:
    async with hub_stack(directory / "hub", attachment_dir=directory / "hub-store",
                         **hub_settings) as hub:  # fmt: skip
        await hub.register(DISTRICT, AgencyLevel.DISTRICT)
        await hub.register(COMMUNE, AgencyLevel.COMMUNE, DISTRICT)
        async with hub.worker(), serving(hub) as url:
            yield Exchange(hub, url, directory)


def random_file(path: Path, size: int) -> str:
    """Write `size` random bytes, 1 MiB at a time; their SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as file:
        for start in range(0, size, MIB):
            chunk = os.urandom(min(MIB, size - start))
            digest.update(chunk)
            file.write(chunk)
    return digest.hexdigest()


async def post_file(client: httpx.AsyncClient, path: Path, to: str = DISTRICT,
                    subject: str = "V/v bản đồ quy hoạch") -> httpx.Response:  # fmt: skip
    """POST /v1/documents as multipart, the file streamed from disk by httpx."""
    metadata = json.dumps({"to": [to], "subject": subject})
    with path.open("rb") as file:
        return await client.post("/v1/documents", data={"metadata": metadata},
                                 files=[("files", (path.name, file, TIFF))])  # fmt: skip


async def delivered_by_hub(hub: HubStack, document_id: str) -> None:
    """Wait until the hub has accepted the document and put it in the mailbox."""
    query = select(Delivery.state).join(Envelope).where(Envelope.document_id == document_id)
    for _ in range(300):
        async with hub.runtime.sessions() as session:
            if list(await session.scalars(query)) == ["queued"]:
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the hub did not route the document")
