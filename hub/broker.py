"""Everything the hub says to RabbitMQ over AMQP. The only hub module that imports aio-pika.

Topology (declared idempotently at start, every queue argument explicit because RabbitMQ 3.x
and 4.x differ in defaults):

- ``intake`` direct exchange -> ``intake`` quorum queue (routing key ``envelope``); anything
  published with another key goes to the alternate exchange ``unroutable`` and its queue;
- ``mailbox`` direct exchange -> one quorum queue per agency, routing key = agency code; the hub
  publishes there with the mandatory flag, so a missing mailbox is an error, not a silent drop;
- every queue dead-letters (at least once) into ``dead-letter`` after ``delivery_limit`` tries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
    ExchangeType,
)
from aio_pika.exceptions import AMQPError, ChannelPreconditionFailed, DeliveryError

from hub.errors import BrokerUnavailable, Conflict, Unroutable
from hub.settings import HubSettings
from schemas.retrying import with_pauses, woken_or_timed_out

log = logging.getLogger(__name__)
INTAKE_ROUTING_KEY = "envelope"
WATCH_S = 1.0


class Decision(Enum):
    """What to do with an intake message once it was handled."""

    ACK = "ack"
    DEAD_LETTER = "dead-letter"
    RETRY = "retry"  # put it back and stop consuming until the services are healthy again


@dataclass(frozen=True)
class Incoming:
    """An intake message, without the AMQP library around it."""

    body: bytes
    message_id: str | None
    user_id: str | None
    delivery_count: int
    redelivered: bool = False


Handler = Callable[[Incoming], Awaitable[Decision]]


@dataclass(frozen=True)
class DeadLettered:
    """A message of the dead-letter queue; headers made JSON-safe (x-death included)."""

    body: bytes
    message_id: str | None
    user_id: str | None
    headers: dict[str, Any]


DeadLetterHandler = Callable[[DeadLettered], Awaitable[Decision]]


def queue_arguments(settings: HubSettings, *, dead_letters: bool = True) -> dict[str, Any]:
    """Arguments of every durable queue, stated in full."""
    arguments: dict[str, Any] = {"x-queue-type": "quorum", "x-overflow": "reject-publish"}
    if dead_letters:
        arguments |= {
            "x-delivery-limit": settings.delivery_limit,
            "x-dead-letter-exchange": settings.dead_letter_exchange,
            "x-dead-letter-strategy": "at-least-once",
        }
    return arguments


def _incoming(message: AbstractIncomingMessage) -> Incoming:
    count = (message.headers or {}).get("x-delivery-count", 0)
    return Incoming(
        body=message.body,
        message_id=message.message_id,
        user_id=message.user_id,
        delivery_count=int(count) if isinstance(count, int | str) else 0,
        redelivered=bool(message.redelivered),
    )


def _plain(value: Any) -> Any:
    """A header value as JSON can hold it (AMQP tables carry timestamps, bytes, decimals)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _dead_lettered(message: AbstractIncomingMessage) -> DeadLettered:
    headers = _plain(dict(message.headers or {}))
    return DeadLettered(message.body, message.message_id, message.user_id, headers)


