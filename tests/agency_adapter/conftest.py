"""A hub with a district and its communes, each with an adapter of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest

from agency_adapter.db import make_engine, make_sessions
from agency_adapter.migrate import upgrade_async
from hub.models import AgencyLevel
from tests.agency_adapter.adapter_stack import Adapter, adapter_settings, running_adapter
from tests.agency_adapter.attachment_exchange import Exchange, exchange_on
from tests.agency_adapter.codes import COMMUNE, COMMUNE_B, DISTRICT
from tests.agency_adapter.store import Sessions
from tests.hub.hub_stack import HubStack, Member, hub_stack


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[HubStack, Adapter, Adapter]]:
    """(hub, the commune's adapter, the district's adapter), the hub's worker running."""
    async with hub_stack(tmp_path / "hub") as hub:
        district = await hub.register(DISTRICT, AgencyLevel.DISTRICT)
        commune = await hub.register(COMMUNE, AgencyLevel.COMMUNE, DISTRICT)
        async with (
            hub.worker(),
            running_adapter(adapter_settings(hub, district, tmp_path)) as district_adapter,
            running_adapter(adapter_settings(hub, commune, tmp_path)) as commune_adapter,
        ):
            yield hub, commune_adapter, district_adapter


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    """A migrated SQLite store of an adapter that is not running."""
    url = f"sqlite+aiosqlite:///{tmp_path}/store.db"
    await upgrade_async(url)
    engine = make_engine(url)
    yield make_sessions(engine)
    await engine.dispose()


@dataclass
class District:
    """A district's running adapter, and two communes whose adapters a test starts (and
    stops) when it wants: an adapter not running leaves its mailbox filling at the broker."""

    hub: HubStack
    adapter: Adapter
    communes: dict[str, Member]
    directory: Path

    def commune(self, code: str) -> AbstractAsyncContextManager[Adapter]:
        return running_adapter(adapter_settings(self.hub, self.communes[code], self.directory))


@pytest.fixture
async def district(tmp_path: Path) -> AsyncIterator[District]:
    async with hub_stack(tmp_path / "hub") as hub:
        member = await hub.register(DISTRICT, AgencyLevel.DISTRICT)
        communes = {
            code: await hub.register(code, AgencyLevel.COMMUNE, DISTRICT)
            for code in (COMMUNE, COMMUNE_B)
        }
        async with (
            hub.worker(),
            running_adapter(adapter_settings(hub, member, tmp_path)) as adapter,
        ):
            yield District(hub, adapter, communes, tmp_path)


@pytest.fixture
async def exchange(tmp_path: Path) -> AsyncIterator[Exchange]:
    """A hub whose API and attachment store are served on a local port; adapters start when
    a test wants them (tests/agency_adapter/attachment_exchange.py)."""
    async with exchange_on(tmp_path) as ready:
        yield ready
