"""Mailbox messages handed over together are stored in one transaction, each of them once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aio_pika
import pytest

from tests.agency_adapter.adapter_stack import Adapter
from tests.agency_adapter.codes import DISTRICT
from tests.agency_adapter.documents import answered, show
from tests.agency_adapter.test_exchange import new_document
from tests.hub.hub_stack import HubStack

WAIT_S = 20.0


@asynccontextmanager
async def busy(adapter: Adapter) -> AsyncIterator[None]:
    """The adapter's store is busy (as while a large group is stored): mailbox messages
    that arrive meanwhile wait, and are stored together when the block ends."""
    async with adapter.runtime.workers.turns.turn(urgent=True):
        yield


async def waiting(adapter: Adapter, count: int) -> None:
    """Until `count` mailbox messages wait behind the one waiting for the store."""
    mailbox = adapter.runtime.workers.mailbox
    async with asyncio.timeout(WAIT_S):
        while mailbox.waiting < count:
            await asyncio.sleep(0.05)


async def post(adapter: Adapter, subject: str) -> str:
    answer = await adapter.client.post("/v1/documents", json={**new_document(), "subject": subject})
    assert answer.status_code == 202, answer.text
    identifier: str = answer.json()["id"]
    return identifier


async def subjects_received(adapter: Adapter, count: int) -> list[str]:
    received = await adapter.wait_for("document.received", count=count)
    return sorted(event["payload"]["subject"] for event in received)


async def test_documents_handed_over_together_are_stored_in_one_transaction(
    pair: tuple[HubStack, Adapter, Adapter], caplog: pytest.LogCaptureFixture
) -> None:
    _, commune, district = pair
    caplog.set_level(logging.DEBUG, logger="agency_adapter.mailbox")
    async with busy(district):
        sent = [await post(commune, f"Văn bản số {n}") for n in range(4)]
        await waiting(district, 3)
    assert await subjects_received(district, 4) == [f"Văn bản số {n}" for n in range(4)]
    assert "stored 3 mailbox messages in one transaction" in caplog.messages
    inbox = (await district.client.get("/v1/documents", params={"box": "inbox"})).json()
    assert len(inbox["items"]) == 4
    for document in sent:  # each answered 01, and the 01s stored by the sender
        line = await answered(commune, document, DISTRICT, count=1)
        assert [status["code"] for status in line["statuses"]] == ["01"]


async def test_a_repeat_in_the_same_group_is_stored_once_and_the_others_go_on(
    pair: tuple[HubStack, Adapter, Adapter], caplog: pytest.LogCaptureFixture
) -> None:
    """Two copies of a document in one group fail its transaction at the commit (the same
    envelope twice); each message is then stored alone, and the repeat changes nothing."""
    hub, commune, district = pair
    caplog.set_level(logging.INFO, logger="agency_adapter.mailbox")
    async with busy(district):
        await post(commune, "Văn bản đầu")
        repeated = await show(commune, await post(commune, "Văn bản gửi lặp"))
        body = (await commune.client.get(f"/v1/documents/{repeated['id']}/edxml")).content
        await waiting(district, 1)
        connection = await aio_pika.connect(hub.settings.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            copy = aio_pika.Message(body, message_id=repeated["envelope_id"], delivery_mode=2)
            await channel.default_exchange.publish(copy, hub.settings.mailbox_queue(DISTRICT))
        await waiting(district, 2)
    assert await subjects_received(district, 2) == ["Văn bản gửi lặp", "Văn bản đầu"]
    assert "storing 2 mailbox messages together failed (IntegrityError); one by one" in (
        caplog.messages
    )
    await asyncio.sleep(1)  # nothing more comes of the repeat
    assert len(await district.wait_for("document.received", count=3, timeout=1)) == 2
    inbox = (await district.client.get("/v1/documents", params={"box": "inbox"})).json()
    assert sorted(item["subject"] for item in inbox["items"]) == ["Văn bản gửi lặp", "Văn bản đầu"]
