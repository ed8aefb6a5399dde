"""``GET /metrics``: the hub's Prometheus series, computed at scrape time.

Every value comes from the database (and from RabbitMQ's management API), so the API replicas
and worker processes of one hub agree, and a restart loses nothing: the "counters" are row
counts of tables that only grow. What a process keeps is only its count of the settled past,
which any process would count the same (hub/tally.py); what is recent is counted at the scrape.
A broker whose management API fails drops the broker series and sets ``lienthong_broker_up``
to 0; the database series are still reported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.dependencies import CurrentRuntime, Viewer
from hub.broker_admin import BrokerAdmin, BrokerAdminError, QueueStats
from hub.models import (
    Agency,
    AgencyCertificate,
    Quarantine,
)
from hub.operations.repository import agencies_health
from hub.operations.service import count_dead_letters, pending_deliveries
from hub.runtime import Runtime
from hub.settings import HubSettings
from hub.tally import LATENCY_BUCKETS, Latency

log = logging.getLogger(__name__)
router = APIRouter(tags=["metrics"])
# What generate_latest writes; recent prometheus_client releases point CONTENT_TYPE_LATEST at a
# newer version of the format, which older Prometheus servers do not know.
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"

# Prometheus scrapes time out after 10 s by default: a slow management API must not eat it all.
MANAGEMENT_TIMEOUT_S = 3.0
DAY_S = 86400.0
BUSINESSES = ("new", "recall", "delete", "update", "replace")
# The refusal texts of hub/intake/assessment.py that mean "the signature is the problem".
SIGNATURE_REFUSALS = {
    "invalid": "the signature is not accepted%",
    "unsigned": "the package is not signed%",
}


@dataclass(frozen=True)
class HubSnapshot:
    """Everything one scrape reports, read before any text is written."""

    accepted: dict[tuple[str, str], int]  # (kind, business) -> envelopes
    refused: int
    signature_failures: dict[str, int]
    latency: Latency
    pending: int
    dead_letters_waiting: int  # kept by the hub, waiting for an operator's replay or discard
    oldest_waiting_s: dict[str, float]  # agency -> seconds
    certificate_days: dict[str, float]  # agency -> days
    queues: list[QueueStats] | None  # None: the management API did not answer


@router.get("/metrics", response_class=Response)
async def metrics(rt: CurrentRuntime, _: Viewer) -> Response:
    """The hub's Prometheus metrics, read from the database and the broker at this scrape."""
    return Response(await scrape(rt), media_type=TEXT_FORMAT)


async def scrape(rt: Runtime) -> bytes:
    """The Prometheus text exposition of one fresh snapshot."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(await snapshot(rt), rt.settings))
    return generate_latest(registry)


async def snapshot(rt: Runtime) -> HubSnapshot:
    queues = await _queues(rt.settings)
    async with rt.sessions() as db:
        accepted, latency = await rt.tally.counts(db, rt.settings.hub_code)
        return HubSnapshot(
            accepted=accepted,
            refused=await db.scalar(select(func.count()).select_from(Quarantine)) or 0,
            signature_failures=await _signature_failures(db),
            latency=latency,
            pending=await pending_deliveries(db),
            dead_letters_waiting=await count_dead_letters(db),
            oldest_waiting_s=await _oldest_waiting(db),
            certificate_days=await _certificate_days(db),
            queues=queues,
        )


async def _queues(settings: HubSettings) -> list[QueueStats] | None:
    try:
        async with BrokerAdmin(settings, timeout_s=MANAGEMENT_TIMEOUT_S) as admin:
            return await admin.queue_stats()
    except BrokerAdminError as error:
        log.warning("metrics without the broker's queues: %s", error)
        return None


async def _signature_failures(db: AsyncSession) -> dict[str, int]:
    found = {}
    for reason, pattern in SIGNATURE_REFUSALS.items():
        query = select(func.count()).where(Quarantine.reason.like(pattern))
        found[reason] = await db.scalar(query) or 0
    return found


async def _oldest_waiting(db: AsyncSession) -> dict[str, float]:
    """Per agency: how long its oldest queued document has waited for the agency's 01 (0 for
    none), as the dashboard's mailbox page reckons it. The broker only knows the head of a
    quorum queue, not its age, so the hub's own records stand in for it."""
    now = datetime.now(UTC)
    return {
        health.agency.code: _age_s(now, health.oldest_waiting_at)
        for health in await agencies_health(db)
    }


