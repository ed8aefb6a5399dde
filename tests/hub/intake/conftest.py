"""Each intake test gets a hub of its own on the real PostgreSQL and RabbitMQ."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.models import AgencyLevel
from tests.hub.hub_stack import HubStack, hub_stack

PROVINCE = "000.00.00.H40"
DISTRICT = "000.00.29.H40"
COMMUNE_A = "000.04.29.H40"
COMMUNE_B = "000.05.29.H40"


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[HubStack]:
    """A province, a district under it and two communes under the district."""
    async with hub_stack(tmp_path) as stack:
        await stack.register(PROVINCE, AgencyLevel.PROVINCE)
        await stack.register(DISTRICT, AgencyLevel.DISTRICT, PROVINCE)
        await stack.register(COMMUNE_A, AgencyLevel.COMMUNE, DISTRICT)
        await stack.register(COMMUNE_B, AgencyLevel.COMMUNE, DISTRICT)
        yield stack
