"""A hub with a district and one of its communes, each with a running adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.models import AgencyLevel
from tests.agency_adapter.adapter_stack import Adapter, adapter_settings, running_adapter
from tests.hub.hub_stack import HubStack, hub_stack

DISTRICT, COMMUNE = "000.00.29.H40", "000.04.29.H40"


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