def _age_s(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


async def _certificate_days(db: AsyncSession) -> dict[str, float]:
    """Per agency, the days left on its newest unrevoked certificate (an older one still
    registered after a key change is not a reason to alarm)."""
    query = (
        select(Agency.code, func.max(AgencyCertificate.not_after))
        .join(AgencyCertificate, AgencyCertificate.agency_id == Agency.id)
        .where(AgencyCertificate.revoked_at.is_(None))
        .group_by(Agency.code)
    )
    now = datetime.now(UTC)
    rows = await db.execute(query)
    return {code: (not_after - now).total_seconds() / DAY_S for code, not_after in rows}


class HubCollector(Collector):
    """Turns one snapshot into metric families; built anew for every scrape."""

    def __init__(self, snapshot: HubSnapshot, settings: HubSettings) -> None:
        self.snapshot, self.settings = snapshot, settings

    def collect(self) -> Iterable[Metric]:
        yield from _envelope_families(self.snapshot)
        yield _latency_family(self.snapshot.latency)
        yield from _delivery_families(self.snapshot)
        yield from _broker_families(self.snapshot.queues, self.settings)


def _envelope_families(snap: HubSnapshot) -> Iterator[Metric]:
    envelopes = CounterMetricFamily(
        "lienthong_envelopes", "Envelopes received from agencies: accepted (by kind and "
        "business) or refused into quarantine.", labels=["kind", "business", "outcome"],
    )  # fmt: skip
    # Zeros too: a series that appears only at its first increment hides that increment.
    for key in {("document", b) for b in BUSINESSES} | {("status", "")} | set(snap.accepted):
        envelopes.add_metric([*key, "accepted"], snap.accepted.get(key, 0))
    envelopes.add_metric(["", "", "refused"], snap.refused)
    yield envelopes
    failures = CounterMetricFamily(
        "lienthong_signature_failures", "Envelopes refused because their signature was not "
        "accepted (invalid) or missing (unsigned).", labels=["reason"],
    )  # fmt: skip
    for reason, count in sorted(snap.signature_failures.items()):
        failures.add_metric([reason], count)
    yield failures


def _latency_family(latency: Latency) -> Metric:
    buckets = [(str(b), float(c)) for b, c in zip(LATENCY_BUCKETS, latency.buckets, strict=True)]
    return HistogramMetricFamily(
        "lienthong_delivery_latency_seconds", "From a document's arrival at the hub to each "
        "recipient's status 01 (it has the document).",
        buckets=[*buckets, ("+Inf", float(latency.count))], sum_value=latency.total_s,
    )  # fmt: skip


def _delivery_families(snap: HubSnapshot) -> Iterator[Metric]:
    yield GaugeMetricFamily("lienthong_pending_deliveries", "Deliveries recorded at the hub "
                            "and not yet confirmed by the broker.", value=snap.pending)  # fmt: skip
    yield GaugeMetricFamily("lienthong_dead_letters_waiting", "Dead-lettered messages the hub "
                            "keeps until an operator replays or discards them.",
                            value=snap.dead_letters_waiting)  # fmt: skip
    yield _per_agency(
        "lienthong_mailbox_oldest_waiting_seconds", "Age of the oldest document queued to the "
        "agency that it has not answered with status 01 (0 when none).", snap.oldest_waiting_s,
    )  # fmt: skip
    yield _per_agency(
        "lienthong_certificate_expiry_days", "Days until the agency's first registered, "
        "unrevoked certificate expires (negative once expired).", snap.certificate_days,
    )  # fmt: skip


def _per_agency(name: str, documentation: str, values: dict[str, float]) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=["agency"])
    for code, value in sorted(values.items()):
        family.add_metric([code], value)
    return family


def _broker_families(
    queues: Sequence[QueueStats] | None, settings: HubSettings
) -> Iterator[Metric]:
    up = "Whether RabbitMQ's management API answered this scrape (1) or not (0)."
    yield GaugeMetricFamily("lienthong_broker_up", up, value=0 if queues is None else 1)
    if queues is None:
        return  # absent, not zero: no answer is not the same as empty queues
    by_name = {queue.name: queue for queue in queues}
    yield _depth("lienthong_intake_backlog_messages", "Messages in the intake queue, waiting "
                 "or being handled.", by_name.get(settings.intake_queue))  # fmt: skip
    yield _depth("lienthong_dead_letters_messages", "Messages in the dead-letter queue not yet "
                 "taken into the hub's keeping.",
                 by_name.get(settings.dead_letter_queue))  # fmt: skip
    yield from _mailbox_families(queues, settings.mailbox_prefix)


def _messages(queue: QueueStats) -> int:
    return queue.messages_ready + queue.messages_unacknowledged


def _depth(name: str, documentation: str, queue: QueueStats | None) -> Metric:
    return GaugeMetricFamily(name, documentation, value=_messages(queue) if queue else 0)


def _mailbox_families(queues: Sequence[QueueStats], prefix: str) -> Iterator[Metric]:
    mailboxes = [(q.name.removeprefix(prefix), q) for q in queues if q.name.startswith(prefix)]
    backlog = GaugeMetricFamily("lienthong_mailbox_backlog_messages", "Messages in the "
                                "agency's mailbox not yet settled by its adapter.",
                                labels=["agency"])  # fmt: skip
    consumers = GaugeMetricFamily("lienthong_mailbox_consumers", "Consumers on the agency's "
                                  "mailbox (0: its adapter is not connected).",
                                  labels=["agency"])  # fmt: skip
    for code, queue in mailboxes:
        backlog.add_metric([code], _messages(queue))
        consumers.add_metric([code], queue.consumers)
    yield backlog
    yield consumers
