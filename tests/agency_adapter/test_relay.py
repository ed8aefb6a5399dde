"""The outbox relay on its own (no worker running): each row published once, every row
marked, under load a round's rows marked with the next round's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import select

from agency_adapter.api.app import create_app
from agency_adapter.db import transaction
from agency_adapter.models import Outbox
from agency_adapter.runtime import AdapterRuntime
from hub.models import AgencyLevel
from tests.agency_adapter.adapter_stack import adapter_settings
from tests.agency_adapter.codes import COMMUNE, DISTRICT
from tests.agency_adapter.test_exchange import new_document
from tests.hub.hub_stack import HubStack, hub_stack


@asynccontextmanager
async def idle_adapter(tmp_path: Path) -> AsyncIterator[tuple[HubStack, AdapterRuntime]]:
    """A commune's adapter whose relay runs only when the test says (no hub worker either:
    what it publishes stays in the intake queue, to be counted)."""
    async with hub_stack(tmp_path / "hub") as hub:
        await hub.register(DISTRICT, AgencyLevel.DISTRICT)
        commune = await hub.register(COMMUNE, AgencyLevel.COMMUNE, DISTRICT)
        await hub.runtime.broker.declare_topology([DISTRICT, COMMUNE])
        runtime = await AdapterRuntime.start(adapter_settings(hub, commune, tmp_path))
        try:
            yield hub, runtime
        finally:
            await runtime.close()


@asynccontextmanager
async def _client(runtime: AdapterRuntime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime, run_workers=False)
    headers = {"Authorization": f"Bearer key-{COMMUNE}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://a", headers=headers) as c:
        yield c


async def _post(runtime: AdapterRuntime) -> str:
    async with _client(runtime) as client:
        answer = await client.post("/v1/documents", json=new_document())
    assert answer.status_code == 202
    return str(answer.json()["id"])


async def _states(runtime: AdapterRuntime, *documents: str) -> list[str]:
    async with _client(runtime) as client:
        return [(await client.get(f"/v1/documents/{d}")).json()["state"] for d in documents]


async def _published(runtime: AdapterRuntime) -> list[bool]:
    async with runtime.sessions() as session:
        query = select(Outbox.published_at).order_by(Outbox.id)
        return [at is not None for at in await session.scalars(query)]


async def test_under_load_a_round_is_marked_with_the_next_and_nothing_goes_twice(
    tmp_path: Path,
) -> None:
    async with idle_adapter(tmp_path) as (hub, runtime):
        relay = runtime.workers
        first = await _post(runtime)
        relay.wake.set()  # another request committed while the round ran
        assert await relay.relay_once() == 1
        assert await _published(runtime) == [False]  # left to be marked with the next round
        assert await _states(runtime, first) == ["queued"]
        second = await _post(runtime)
        relay.wake.clear()  # and nothing more after that one
        assert await relay.relay_once() == 1  # the second only: the first is not read again
        assert await _published(runtime) == [True, True]
        assert await _states(runtime, first, second) == ["sent", "sent"]
        assert await relay.relay_once() == 0
        intake = await hub.drain_queue(hub.settings.intake_queue, expect=2)
    assert len(intake) == 2  # each once


async def test_when_nothing_else_is_coming_a_round_is_marked_at_once(tmp_path: Path) -> None:
    async with idle_adapter(tmp_path) as (hub, runtime):
        document = await _post(runtime)
        runtime.workers.wake.clear()
        assert await runtime.workers.relay_once() == 1
        assert await _published(runtime) == [True]
        assert await _states(runtime, document) == ["sent"]
        intake = await hub.drain_queue(hub.settings.intake_queue, expect=1)
    assert len(intake) == 1


async def test_a_sent_document_is_stored_once_and_its_own_bytes_go_out(tmp_path: Path) -> None:
    async with idle_adapter(tmp_path) as (hub, runtime):
        document = await _post(runtime)
        async with runtime.sessions() as session:
            (held,) = await session.scalars(select(Outbox.body))
        assert await runtime.workers.relay_once() == 1
        (published,) = await hub.drain_queue(hub.settings.intake_queue, expect=1)
        async with _client(runtime) as client:
            signed = (await client.get(f"/v1/documents/{document}/edxml")).content
    assert held is None  # the outbox row holds no copy: the document's body is the package
    assert published.body == signed


async def test_a_row_whose_document_is_gone_is_set_aside_and_the_rest_go_on(
    tmp_path: Path,
) -> None:
    async with idle_adapter(tmp_path) as (hub, runtime):
        async with transaction(runtime.sessions) as session:
            session.add(Outbox(envelope_id="no-such-document", body=None))
        document = await _post(runtime)
        runtime.workers.wake.clear()
        assert await runtime.workers.relay_once() == 1  # the document behind it went out
        async with runtime.sessions() as session:
            orphan = await session.scalar(
                select(Outbox).where(Outbox.envelope_id == "no-such-document")
            )
        assert await _states(runtime, document) == ["sent"]
        intake = await hub.drain_queue(hub.settings.intake_queue, expect=1)
    assert orphan is not None and orphan.published_at is not None
    assert orphan.last_error == "not sent: its document is no longer in the store"
    assert len(intake) == 1
