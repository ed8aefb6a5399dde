"""Each operations test gets a hub of its own on the real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TypeVar

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy import select

from hub.models import AgencyLevel, Delivery, DeliveryState, Envelope
from hub.operations.keeper import DeadLetterKeeper
from tests.hub.hub_stack import HubStack, hub_stack

PROVINCE = "000.00.00.H40"
DISTRICT = "000.00.29.H40"
COMMUNE_A = "000.04.29.H40"
COMMUNE_B = "000.05.29.H40"
T = TypeVar("T")
WAIT_S = 40.0  # the management API's statistics trail the broker by up to 5 s


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[HubStack]:
    """A province, a district under it and two communes under the district."""
    async with hub_stack(tmp_path) as stack:
        await stack.register(PROVINCE, AgencyLevel.PROVINCE)
        await stack.register(DISTRICT, AgencyLevel.DISTRICT, PROVINCE)
        await stack.register(COMMUNE_A, AgencyLevel.COMMUNE, DISTRICT)
        await stack.register(COMMUNE_B, AgencyLevel.COMMUNE, DISTRICT)
        yield stack


async def wait_for(check: Callable[[], Awaitable[T | None]], timeout: float = WAIT_S) -> T:
    """Poll until `check` returns something other than None (or False); return it."""
    async with asyncio.timeout(timeout):
        while True:
            found = await check()
            if found is not None and found is not False:
                return found
            await asyncio.sleep(0.3)


@asynccontextmanager
async def keeper(hub: HubStack) -> AsyncIterator[None]:
    """A dead-letter keeper in this process, for as long as the block runs."""
    running = DeadLetterKeeper(hub.settings, hub.runtime.sessions, hub.runtime.broker)
    task = asyncio.create_task(running.run())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def take(
    hub: HubStack, queue: str
) -> tuple[aio_pika.abc.AbstractConnection, AbstractIncomingMessage]:
    """The next message of a queue as guest, unacknowledged (the caller settles it)."""
    connection = await aio_pika.connect(hub.settings.amqp_url)
    channel = await connection.channel()
    source = await channel.get_queue(queue, ensure=False)

    async def next_message() -> AbstractIncomingMessage | None:
        return await source.get(fail=False)

    return connection, await wait_for(next_message)


async def reject(hub: HubStack, queue: str) -> AbstractIncomingMessage:
    """Take the next message of a queue and reject it without requeueing: RabbitMQ
    dead-letters it, as it does when a consumer gives up on a message."""
    connection, message = await take(hub, queue)
    async with connection:
        await message.reject(requeue=False)
    return message


async def ready_count(hub: HubStack, queue: str) -> int:
    """Messages ready in a queue, from a passive declare (no statistics lag)."""
    connection = await aio_pika.connect(hub.settings.amqp_url)
    async with connection:
        declared = await (await connection.channel()).declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0


async def queued_delivery(hub: HubStack, envelope_id: str, recipient: str) -> Delivery:
    """The delivery once it is in the recipient's mailbox."""

    async def check() -> Delivery | None:
        async with hub.runtime.sessions() as session:
            query = (
                select(Delivery)
                .join(Envelope)
                .where(Envelope.envelope_id == envelope_id, Delivery.recipient_code == recipient,
                       Delivery.state == DeliveryState.QUEUED)
            )  # fmt: skip
            return (await session.scalars(query)).one_or_none()

    return await wait_for(check)
