"""What the dashboard's overview and agency pages show, read from the hub's database."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, selectinload

from hub.models import Agency, AgencyCertificate, Delivery, DeliveryState, Envelope, Quarantine

HOURS = 24
EXPIRY_WARNING = timedelta(days=30)
REASON_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Hourly:
    hours: list[datetime]
    accepted: list[int]
    refused: list[int]
    delivered: list[int]


def _hour_slots(now: datetime) -> list[datetime]:
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [current - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]


async def _per_hour(session: AsyncSession, at: InstrumentedAttribute[Any],
                    slots: list[datetime], *where: ColumnElement[bool]) -> list[int]:  # fmt: skip
    hour = func.date_trunc("hour", at).label("hour")
    query = select(hour, func.count()).where(at >= slots[0], *where).group_by(hour)
    found = {row[0]: row[1] for row in await session.execute(query)}
    return [found.get(slot, 0) for slot in slots]


async def hourly(session: AsyncSession, hub_code: str, now: datetime) -> Hourly:
    """Envelopes accepted (not counting the hub's own refusals), refused, and delivered."""
    slots = _hour_slots(now)
    accepted = await _per_hour(
        session, Envelope.received_at, slots, Envelope.sender_code != hub_code
    )
    refused = await _per_hour(session, Quarantine.received_at, slots)
    queued = Delivery.state == DeliveryState.QUEUED
    delivered = await _per_hour(session, Delivery.queued_at, slots, queued)
    return Hourly(slots, accepted, refused, delivered)


def reason_kind(reason: str) -> str:
    """A refusal reason without its particulars (ids, codes), so that alike ones add up."""
    return reason.split(":", 1)[0].split("'", 1)[0].strip() or reason[:80]


async def refusal_reasons(session: AsyncSession, now: datetime) -> list[tuple[str, int]]:
    """The commonest kinds of refusal in the last week, most frequent first."""
    query = select(Quarantine.reason).where(Quarantine.received_at >= now - REASON_WINDOW)
    kinds = Counter(reason_kind(reason) for reason in await session.scalars(query))
    return kinds.most_common(8)


@dataclass(frozen=True)
class AgencyNode:
    agency: Agency
    depth: int
    last_activity: datetime | None
    certificates: list[tuple[AgencyCertificate, str]]  # with 'ok', 'expiring' or 'expired'


def certificate_health(certificate: AgencyCertificate, now: datetime) -> str:
    if certificate.revoked_at is not None:
        return "revoked"
    if certificate.not_after <= now:
        return "expired"
    return "expiring" if certificate.not_after - now <= EXPIRY_WARNING else "ok"


def _tree(agencies: list[Agency]) -> list[tuple[Agency, int]]:
    """Province > district > commune, each agency under its parent, by code."""
    children: dict[str | None, list[Agency]] = {}
    codes = {agency.code for agency in agencies}
    for agency in sorted(agencies, key=lambda a: a.code):
        parent = agency.parent_code if agency.parent_code in codes else None
        children.setdefault(parent, []).append(agency)
    ordered: list[tuple[Agency, int]] = []

    def walk(parent: str | None, depth: int) -> None:
        for agency in children.get(parent, []):
            ordered.append((agency, depth))
            walk(agency.code, depth + 1)

    walk(None, 0)
    return ordered


# Each agency's newest envelope: the first entry for its code in ix_envelope_sender_received
# (migration 0011, whose order only that index gives), not a grouping of the whole history.
NEWEST_FIRST = Envelope.received_at.desc().nulls_last()
LAST_ACTIVITY = select(
    Agency.code,
    select(Envelope.received_at)
    .where(Envelope.sender_code == Agency.code)
    .order_by(NEWEST_FIRST)
    .limit(1)
    .scalar_subquery(),
)


async def agencies(session: AsyncSession, now: datetime) -> list[AgencyNode]:
    """Every agency in its place in the tree, with certificates and last activity."""
    found = list(await session.scalars(
        select(Agency).options(selectinload(Agency.certificates))
    ))  # fmt: skip
    last = dict((await session.execute(LAST_ACTIVITY)).all())
    return [
        AgencyNode(agency, depth, last.get(agency.code),
                   [(c, certificate_health(c, now)) for c in agency.certificates])
        for agency, depth in _tree(found)
    ]  # fmt: skip


async def expiring_certificates(session: AsyncSession, now: datetime) -> list[AgencyCertificate]:
    """Agencies whose newest unrevoked certificate expires within 30 days, or already did (an
    older one left registered after a key change raises no alarm)."""
    newest = (
        select(AgencyCertificate.agency_id, func.max(AgencyCertificate.not_after).label("until"))
        .where(AgencyCertificate.revoked_at.is_(None))
        .group_by(AgencyCertificate.agency_id)
        .subquery()
    )
    query = (
        select(AgencyCertificate)
        .join(newest, (newest.c.agency_id == AgencyCertificate.agency_id)
              & (newest.c.until == AgencyCertificate.not_after))
        .where(AgencyCertificate.not_after <= now + EXPIRY_WARNING)
        .options(selectinload(AgencyCertificate.agency))
        .order_by(AgencyCertificate.not_after)
    )  # fmt: skip
    return list(await session.scalars(query))
