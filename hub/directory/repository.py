"""SQL of the directory. Flushes only; the caller's edge commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from hub.models import Agency, AgencyCertificate, AgencyGroup


async def agency_by_code(session: AsyncSession, code: str) -> Agency | None:
    query = select(Agency).where(Agency.code == code).options(selectinload(Agency.certificates))
    return (await session.scalars(query)).one_or_none()


async def agencies(session: AsyncSession, codes: Sequence[str] | None = None) -> list[Agency]:
    query = select(Agency).options(selectinload(Agency.certificates)).order_by(Agency.code)
    if codes is not None:
        query = query.where(Agency.code.in_(codes))
    return list(await session.scalars(query))


async def certificate(session: AsyncSession, fingerprint: str) -> AgencyCertificate | None:
    query = select(AgencyCertificate).where(AgencyCertificate.fingerprint == fingerprint)
    return (await session.scalars(query)).one_or_none()


async def groups(session: AsyncSession, codes: Sequence[str] | None = None) -> list[AgencyGroup]:
    query = select(AgencyGroup).order_by(AgencyGroup.code)
    if codes is not None:
        query = query.where(AgencyGroup.code.in_(codes))
    return list(await session.scalars(query))


_VERSION = text("SELECT version FROM directory_version WHERE id = 1")  # built once (see db.py)


async def directory_version(session: AsyncSession) -> int:
    """Bumped by every change to agencies, certificates and groups (migration 0007)."""
    version = await session.scalar(_VERSION)
    if version is None:
        raise RuntimeError(
            "the directory_version row is missing: the database is not migrated (0007)"
        )
    return int(version)


async def add(session: AsyncSession, row: Agency | AgencyCertificate | AgencyGroup) -> None:
    session.add(row)
    await session.flush()
