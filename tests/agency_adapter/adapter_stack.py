"""Adapters on a test hub: each with its own SQLite store, keys and broker account."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from agency_adapter.api.app import create_app
from agency_adapter.runtime import AdapterRuntime
from agency_adapter.settings import AdapterSettings
from schemas.keys import write_certificates, write_private_key
from tests.hub.hub_stack import HubStack, Member

WAIT_S = 20.0


@dataclass
class Adapter:
    code: str
    runtime: AdapterRuntime
    client: httpx.AsyncClient

    async def events(self, after: int = 0, wait: float = 0) -> list[dict[str, Any]]:
        answer = await self.client.get("/v1/events", params={"after": after, "wait": wait})
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found

    async def wait_for(
        self, kind: str, count: int = 1, timeout: float = WAIT_S
    ) -> list[dict[str, Any]]:
        """Events of one type, once `count` of them exist (long-polling like a local system)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            matching = [e for e in await self.events(wait=1) if e["type"] == kind]
            if len(matching) >= count or asyncio.get_running_loop().time() > deadline:
                return matching
            await asyncio.sleep(0.1)


def adapter_settings(
    hub: HubStack, member: Member, directory: Path, **extra: Any
) -> AdapterSettings:
    home = directory / member.code
    home.mkdir(parents=True, exist_ok=True)
    write_private_key(member.identity.private_key, home / "agency.key.pem")
    write_certificates(
        [member.identity.certificate, *member.identity.chain], home / "agency.cert.pem"
    )
    amqp = hub.settings.amqp_url.replace("guest:guest", f"{member.username}:{member.password}")
    extra.setdefault("attachment_dir", home / "attachments")
    return AdapterSettings(
        agency_code=member.code, agency_name=f"Agency {member.code}",
        key=home / "agency.key.pem", certificate=home / "agency.cert.pem", amqp_url=amqp,
        trust_bundle=hub.settings.trust_bundle, database_url=f"sqlite+aiosqlite:///{home}/store.db",
        api_keys={f"key-{member.code}": f"system-{member.code}"}, outbox_retry_s=0.3,
        outbox_max_backoff_s=2, **extra,
    )  # fmt: skip


@asynccontextmanager
async def running_adapter(settings: AdapterSettings) -> AsyncIterator[Adapter]:
    """The adapter's API (through ASGI) with its relay and mailbox consumer running."""
    runtime = await AdapterRuntime.start(settings)
    workers = asyncio.create_task(runtime.workers.run())
    app = create_app(runtime, run_workers=False)
    headers = {"Authorization": f"Bearer key-{settings.agency_code}"}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://adapter", headers=headers
        ) as client:
            yield Adapter(settings.agency_code, runtime, client)
    finally:
        workers.cancel()
        with suppress(asyncio.CancelledError):
            await workers
        await runtime.close()
