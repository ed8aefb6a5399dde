"""The test harness's own guarantee: real services, isolated per run, removed afterwards."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import aio_pika
import asyncpg

from tests.services import database_exists, temporary_database, temporary_vhost, vhost_exists


async def test_a_run_database_is_real_empty_and_dropped_afterwards() -> None:
    async with temporary_database() as dsn:
        name = urlsplit(dsn).path.lstrip("/")
        connection = await asyncpg.connect(dsn)
        try:
            tables = await connection.fetchval(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            )
        finally:
            await connection.close()
        assert tables == 0
        assert await database_exists(name)
    assert not await database_exists(name)


async def test_a_run_vhost_carries_confirmed_messages_and_is_deleted_afterwards() -> None:
    async with temporary_vhost() as url:
        name = unquote(urlsplit(url).path.lstrip("/"))
        connection = await aio_pika.connect(url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            queue = await channel.declare_queue(
                "probe", durable=True, arguments={"x-queue-type": "quorum"}
            )
            await channel.default_exchange.publish(aio_pika.Message(b"probe"), routing_key="probe")
            message = await queue.get(timeout=10)
            await message.ack()
            assert message.body == b"probe"
        assert await vhost_exists(name)
    assert not await vhost_exists(name)
