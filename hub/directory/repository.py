"""SQL of the directory. Flushes only; the caller's edge commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from hub.models import Agency, AgencyCertificate, AgencyGroup


async def agency_by_code(session: AsyncSession, code: str) -> Agency | None:
    query = select(Agency).where(Agency.code == code).options(selectinload(Agency.certificates))
    return (await session.scalars(query)).one_or_none()


async def agency_by_broker_user(session: AsyncSession, user: str) -> Agency | None:
    """The agency with its certificates, in one round trip (intake checks the signer's)."""
    query = (
        select(Agency).where(Agency.broker_user == user).options(joinedload(Agency.certificates))
    )
    return (await session.scalars(query)).unique().one_or_none()


async def agencies(session: AsyncSession, codes: Sequence[str] | None = None) -> list[Agency]:
    query = select(Agency).options(selectinload(Agency.certificates)).order_by(Agency.code)
    if codes is not None:
        query = query.where(Agency.code.in_(codes))
    return list(await session.scalars(query))


async def named(session: AsyncSession, codes: Sequence[str]) -> list[Agency]:
    """The agencies with these codes, without their certificates (recipients need none)."""
    query = select(Agency).where(Agency.code.in_(codes)).order_by(Agency.code)
    return list(await session.scalars(query))


async def children(session: AsyncSession, parent_code: str) -> list[Agency]:
    query = select(Agency).where(Agency.parent_code == parent_code).order_by(Agency.code)
    return list(await session.scalars(query))


async def certificate(session: AsyncSession, fingerprint: str) -> AgencyCertificate | None:
    query = select(AgencyCertificate).where(AgencyCertificate.fingerprint == fingerprint)
    return (await session.scalars(query)).one_or_none()


async def groups(session: AsyncSession, codes: Sequence[str] | None = None) -> list[AgencyGroup]:
    query = select(AgencyGroup).order_by(AgencyGroup.code)
    if codes is not None:
        query = query.where(AgencyGroup.code.in_(codes))
    return list(await session.scalars(query))


async def add(session: AsyncSession, row: Agency | AgencyCertificate | AgencyGroup) -> None:
    session.add(row)
    await session.flush()
