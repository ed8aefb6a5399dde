"""Broker accounts made through the management API, proven with real AMQP connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from aiormq.exceptions import (
    AMQPError,
    ChannelAccessRefused,
    ChannelPreconditionFailed,
    ProbableAuthenticationError,
)
from pamqp.common import FieldTable

from hub.broker_admin import (
    BrokerAdmin,
    BrokerAdminError,
    agency_permissions,
    agency_username,
)
from hub.settings import HubSettings
from tests.hub.broker_stack import (
    QUORUM,
    BrokerStack,
    agency_code,
    broker_stack,
    connect,
    eventually,
)
from tests.services import RABBITMQ_API, RABBITMQ_AUTH, temporary_vhost, unique_name, vhost_exists

Operation = Callable[[AbstractChannel], Awaitable[object]]


@pytest.fixture
async def stack() -> AsyncIterator[BrokerStack]:
    async with broker_stack() as stack:
        yield stack


async def refusal(connection: AbstractConnection, operation: Operation) -> str:
    """Run one operation on a fresh channel (a refusal closes it); return the broker's reason."""
    channel = await connection.channel(publisher_confirms=True)
    with pytest.raises(ChannelAccessRefused) as refused:
        await operation(channel)
    return str(refused.value)


async def first_delivery(connection: AbstractConnection, queue_name: str) -> bytes:
    """Consume (basic.consume, not basic.get) one message and ack it."""
    channel = await connection.channel()
    queue = await channel.get_queue(queue_name, ensure=False)
    async with asyncio.timeout(10), queue.iterator() as messages:
        async for message in messages:
            async with message.process():
                return message.body
    raise AssertionError(f"{queue_name} closed without a delivery")


async def ignore(message: AbstractIncomingMessage) -> None:
    await message.nack()


async def test_agency_publishes_to_intake_under_its_own_user_id(stack: BrokerStack) -> None:
    agency, other = await stack.agency(), await stack.agency()
    async with await stack.connect_as(agency) as connection:
        channel = await connection.channel(publisher_confirms=True)
        intake = await channel.get_exchange(stack.settings.intake_exchange, ensure=False)
        own = aio_pika.Message(b"signed package", message_id="env-1", user_id=agency.username)
        await intake.publish(own, routing_key=stack.intake_key)
        # RabbitMQ checks user_id against the login: claiming another agency closes the channel.
        forged = aio_pika.Message(b"forged", message_id="env-2", user_id=other.username)
        with pytest.raises(ChannelPreconditionFailed, match="user_id property set to"):
            await intake.publish(forged, routing_key=stack.intake_key)
        # ...but a message without user_id passes: the hub itself must insist on one.
        anonymous = aio_pika.Message(b"anonymous", message_id="env-3")
        channel = await connection.channel(publisher_confirms=True)
        intake = await channel.get_exchange(stack.settings.intake_exchange, ensure=False)
        await intake.publish(anonymous, routing_key=stack.intake_key)

    queue = await stack.guest.get_queue(stack.settings.intake_queue)
    received = [await queue.get(no_ack=True, timeout=10) for _ in range(2)]
    assert [(m.body, m.message_id, m.user_id) for m in received] == [
        (b"signed package", "env-1", agency.username),
        (b"anonymous", "env-3", None),
    ]
    assert await queue.get(fail=False, timeout=10) is None


async def test_agency_consumes_its_own_mailbox_and_no_other(stack: BrokerStack) -> None:
    agency = await stack.agency()
    other = agency_code()
    other_mailbox = await stack.add_mailbox(other)
    # Same name but for the dots: an unescaped pattern ('.' matching any character) would
    # let the agency read this one.
    lookalike = await stack.add_mailbox(agency.code.replace(".", "x"))
    own_mailbox = stack.settings.mailbox_queue(agency.code)
    await stack.deliver(agency.code, b"for you")
    await stack.deliver(other, b"not for you")

    async with await stack.connect_as(agency) as connection:
        assert await first_delivery(connection, own_mailbox) == b"for you"
        # A passive declare needs no permission: the agency can check its own queue exists...
        channel = await connection.channel()
        assert (await channel.get_queue(own_mailbox, ensure=True)).name == own_mailbox
        # ...and, RabbitMQ being so, learn that another one exists too, never its content.
        assert (await channel.get_queue(other_mailbox, ensure=True)).name == other_mailbox
        for name in (other_mailbox, lookalike):

            async def consume(channel: AbstractChannel, name: str = name) -> object:
                return await (await channel.get_queue(name, ensure=False)).consume(ignore)

            async def get(channel: AbstractChannel, name: str = name) -> object:
                return await (await channel.get_queue(name, ensure=False)).get(timeout=10)

            assert f"access to queue '{name}'" in await refusal(connection, consume)
            assert f"access to queue '{name}'" in await refusal(connection, get)

    others = await stack.guest.get_queue(other_mailbox)
    assert (await others.get(no_ack=True, timeout=10)).body == b"not for you"


