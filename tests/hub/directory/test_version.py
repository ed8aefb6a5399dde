"""The directory version moves with every change, however it is made, and the intake's
in-memory directory follows it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.db import transaction
from hub.directory import repository
from hub.directory import service as directory
from hub.directory.snapshot import DirectoryCache
from hub.models import AgencyLevel, AgencyState
from tests.hub.hub_stack import HubStack, hub_stack

DISTRICT, COMMUNE = "000.00.29.H40", "000.04.29.H40"


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[HubStack]:
    async with hub_stack(tmp_path) as stack:
        await stack.register(DISTRICT, AgencyLevel.DISTRICT)
        yield stack


async def version(hub: HubStack) -> int:
    async with hub.runtime.sessions() as session:
        return await repository.directory_version(session)


async def by_sql(hub: HubStack, statement: str, **values: str) -> None:
    """A change made outside the hub's code, as an operator with psql would."""
    async with transaction(hub.runtime.sessions) as session:
        await session.execute(text(statement), values)


async def test_every_change_to_agencies_certificates_or_groups_moves_the_version(
    hub: HubStack,
) -> None:
    seen = [await version(hub)]
    await hub.register(COMMUNE, AgencyLevel.COMMUNE, DISTRICT)
    seen.append(await version(hub))
    async with transaction(hub.runtime.sessions) as session:
        await directory.set_state(session, COMMUNE, AgencyState.SUSPENDED, "test")
    seen.append(await version(hub))
    await by_sql(hub, "UPDATE agency_certificate SET revoked_at = now()")
    seen.append(await version(hub))
    await by_sql(hub, "DELETE FROM agency_group WHERE anchor_code = :code", code=DISTRICT)
    seen.append(await version(hub))
    assert seen == sorted(set(seen)), f"the version did not move at every change: {seen}"


async def test_a_rolled_back_change_leaves_the_version_alone(hub: HubStack) -> None:
    before = await version(hub)
    async with hub.runtime.sessions() as session, session.begin():
        await session.execute(text("UPDATE agency SET state = 'suspended'"))
        await session.rollback()
    assert await version(hub) == before


async def test_the_cache_reads_the_directory_again_only_after_a_change(hub: HubStack) -> None:
    cache = DirectoryCache()
    async with hub.runtime.sessions() as session:
        first = await cache.current(session)
    async with hub.runtime.sessions() as session:
        assert await cache.current(session) is first  # nothing changed: nothing read again
    await by_sql(hub, "UPDATE agency SET state = 'suspended' WHERE code = :code", code=DISTRICT)
    async with hub.runtime.sessions() as session:
        after = await cache.current(session)
    assert after is not first and after.version > first.version
    assert after.resolve([DISTRICT]).suspended == [DISTRICT]
    assert first.resolve([DISTRICT]).suspended == []


async def test_one_transaction_judges_by_one_snapshot(hub: HubStack) -> None:
    cache = DirectoryCache()
    async with hub.runtime.sessions() as session:
        first = await cache.current(session)
        await by_sql(hub, "UPDATE agency SET state = 'suspended' WHERE code = :code", code=DISTRICT)
        assert await cache.current(session) is first  # messages admitted together
    async with hub.runtime.sessions() as session:
        assert (await cache.current(session)).resolve([DISTRICT]).suspended == [DISTRICT]
