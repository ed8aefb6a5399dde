"""Each attachment test gets a hub of its own (its store in the test's directory), its API
served over real HTTP, and a district with two communes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.attachments.store import FilesystemStore
from hub.models import AgencyLevel
from tests.hub.hub_stack import HubStack, hub_stack
from tests.hub.served import serving

PROVINCE = "000.00.00.H40"
DISTRICT = "000.00.29.H40"
COMMUNE_A = "000.04.29.H40"
COMMUNE_B = "000.05.29.H40"


@asynccontextmanager
async def district_hub(tmp_path: Path, **settings: Any) -> AsyncIterator[HubStack]:
    """A hub with these settings (its store in the test's directory), and the agencies."""
    settings.setdefault("attachment_dir", tmp_path / "attachments")
    async with hub_stack(tmp_path, **settings) as stack:
        await stack.register(PROVINCE, AgencyLevel.PROVINCE)
        await stack.register(DISTRICT, AgencyLevel.DISTRICT, PROVINCE)
        await stack.register(COMMUNE_A, AgencyLevel.COMMUNE, DISTRICT)
        await stack.register(COMMUNE_B, AgencyLevel.COMMUNE, DISTRICT)
        yield stack


@asynccontextmanager
async def served_hub(
    tmp_path: Path, **settings: Any
) -> AsyncIterator[tuple[HubStack, httpx.AsyncClient]]:
    """Such a hub, and an HTTP client of its API on a real socket."""
    async with (
        district_hub(tmp_path, **settings) as stack,
        serving(stack) as base_url,
        httpx.AsyncClient(base_url=base_url) as http,
    ):
        yield stack, http


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[HubStack]:
    async with district_hub(tmp_path) as stack:
        yield stack


@pytest.fixture
async def client(hub: HubStack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the hub's API, on a real socket."""
    async with serving(hub) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        yield http


@pytest.fixture
def store(hub: HubStack) -> FilesystemStore:
    return FilesystemStore(hub.settings.attachment_dir)
