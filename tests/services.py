"""Per-run PostgreSQL databases and RabbitMQ vhosts on the machine's running services.

The services outlive a test run, so every run works in a database and a vhost of its own and
removes them afterwards: leftovers of an earlier run never decide a result.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

import asyncpg
import httpx

POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
RABBITMQ_API = "http://127.0.0.1:15672/api"
RABBITMQ_AUTH = ("guest", "guest")


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def temporary_database() -> AsyncIterator[str]:
    """A fresh, empty database; yields its asyncpg DSN and drops it on exit."""
    name = unique_name("lienthong_test")
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def temporary_vhost() -> AsyncIterator[str]:
    """A fresh vhost the guest account may use; yields its AMQP URL and deletes it on exit."""
    name = unique_name("lienthong-test")
    path = quote(name, safe="")
    async with httpx.AsyncClient(base_url=RABBITMQ_API, auth=RABBITMQ_AUTH, timeout=30) as api:
        (await api.put(f"/vhosts/{path}")).raise_for_status()
        try:
            permissions = {"configure": ".*", "write": ".*", "read": ".*"}
            (await api.put(f"/permissions/{path}/guest", json=permissions)).raise_for_status()
            yield f"amqp://guest:guest@127.0.0.1:5672/{path}"
        finally:
            (await api.delete(f"/vhosts/{path}")).raise_for_status()


async def database_exists(name: str) -> bool:
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await admin.close()


async def vhost_exists(name: str) -> bool:
    async with httpx.AsyncClient(base_url=RABBITMQ_API, auth=RABBITMQ_AUTH, timeout=30) as api:
        return (await api.get(f"/vhosts/{quote(name, safe='')}")).status_code == httpx.codes.OK


async def delete_users_with_prefix(prefix: str) -> None:
    """Broker users are global, not per vhost: remove the ones a run created."""
    async with httpx.AsyncClient(base_url=RABBITMQ_API, auth=RABBITMQ_AUTH, timeout=30) as api:
        users = (await api.get("/users")).raise_for_status().json()
        for user in users:
            if user["name"].startswith(prefix):
                (await api.delete(f"/users/{quote(user['name'], safe='')}")).raise_for_status()
