"""``GET /metrics``: the adapter's Prometheus series, computed at scrape time from its store.

Nothing is counted in process memory, so a restart loses nothing and every process serving
the same store reports the same numbers: the "counters" are counts of rows that are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agency_adapter.api.dependencies import LocalSystem, Runtime
from agency_adapter.context import AdapterContext
from agency_adapter.models import AwaitingFiles, Document, Event, Outbox
from agency_adapter.runtime import AdapterRuntime

router = APIRouter(tags=["metrics"])
# What generate_latest writes; recent prometheus_client releases point CONTENT_TYPE_LATEST at a
# newer version of the format, which older Prometheus servers do not know.
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
DAY_S = 86400.0


@dataclass(frozen=True)
class AdapterSnapshot:
    """Everything one scrape reports, read before any text is written."""

    outbox_backlog: int
    oldest_unpublished_s: float
    documents: dict[tuple[str, str], int]  # (box, state) -> documents
    events: int
    webhook_failing: int
    webhook_retries: int
    awaiting_files: int
    oldest_awaiting_s: float


@router.get("/metrics", response_class=Response)
async def metrics(rt: Runtime, _: LocalSystem) -> Response:
    """The adapter's Prometheus metrics, read from its store at this scrape."""
    return Response(await scrape(rt), media_type=TEXT_FORMAT)


async def scrape(rt: AdapterRuntime) -> bytes:
    """The Prometheus text exposition of one fresh snapshot."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AdapterCollector(await snapshot(rt), rt.ctx))
    return generate_latest(registry)


async def snapshot(rt: AdapterRuntime) -> AdapterSnapshot:
    async with rt.sessions() as db:
        return await snapshot_of(db)


async def snapshot_of(db: AsyncSession) -> AdapterSnapshot:
    """What one scrape reports of the store."""
    backlog, oldest = await _outbox(db)
    failing, retries = await _webhooks(db)
    events = await db.scalar(select(func.count()).select_from(Event)) or 0
    awaiting, oldest_awaiting = await _awaiting(db)
    return AdapterSnapshot(backlog, oldest, await _documents(db), events, failing, retries,
                           awaiting, oldest_awaiting)  # fmt: skip


def _aware(moment: datetime) -> datetime:
    # SQLite hands back CURRENT_TIMESTAMP without a zone; it is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _age(oldest: datetime | None) -> float:
    return 0.0 if oldest is None else max(0.0, (datetime.now(UTC) - _aware(oldest)).total_seconds())


async def _outbox(db: AsyncSession) -> tuple[int, float]:
    """Packages not yet published to the hub, and the age of the oldest (0 when none)."""
    query = select(func.count(), func.min(Outbox.created_at)).where(Outbox.published_at.is_(None))
    count, oldest = (await db.execute(query)).one()
    return count, _age(oldest)


async def _awaiting(db: AsyncSession) -> tuple[int, float]:
    """Received documents waiting for their files from the hub, and the oldest one's age."""
    query = select(func.count(), func.min(AwaitingFiles.created_at))
    count, oldest = (await db.execute(query)).one()
    return count, _age(oldest)


# Counted from the index on (box, state) alone (migration a007), not from the rows.
DOCUMENTS_BY_BOX_AND_STATE = select(Document.box, Document.state, func.count()).group_by(
    Document.box, Document.state
)


async def _documents(db: AsyncSession) -> dict[tuple[str, str], int]:
    rows = await db.execute(DOCUMENTS_BY_BOX_AND_STATE)
    return {(box, state): count for box, state, count in rows}


async def _webhooks(db: AsyncSession) -> tuple[int, int]:
    """Events tried and not delivered, and attempts beyond each event's first.
    webhook_attempts counts every POST, the successful one included."""
    failing = select(func.count()).where(
        Event.webhook_attempts > 0, Event.webhook_delivered_at.is_(None)
    )
    retries = select(func.coalesce(func.sum(Event.webhook_attempts - 1), 0)).where(
        Event.webhook_attempts > 1
    )
    return await db.scalar(failing) or 0, await db.scalar(retries) or 0


class AdapterCollector(Collector):
    """Turns one snapshot into metric families; built anew for every scrape."""

    def __init__(self, snapshot: AdapterSnapshot, ctx: AdapterContext) -> None:
        self.snapshot, self.ctx = snapshot, ctx

    def collect(self) -> Iterable[Metric]:
        yield from _outbox_families(self.snapshot)
        yield from _awaiting_families(self.snapshot)
        yield from _event_families(self.snapshot)
        yield _certificate_family(self.ctx)


def _outbox_families(snap: AdapterSnapshot) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "lienthong_adapter_outbox_backlog",
        "Signed packages waiting to be published to the hub.",
        value=snap.outbox_backlog,
    )
    yield GaugeMetricFamily(
        "lienthong_adapter_outbox_oldest_unpublished_seconds",
        "Age of the oldest package not yet published to the hub (0 when none).",
        value=snap.oldest_unpublished_s,
    )
    documents = GaugeMetricFamily(
        "lienthong_adapter_documents", "Documents sent (outbox) or received (inbox), by state.",
        labels=["box", "state"],
    )  # fmt: skip
    for (box, state), count in sorted(snap.documents.items()):
        documents.add_metric([box, state], count)
    yield documents


def _awaiting_families(snap: AdapterSnapshot) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "lienthong_adapter_awaiting_files",
        "Received documents whose files the hub has not given yet (acked, kept, retried).",
        value=snap.awaiting_files,
    )
    yield GaugeMetricFamily(
        "lienthong_adapter_awaiting_files_oldest_seconds",
        "How long the oldest document waiting for its files has waited (0 when none).",
        value=snap.oldest_awaiting_s,
    )


def _event_families(snap: AdapterSnapshot) -> Iterator[Metric]:
    yield CounterMetricFamily(
        "lienthong_adapter_events", "Events written to the local system's feed.", value=snap.events
    )
    yield GaugeMetricFamily(
        "lienthong_adapter_webhook_failing_events",
        "Events the webhook tried to deliver and has not delivered yet.",
        value=snap.webhook_failing,
    )
    yield CounterMetricFamily(
        "lienthong_adapter_webhook_retries",
        "Webhook attempts beyond each event's first (failed deliveries retried).",
        value=snap.webhook_retries,
    )


def _certificate_family(ctx: AdapterContext) -> Metric:
    certificate = ctx.identity.certificate
    left = certificate.not_valid_after_utc - datetime.now(UTC)
    family = GaugeMetricFamily(
        "lienthong_adapter_certificate_expiry_days",
        "Days until the agency's signing certificate expires (negative once expired).",
        labels=["agency"],
    )
    family.add_metric([ctx.settings.agency_code], left.total_seconds() / DAY_S)
    return family
