"""What the tests of documents waiting for their files share."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from agency_adapter.models import AwaitingFiles
from tests.agency_adapter.adapter_stack import Adapter
from tests.agency_adapter.attachment_exchange import Exchange, delivered_by_hub, post_file
from tests.agency_adapter.documents import show

QUICK = {"attachment_retry_s": 0.1, "attachment_max_backoff_s": 0.4}
MISTAKE = "Gửi nhầm đơn vị"
SUBJECT = "V/v bản đồ quy hoạch"  # what post_file sends


async def awaiting(adapter: Adapter) -> list[AwaitingFiles]:
    async with adapter.runtime.sessions() as session:
        return list(await session.scalars(select(AwaitingFiles).order_by(AwaitingFiles.id)))


async def tried(adapter: Adapter, attempts: int) -> list[AwaitingFiles]:
    """The rows once the first has been tried `attempts` times."""
    for _ in range(200):
        rows = await awaiting(adapter)
        if rows and rows[0].attempts >= attempts:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"no document waited for its files {attempts} times: {rows}")


async def sent_and_routed(exchange: Exchange, commune: Adapter, source: Path) -> str:
    """Post the file from the commune; its id, once the hub put it in the district's mailbox."""
    sent = await post_file(commune.client, source)
    assert sent.status_code == 202, sent.text
    document: str = sent.json()["id"]
    await delivered_by_hub(exchange.hub, (await show(commune, document))["document_id"])
    return document
