"""The yardstick for `lienthong bench`: the same number of same-size messages through two
RabbitMQ hops (publisher > queue > forwarder > queue > consumer) with publisher confirms and
consumer acks, and nothing else: no signing, no database. Quorum queues, as lienthong uses.

Each role has a connection of its own, as separate processes would; a throw-away vhost is
made for the run and removed after it.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from hub.broker_admin import BrokerAdmin
from hub.settings import HubSettings

QUORUM = {"x-queue-type": "quorum"}
# Names inside the hub's own permissions (its mailbox exchange and queue prefix), so that the
# run needs no rights the hub's account does not already have.
HOPS = ("baseline-1", "baseline-2")
PREFETCH = 16
IN_FLIGHT = 64  # publishes awaiting their confirm at once, as several clients would have


@dataclass(frozen=True)
class BaselineResult:
    messages: int
    size: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds


async def _forward(source: AbstractRobustConnection, settings: HubSettings) -> None:
    """Take from hop 1, publish to hop 2 with a confirm, then ack: the hub's pattern."""
    channel = await source.channel(publisher_confirms=True)
    await channel.set_qos(prefetch_count=PREFETCH)
    queue = await channel.get_queue(settings.mailbox_queue(HOPS[0]), ensure=False)
    exchange = await channel.get_exchange(settings.mailbox_exchange, ensure=False)

    async def handle(message: AbstractIncomingMessage) -> None:
        copy = aio_pika.Message(message.body, message_id=message.message_id, delivery_mode=2)
        await exchange.publish(copy, routing_key=HOPS[1])
        await message.ack()

    await queue.consume(handle)


async def _consume(
    connection: AbstractRobustConnection, settings: HubSettings, expected: int
) -> asyncio.Event:
    done, seen = asyncio.Event(), [0]
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=PREFETCH)
    queue = await channel.get_queue(settings.mailbox_queue(HOPS[1]), ensure=False)

    async def handle(message: AbstractIncomingMessage) -> None:
        await message.ack()
        seen[0] += 1
        if seen[0] >= expected:
            done.set()

    await queue.consume(handle)
    return done


async def _publish(
    connection: AbstractRobustConnection, settings: HubSettings, count: int, size: int
) -> None:
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.get_exchange(settings.mailbox_exchange, ensure=False)
    body, window = os.urandom(size), asyncio.Semaphore(IN_FLIGHT)

    async def one() -> None:
        async with window:
            message = aio_pika.Message(body, message_id=str(uuid.uuid4()), delivery_mode=2)
            await exchange.publish(message, routing_key=HOPS[0])

    await asyncio.gather(*(one() for _ in range(count)))


async def _declare(connection: AbstractRobustConnection, settings: HubSettings) -> None:
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        settings.mailbox_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    for hop in HOPS:
        queue = await channel.declare_queue(
            settings.mailbox_queue(hop), durable=True, arguments=QUORUM
        )
        await queue.bind(exchange, routing_key=hop)


async def _run(settings: HubSettings, count: int, size: int) -> float:
    connections = [await aio_pika.connect_robust(settings.amqp_url) for _ in range(3)]
    try:
        await _declare(connections[0], settings)
        await _forward(connections[1], settings)
        done = await _consume(connections[2], settings, count)
        started = time.perf_counter()
        await _publish(connections[0], settings, count, size)
        async with asyncio.timeout(600):
            await done.wait()
        return time.perf_counter() - started
    finally:
        for connection in connections:
            await connection.close()


async def bare_pipeline(count: int, size: int) -> BaselineResult:
    """Messages a second through the two hops, in a vhost of its own."""
    base = HubSettings()
    vhost = f"lienthong_baseline_{uuid.uuid4().hex[:8]}"
    settings = HubSettings(amqp_url=base.amqp_url.rstrip("/") + "/" + vhost)
    async with BrokerAdmin(settings) as admin:
        await admin.ensure_vhost()
        await admin.grant_hub_permissions(settings.management_credentials[0])
    try:
        seconds = await _run(settings, count, size)
    finally:
        async with BrokerAdmin(settings) as admin:
            await admin.delete_vhost()
    return BaselineResult(count, size, seconds)
