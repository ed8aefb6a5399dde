"""Outages and redeliveries: nothing accepted is lost, nothing reaches a local system twice."""

from __future__ import annotations

import asyncio
import subprocess

import aio_pika

from tests.agency_adapter.adapter_stack import Adapter
from tests.agency_adapter.codes import DISTRICT
from tests.agency_adapter.test_exchange import new_document
from tests.hub.hub_stack import HubStack


async def _rabbitmq(*steps: str) -> None:
    for step in steps:
        command = ["rabbitmqctl", "-q", step]
        await asyncio.to_thread(
            subprocess.run, command, check=True, capture_output=True, timeout=120
        )


async def test_a_document_accepted_while_rabbitmq_is_down_arrives_once_it_is_back(
    pair: tuple[HubStack, Adapter, Adapter],
) -> None:
    _, commune, district = pair
    await _rabbitmq("stop_app")
    try:
        accepted = await commune.client.post("/v1/documents", json=new_document())
        assert accepted.status_code == 202
        await asyncio.sleep(2)  # the relay tries and backs off meanwhile
    finally:
        await _rabbitmq("start_app", "await_startup")
    received = await district.wait_for("document.received", timeout=90)
    await asyncio.sleep(2)
    assert len(await district.wait_for("document.received", timeout=1)) == len(received) == 1
    outbox = (await commune.client.get(f"/v1/documents/{accepted.json()['id']}")).json()
    assert outbox["state"] == "sent"


async def test_a_redelivered_mailbox_message_is_stored_once(
    pair: tuple[HubStack, Adapter, Adapter],
) -> None:
    hub, commune, district = pair
    await commune.client.post("/v1/documents", json=new_document())
    (received,) = await district.wait_for("document.received")
    package = await district.client.get(f"/v1/documents/{received['document']}/edxml")
    envelope_id = received["payload"]["envelope_id"]
    connection = await aio_pika.connect(hub.settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        copy = aio_pika.Message(package.content, message_id=envelope_id, delivery_mode=2)
        await channel.default_exchange.publish(copy, hub.settings.mailbox_queue(DISTRICT))
    await asyncio.sleep(2)
    assert len(await district.wait_for("document.received", timeout=1)) == 1
    inbox = (await district.client.get("/v1/documents", params={"box": "inbox"})).json()["items"]
    assert len(inbox) == 1


async def test_a_tampered_message_is_refused_and_the_local_system_told(
    pair: tuple[HubStack, Adapter, Adapter],
) -> None:
    hub, commune, district = pair
    await commune.client.post("/v1/documents", json=new_document())
    (received,) = await district.wait_for("document.received")
    package = (await district.client.get(f"/v1/documents/{received['document']}/edxml")).content
    tampered = package.replace("lúa mùa".encode(), "lúa chiêm".encode())
    assert tampered != package
    connection = await aio_pika.connect(hub.settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        forged = aio_pika.Message(tampered, message_id="forged", delivery_mode=2)
        await channel.default_exchange.publish(forged, hub.settings.mailbox_queue(DISTRICT))
    (refused,) = await district.wait_for("envelope.refused")
    assert refused["payload"]["envelope_id"] == "forged"
    assert "signature not accepted" in refused["payload"]["reason"]
    assert len(await district.wait_for("document.received", timeout=1)) == 1
