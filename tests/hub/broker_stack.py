"""A per-test vhost holding the intake and mailbox topology, and the broker accounts made in it.

The topology is declared here as guest, by hand, so the broker-admin tests depend only on
RabbitMQ and on hub.broker_admin, not on the hub's own topology code.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection
from pamqp.common import FieldTable

from hub.broker_admin import BrokerAdmin, agency_username
from hub.settings import HubSettings
from tests.services import temporary_vhost, unique_name

QUORUM: FieldTable = {"x-queue-type": "quorum"}
CONNECT_TIMEOUT_S = 10


@dataclass(frozen=True)
class Agency:
    code: str
    password: str
    username: str


def agency_code() -> str:
    # Dotted like a real code, so an unescaped '.' in a permission pattern would show; unique,
    # because users are global and a parallel or crashed run may have left its own behind.
    return unique_name("000.12.05.H40")


async def connect(settings: HubSettings, username: str, password: str) -> AbstractConnection:
    return await aio_pika.connect(
        host="127.0.0.1",
        port=5672,
        login=username,
        password=password,
        virtualhost=settings.vhost,
        timeout=CONNECT_TIMEOUT_S,
    )


@dataclass
class BrokerStack:
    settings: HubSettings
    admin: BrokerAdmin
    guest: AbstractChannel
    usernames: list[str] = field(default_factory=list)

    @property
    def intake_key(self) -> str:
        return self.settings.intake_queue

    async def add_mailbox(self, code: str) -> str:
        """Declare and bind an agency's mailbox queue; returns its name."""
        name = self.settings.mailbox_queue(code)
        queue = await self.guest.declare_queue(name, durable=True, arguments=QUORUM)
        await queue.bind(self.settings.mailbox_exchange, routing_key=code)
        return name

    async def agency(self, *, mailbox: bool = True) -> Agency:
        """A fresh agency code with a mailbox and a broker account made by ensure_agency_account."""
        code = agency_code()
        if mailbox:
            await self.add_mailbox(code)
        self.usernames.append(agency_username(self.settings, code))
        password = await self.admin.ensure_agency_account(code)
        return Agency(code, password, agency_username(self.settings, code))

    async def connect_as(self, agency: Agency) -> AbstractConnection:
        return await connect(self.settings, agency.username, agency.password)

    async def deliver(self, code: str, body: bytes) -> None:
        """Publish to an agency's mailbox as the hub would, confirmed."""
        exchange = await self.guest.get_exchange(self.settings.mailbox_exchange)
        await exchange.publish(aio_pika.Message(body), routing_key=code, mandatory=True)


async def declare_topology(channel: AbstractChannel, settings: HubSettings) -> None:
    intake = await channel.declare_exchange(
        settings.intake_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    queue = await channel.declare_queue(settings.intake_queue, durable=True, arguments=QUORUM)
    await queue.bind(intake, routing_key=settings.intake_queue)
    await channel.declare_exchange(
        settings.mailbox_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )


@asynccontextmanager
async def broker_stack() -> AsyncIterator[BrokerStack]:
    """A fresh vhost with the topology; deletes the accounts made in it, then the vhost."""
    async with temporary_vhost() as url:
        settings = HubSettings(amqp_url=url)
        connection = await aio_pika.connect(url, timeout=CONNECT_TIMEOUT_S)
        async with connection, BrokerAdmin(settings) as admin:
            guest = await connection.channel(publisher_confirms=True)
            await declare_topology(guest, settings)
            stack = BrokerStack(settings, admin, guest)
            try:
                yield stack
            finally:
                for username in stack.usernames:
                    await admin.delete_account(username)


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 30) -> None:
    """Poll until check() holds: management statistics trail the broker by seconds."""
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.5)