class Broker:
    """One robust connection, a confirming channel for publishing and one for consuming."""

    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        self._connection: AbstractRobustConnection | None = None
        self._publishing: AbstractChannel | None = None
        self._mailbox: AbstractExchange | None = None

    async def connect(self) -> None:
        """Connect, retrying the first attempt (connect_robust only retries once connected)."""
        try:
            self._connection = await with_pauses(
                lambda: aio_pika.connect_robust(self.settings.amqp_url),
                (OSError, AMQPError), "RabbitMQ",
            )  # fmt: skip
        except (OSError, AMQPError) as error:
            raise BrokerUnavailable(f"cannot reach RabbitMQ: {error}") from None
        await self._open_publishing()

    async def _open_publishing(self) -> None:
        """A fresh confirming channel for mailbox publishes. RabbitMQ 3.10 keeps refusing a
        channel's publishes to a quorum queue that once refused it, so a refusal reopens it."""
        old = self._publishing
        self._publishing = await self._channel()
        self._mailbox = await self._publishing.declare_exchange(
            self.settings.mailbox_exchange, ExchangeType.DIRECT, durable=True
        )
        if old is not None:
            await _quietly(old.close())

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def _channel(self) -> AbstractChannel:
        if self._connection is None:
            raise BrokerUnavailable("not connected to RabbitMQ")
        return await self._connection.channel(publisher_confirms=True, on_return_raises=True)

    async def declare_topology(self, mailboxes: Sequence[str] = ()) -> None:
        """Exchanges and queues the hub relies on; safe to repeat."""
        s = self.settings
        channel = await self._channel()
        try:
            dead = await channel.declare_exchange(
                s.dead_letter_exchange, ExchangeType.FANOUT, durable=True
            )
            dlq = await channel.declare_queue(
                s.dead_letter_queue, durable=True, arguments=queue_arguments(s, dead_letters=False)
            )
            await dlq.bind(dead)
            lost = await channel.declare_exchange(
                s.unroutable_exchange, ExchangeType.FANOUT, durable=True
            )
            await (await self._queue(channel, s.unroutable_queue)).bind(lost)
            intake = await channel.declare_exchange(
                s.intake_exchange, ExchangeType.DIRECT, durable=True,
                arguments={"alternate-exchange": s.unroutable_exchange},
            )  # fmt: skip
            await (await self._queue(channel, s.intake_queue)).bind(intake, INTAKE_ROUTING_KEY)
            await channel.declare_exchange(s.mailbox_exchange, ExchangeType.DIRECT, durable=True)
            for code in mailboxes:
                await self._declare_mailbox(channel, code)
        finally:
            await channel.close()

    async def _queue(self, channel: AbstractChannel, name: str) -> AbstractQueue:
        return await channel.declare_queue(
            name, durable=True, arguments=queue_arguments(self.settings)
        )

    async def _declare_mailbox(self, channel: AbstractChannel, code: str) -> None:
        queue = await self._queue(channel, self.settings.mailbox_queue(code))
        await queue.bind(self.settings.mailbox_exchange, routing_key=code)

    async def declare_mailbox(self, code: str) -> None:
        """One agency's mailbox queue, bound to the mailbox exchange by its code."""
        channel = await self._channel()
        try:
            await self._declare_mailbox(channel, code)
        finally:
            await channel.close()

    async def publish_to_mailbox(self, code: str, body: bytes, message_id: str) -> None:
        """Persistent, mandatory, confirmed; raises a Transient error when it did not land."""
        message = aio_pika.Message(
            body, message_id=message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            content_type="application/xml",
        )  # fmt: skip
        try:
            mailbox = self._mailbox
            if mailbox is None or self._publishing is None or self._publishing.is_closed:
                await self._open_publishing()  # a broker restart can leave the old one closed
                mailbox = self._mailbox
            assert mailbox is not None
            await mailbox.publish(
                message, routing_key=code, mandatory=True, timeout=self.settings.publish_timeout_s
            )
        except DeliveryError as error:
            await self._open_publishing()
            raise Unroutable(f"mailbox of '{code}' refused the envelope: {error}") from None
        except (TimeoutError, AMQPError, RuntimeError, OSError) as error:
            # RuntimeError: a closed channel, or aio-pika's "connection was not opened" while
            # it reconnects.
            raise BrokerUnavailable(f"publishing to '{code}' failed: {error!r}") from None

    async def consume_intake(
        self, handle: Handler, recovered: Callable[[], Awaitable[None]]
    ) -> None:
        """Handle intake messages until cancelled; on RETRY pause until `recovered` returns."""
        while True:
            retry = asyncio.Event()
            try:
                channel = await self._channel()
                await channel.set_qos(prefetch_count=self.settings.prefetch)
                queue = await self._queue(channel, self.settings.intake_queue)
                tag = await queue.consume(partial(self._on_message, handle=handle, retry=retry))
            except (AMQPError, RuntimeError, OSError, BrokerUnavailable) as error:
                log.warning("cannot consume intake yet (%s); retrying", error)
                await asyncio.sleep(WATCH_S)
                continue
            try:
                await _until(retry, channel)
            finally:
                await _quietly(queue.cancel(tag))
                await _quietly(channel.close())
            if retry.is_set():
                log.warning("intake paused: a service is unavailable; waiting for it")
                await recovered()
                log.info("intake resumed")

    async def _on_message(
        self, message: AbstractIncomingMessage, handle: Handler, retry: asyncio.Event
    ) -> None:
        decision = await handle(_incoming(message))
        if decision is Decision.ACK:
            await message.ack()
        elif decision is Decision.DEAD_LETTER:
            await message.reject(requeue=False)
        else:
            await message.nack(requeue=True)
            retry.set()

    async def consume_dead_letters(
        self, handle: DeadLetterHandler, recovered: Callable[[], Awaitable[None]]
    ) -> None:
        """Hand every dead-lettered message to `handle` until cancelled. Nothing is ever
        dropped: only ACK removes a message; anything else puts it back and pauses until
        `recovered` returns (the dead-letter queue has no dead-letter queue of its own)."""
        arguments = queue_arguments(self.settings, dead_letters=False)
        while True:
            retry = asyncio.Event()
            try:
                channel = await self._channel()
                await channel.set_qos(prefetch_count=self.settings.prefetch)
                queue = await channel.declare_queue(
                    self.settings.dead_letter_queue, durable=True, arguments=arguments
                )
                tag = await queue.consume(partial(self._on_dead_letter, handle=handle, retry=retry))
            except (AMQPError, RuntimeError, OSError, BrokerUnavailable) as error:
                log.warning("cannot consume dead letters yet (%s); retrying", error)
                await asyncio.sleep(WATCH_S)
                continue
            try:
                await _until(retry, channel)
            finally:
                await _quietly(queue.cancel(tag))
                await _quietly(channel.close())
            if retry.is_set():
                await recovered()

    async def _on_dead_letter(
        self, message: AbstractIncomingMessage, handle: DeadLetterHandler, retry: asyncio.Event
    ) -> None:
        if await handle(_dead_lettered(message)) is Decision.ACK:
            await message.ack()
        else:
            await message.nack(requeue=True)
            retry.set()

    async def publish_to_intake(self, body: bytes, message_id: str, user_id: str | None) -> None:
        """Republish a message to intake (a replayed dead letter), confirmed. RabbitMQ accepts
        a user_id other than the hub's own account only from an 'impersonator' account."""
        message = aio_pika.Message(
            body, message_id=message_id, user_id=user_id, content_type="application/xml",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )  # fmt: skip
        channel = await self._channel()  # its own: a refused user_id closes the channel
        try:
            exchange = await channel.get_exchange(self.settings.intake_exchange, ensure=False)
            await exchange.publish(
                message, routing_key=INTAKE_ROUTING_KEY, timeout=self.settings.publish_timeout_s
            )
        except ChannelPreconditionFailed as error:
            raise Conflict(f"RabbitMQ refused to publish as '{user_id}': {error}") from None
        except (TimeoutError, AMQPError, RuntimeError, OSError) as error:
            raise BrokerUnavailable(f"publishing to intake failed: {error!r}") from None
        finally:
            await _quietly(channel.close())