async def test_agency_can_neither_publish_elsewhere_nor_change_the_topology(
    stack: BrokerStack,
) -> None:
    agency = await stack.agency()
    settings = stack.settings
    own_mailbox = settings.mailbox_queue(agency.code)
    message = aio_pika.Message(b"x", user_id=agency.username)

    async def to_mailbox_exchange(channel: AbstractChannel) -> object:
        exchange = await channel.get_exchange(settings.mailbox_exchange, ensure=False)
        return await exchange.publish(message, routing_key=agency.code)

    async def to_default_exchange(channel: AbstractChannel) -> object:
        return await channel.default_exchange.publish(message, routing_key=own_mailbox)

    async def server_named_queue(channel: AbstractChannel) -> object:
        return await channel.declare_queue(exclusive=True)

    async def bind_own_mailbox(channel: AbstractChannel) -> object:
        queue = await channel.get_queue(own_mailbox, ensure=False)
        return await queue.bind(settings.intake_exchange, routing_key="anything")

    refused: dict[str, Operation] = {
        f"exchange '{settings.mailbox_exchange}'": to_mailbox_exchange,
        "exchange 'amq.default'": to_default_exchange,
        "queue 'mine'": lambda channel: channel.declare_queue("mine", arguments=QUORUM),
        "queue 'amq.gen-": server_named_queue,
        "exchange 'mine'": lambda channel: channel.declare_exchange("mine"),
        f"queue '{own_mailbox}'": bind_own_mailbox,
        f"queue '{settings.intake_queue}'": lambda channel: channel.queue_delete(
            settings.intake_queue
        ),
    }
    async with await stack.connect_as(agency) as connection:
        for resource, operation in refused.items():
            assert f"access to {resource}" in await refusal(connection, operation)


async def test_ensure_agency_account_is_idempotent_and_rotates_the_password(
    stack: BrokerStack,
) -> None:
    agency = await stack.agency()
    rotated = await stack.admin.ensure_agency_account(agency.code)
    assert rotated != agency.password and len(rotated) >= 32
    assert await stack.admin.ensure_agency_account(agency.code, password=rotated) == rotated

    with pytest.raises(ProbableAuthenticationError):
        await connect(stack.settings, agency.username, agency.password)
    # The permissions survived both password changes: the new password publishes.
    async with await connect(stack.settings, agency.username, rotated) as connection:
        channel = await connection.channel(publisher_confirms=True)
        intake = await channel.get_exchange(stack.settings.intake_exchange, ensure=False)
        await intake.publish(aio_pika.Message(b"after rotation"), routing_key=stack.intake_key)
    expected = agency_permissions(stack.settings, agency.code)
    assert await stack.admin.permissions(agency.username) == expected
    async with httpx.AsyncClient(base_url=RABBITMQ_API, auth=RABBITMQ_AUTH) as api:
        user = (await api.get(f"/users/{agency.username}")).json()
    assert user["tags"] == []


async def test_disable_ends_running_consumers_and_enable_restores_access(
    stack: BrokerStack,
) -> None:
    agency = await stack.agency()
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def collect(message: AbstractIncomingMessage) -> None:
        async with message.process():
            await received.put(message.body)

    connection = await stack.connect_as(agency)
    closing: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

    def on_close(_: object, reason: BaseException | None) -> None:
        if not closing.done():
            closing.set_result(reason)

    connection.close_callbacks.add(on_close)
    channel = await connection.channel()
    mailbox = await channel.get_queue(stack.settings.mailbox_queue(agency.code), ensure=False)
    await mailbox.consume(collect)
    await stack.deliver(agency.code, b"before")
    assert await asyncio.wait_for(received.get(), 10) == b"before"

    await stack.admin.disable_agency_account(agency.code)
    assert "CONNECTION_FORCED - account disabled" in str(await asyncio.wait_for(closing, 10))
    assert await stack.admin.permissions(agency.username) is None
    with pytest.raises(AMQPError):
        await stack.connect_as(agency)
    await stack.deliver(agency.code, b"while disabled")
    assert received.empty()

    await stack.admin.enable_agency_account(agency.code)
    async with await stack.connect_as(agency) as connection:
        assert await first_delivery(connection, mailbox.name) == b"while disabled"


async def test_hub_account_declares_its_topology_and_nothing_else() -> None:
    async with temporary_vhost() as url:
        settings = HubSettings(amqp_url=url)
        username, password = unique_name("hub"), unique_name("secret")
        async with BrokerAdmin(settings) as admin:
            try:
                await admin.ensure_hub_account(username, password)
                async with await connect(settings, username, password) as connection:
                    await declare_hub_topology(connection, settings)
                    assert "access to queue 'other'" in await refusal(
                        connection, lambda channel: channel.declare_queue("other")
                    )
            finally:
                await admin.delete_account(username)


