"""Everything the adapter says to RabbitMQ. The only adapter module that imports aio-pika.

It uses the agency's own account: publish to the hub's intake exchange (user_id = the
account, which RabbitMQ checks), consume the agency's own mailbox. It declares nothing: the hub
owns the topology and the account may not change it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from functools import partial
from urllib.parse import unquote, urlsplit

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)
from aio_pika.exceptions import AMQPError, DeliveryError

from agency_adapter.errors import BrokerUnavailable
from agency_adapter.settings import AdapterSettings
from schemas.retrying import with_pauses

log = logging.getLogger(__name__)
WATCH_S = 1.0


class Decision(Enum):
    ACK = "ack"
    DEAD_LETTER = "dead-letter"
    RETRY = "retry"


@dataclass(frozen=True)
class Delivered:
    """A mailbox message, without the AMQP library around it."""

    body: bytes
    message_id: str | None


Handler = Callable[[Delivered], Awaitable[Decision]]


class AdapterBroker:
    def __init__(self, settings: AdapterSettings) -> None:
        self.settings = settings
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._intake: AbstractExchange | None = None

    @property
    def username(self) -> str:
        return unquote(urlsplit(self.settings.amqp_url).username or "")

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def connect(self) -> None:
        """Connect with the agency's account, retrying the first attempt for a while."""
        try:
            self._connection = await with_pauses(
                lambda: aio_pika.connect_robust(self.settings.amqp_url),
                (OSError, AMQPError), "RabbitMQ",
            )  # fmt: skip
        except (OSError, AMQPError) as error:
            raise BrokerUnavailable(f"cannot reach RabbitMQ: {error}") from None
        await self._open_channel()

    async def _open_channel(self) -> AbstractExchange:
        """A confirming channel to publish on, opened anew when the last one was closed (a
        broker restart can leave it so even after the connection itself came back)."""
        if self._connection is None:
            raise BrokerUnavailable("not connected to RabbitMQ")
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._channel = channel
        self._intake = await channel.get_exchange(self.settings.intake_exchange, ensure=False)
        return self._intake

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def publish(self, body: bytes, envelope_id: str) -> None:
        """To the hub's intake: persistent, confirmed, under this agency's user_id."""
        message = aio_pika.Message(
            body, message_id=envelope_id, user_id=self.username, content_type="application/xml",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )  # fmt: skip
        try:
            intake = self._intake
            if intake is None or self._channel is None or self._channel.is_closed:
                intake = await self._open_channel()
            await intake.publish(
                message, routing_key=self.settings.intake_routing_key,
                mandatory=True, timeout=self.settings.publish_timeout_s,
            )  # fmt: skip
        except (DeliveryError, TimeoutError, AMQPError, RuntimeError, OSError) as error:
            # RuntimeError: aio-pika's "connection was not opened" while it reconnects.
            raise BrokerUnavailable(f"publishing to the hub failed: {error!r}") from None

    async def consume_mailbox(self, handle: Handler) -> None:
        """Handle mailbox messages until cancelled. A channel that stays closed (after a broker
        restart aio-pika may fail to restore it) is replaced, so consuming always resumes."""
        while True:
            try:
                channel = await self._consuming_channel()
                queue = await channel.get_queue(self.settings.mailbox_queue, ensure=False)
                await queue.consume(partial(self._on_message, handle=handle))
            except (AMQPError, RuntimeError, OSError) as error:
                log.warning("cannot consume the mailbox yet (%s); retrying", error)
                await asyncio.sleep(WATCH_S)
                continue
            while not channel.is_closed:
                await asyncio.sleep(WATCH_S)
            log.warning("mailbox channel closed; consuming again")

    async def _consuming_channel(self) -> AbstractChannel:
        if self._connection is None:
            raise BrokerUnavailable("not connected to RabbitMQ")
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self.settings.prefetch)
        return channel

    async def _on_message(self, message: AbstractIncomingMessage, handle: Handler) -> None:
        decision = await handle(Delivered(message.body, message.message_id))
        if decision is Decision.ACK:
            await message.ack()
        elif decision is Decision.DEAD_LETTER:
            await message.reject(requeue=False)
        else:
            await asyncio.sleep(1)  # a service is away: give it a moment before redelivery
            await message.nack(requeue=True)