async def _until(retry: asyncio.Event, channel: AbstractChannel) -> None:
    """Wait for a RETRY, or for the channel to close for good (aio-pika may fail to restore it
    after a broker restart), whichever comes first."""
    while not retry.is_set() and not channel.is_closed:
        await woken_or_timed_out(retry, WATCH_S)


async def _quietly(step: Awaitable[Any]) -> None:
    """Closing on a broken connection fails too; the robust connection recovers by itself."""
    try:
        await step
    except (AMQPError, OSError, RuntimeError) as error:
        log.debug("ignored while closing: %r", error)


async def publish_as(settings: HubSettings, user: str, password: str, body: bytes,
                     message_id: str) -> None:  # fmt: skip
    """Publish one package to intake with an agency's own account, as its adapter does
    (for sandboxes and integrators testing their packages against a hub)."""
    url = urlsplit(settings.amqp_url)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{url.hostname}:{url.port or 5672}"
    try:
        connection = await aio_pika.connect(urlunsplit(url._replace(netloc=netloc)))
    except (OSError, AMQPError) as error:
        raise BrokerUnavailable(f"cannot connect to RabbitMQ as '{user}': {error}") from None
    message = aio_pika.Message(
        body, message_id=message_id, user_id=user, content_type="application/xml",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )  # fmt: skip
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(settings.intake_exchange, ensure=False)
        try:
            await exchange.publish(message, routing_key=INTAKE_ROUTING_KEY)
        except AMQPError as error:
            raise BrokerUnavailable(f"RabbitMQ refused the publish to intake: {error}") from None