async def declare_hub_topology(connection: AbstractConnection, settings: HubSettings) -> None:
    """What the hub's own account must be able to do: every argument that needs a permission."""
    channel = await connection.channel(publisher_confirms=True)
    fanout, direct = aio_pika.ExchangeType.FANOUT, aio_pika.ExchangeType.DIRECT
    dead = await channel.declare_exchange(settings.dead_letter_exchange, fanout, durable=True)
    unroutable = await channel.declare_exchange(settings.unroutable_exchange, fanout, durable=True)
    with_alternate: FieldTable = {"alternate-exchange": settings.unroutable_exchange}
    mailboxes = await channel.declare_exchange(
        settings.mailbox_exchange, direct, durable=True, arguments=with_alternate
    )
    dead_lettered: FieldTable = {**QUORUM, "x-dead-letter-exchange": settings.dead_letter_exchange}
    for name, exchange in [
        (settings.dead_letter_queue, dead),
        (settings.unroutable_queue, unroutable),
        (settings.mailbox_queue("000.12.05.H40"), mailboxes),
    ]:
        queue = await channel.declare_queue(name, durable=True, arguments=dead_lettered)
        await queue.bind(exchange, routing_key="000.12.05.H40")
    await mailboxes.publish(aio_pika.Message(b"x"), routing_key="000.12.05.H40", mandatory=True)
    queue = await channel.get_queue(settings.mailbox_queue("000.12.05.H40"))
    assert (await queue.get(timeout=10)).body == b"x"


async def test_queue_stats_show_depth_consumers_and_head_timestamp(stack: BrokerStack) -> None:
    agency = await stack.agency()
    mailbox = stack.settings.mailbox_queue(agency.code)
    for body in (b"1", b"2", b"3"):
        await stack.deliver(agency.code, body)
    classic = await stack.guest.declare_queue(unique_name("lienthong.classic"), durable=True)
    stamped = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    await stack.guest.default_exchange.publish(
        aio_pika.Message(b"old", timestamp=stamped), routing_key=classic.name
    )
    async with await stack.connect_as(agency) as connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=1)
        held: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        await (await channel.get_queue(mailbox, ensure=False)).consume(held.put)
        await asyncio.wait_for(held.get(), 10)  # now unacknowledged, and prefetch is full

        async def settled() -> bool:
            named = [mailbox, "lienthong.missing", classic.name]
            stats = await stack.admin.queue_stats(named)
            counts = [
                (s.name, s.messages_ready, s.messages_unacknowledged, s.consumers) for s in stats
            ]
            return counts == [(mailbox, 2, 1, 1), (classic.name, 1, 0, 0)]

        await eventually(settled)
    every = {s.name: s for s in await stack.admin.queue_stats()}
    assert set(every) == {stack.settings.intake_queue, mailbox, classic.name}
    assert every[classic.name].head_message_timestamp == stamped
    assert every[mailbox].head_message_timestamp is None  # quorum queues do not report it


async def test_ensure_vhost_creates_it_once() -> None:
    name = unique_name("lienthong-test")
    settings = HubSettings(amqp_url=f"amqp://guest:guest@127.0.0.1:5672/{name}")
    async with BrokerAdmin(settings) as admin:
        try:
            await admin.ensure_vhost()
            await admin.ensure_vhost()
            assert await vhost_exists(name)
        finally:
            async with httpx.AsyncClient(base_url=RABBITMQ_API, auth=RABBITMQ_AUTH) as api:
                await api.delete(f"/vhosts/{name}")
    assert not await vhost_exists(name)


async def test_unreachable_api_is_a_readable_broker_admin_error() -> None:
    async with temporary_vhost() as url:
        settings = HubSettings(amqp_url=url, amqp_management_url="http://guest:guest@127.0.0.1:1/")
        async with BrokerAdmin(settings) as admin:
            with pytest.raises(BrokerAdminError, match=r"PUT http://127\.0\.0\.1:1/api/vhosts/"):
                await admin.ensure_vhost()
        with pytest.raises(BrokerAdminError, match="unusable RabbitMQ management URL"):
            BrokerAdmin(settings.model_copy(update={"amqp_management_url": "http://h:99999/"}))


async def test_refused_request_names_status_and_never_the_password() -> None:
    async with temporary_vhost() as url:
        wrong = "http://guest:wrong@127.0.0.1:15672/"
        settings = HubSettings(amqp_url=url, amqp_management_url=wrong)
        code, password = agency_code(), unique_name("never-shown")
        async with BrokerAdmin(settings) as admin:
            with pytest.raises(BrokerAdminError) as failed:
                await admin.ensure_agency_account(code, password=password)
        message = str(failed.value)
        assert f"PUT http://127.0.0.1:15672/api/users/{agency_username(settings, code)}" in message
        assert "401 Unauthorized" in message
        assert password not in message and "wrong" not in message
