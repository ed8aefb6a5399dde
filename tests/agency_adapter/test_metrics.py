"""/metrics of the hub and of both adapters after a real document made its way through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from hub.models import AgencyLevel
from tests.agency_adapter.adapter_stack import Adapter, adapter_settings, running_adapter
from tests.agency_adapter.codes import COMMUNE, COMMUNE_B, DISTRICT
from tests.hub.hub_stack import HubStack, hub_stack
from tests.hub.test_metrics import TOKENS, Samples, hub_client, parse, scrape_until, value

# Nothing listens on the discard port: every webhook attempt fails at once.
DEAD_WEBHOOK = "http://127.0.0.1:9/hook"


@dataclass
class Trio:
    """The hub (and its API), a commune's and its district's adapters, and a second commune
    that has no adapter running, so its mailbox fills."""

    hub: HubStack
    api: httpx.AsyncClient
    commune: Adapter
    district: Adapter


@pytest.fixture
async def trio(tmp_path: Path) -> AsyncIterator[Trio]:
    async with hub_stack(tmp_path / "hub", operator_tokens=TOKENS) as hub:
        district = await hub.register(DISTRICT, AgencyLevel.DISTRICT)
        commune = await hub.register(COMMUNE, AgencyLevel.COMMUNE, DISTRICT)
        await hub.register(COMMUNE_B, AgencyLevel.COMMUNE, DISTRICT)
        hooked = adapter_settings(hub, district, tmp_path, webhook_url=DEAD_WEBHOOK,
                                  webhook_secret="s3cret", webhook_retry_s=0.1,
                                  webhook_max_backoff_s=0.2)  # fmt: skip
        async with (
            hub.worker(),
            running_adapter(hooked) as district_adapter,
            running_adapter(adapter_settings(hub, commune, tmp_path)) as commune_adapter,
            hub_client(hub.runtime) as api,
        ):
            yield Trio(hub, api, commune_adapter, district_adapter)


async def adapter_metrics(adapter: Adapter) -> Samples:
    answer = await adapter.client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(answer.text)


async def test_a_document_shows_in_the_metrics_of_the_hub_and_both_adapters(trio: Trio) -> None:
    body = {"to": [DISTRICT, COMMUNE_B], "subject": "V/v báo cáo tình hình thu hoạch lúa mùa"}
    assert (await trio.commune.client.post("/v1/documents", json=body)).status_code == 202
    (arrived,) = await trio.commune.wait_for("status.received")
    assert (arrived["payload"]["from"], arrived["payload"]["code"]) == (DISTRICT, "01")
    await _hub_saw_one_document_and_one_status(trio)
    await _the_sender_published_everything(trio.commune)
    await _the_recipient_counts_its_failing_webhook(trio.district)


async def _hub_saw_one_document_and_one_status(trio: Trio) -> None:
    anonymous = await trio.api.get("/metrics")
    assert anonymous.status_code == 401
    samples = await scrape_until(trio.api, _broker_settled)
    accepted = {"kind": "document", "business": "new", "outcome": "accepted"}
    assert value(samples, "lienthong_envelopes_total", **accepted) == 1
    status = {"kind": "status", "business": "", "outcome": "accepted"}
    assert value(samples, "lienthong_envelopes_total", **status) == 1
    # One recipient answered 01, the other has no adapter running: one latency observed.
    assert value(samples, "lienthong_delivery_latency_seconds_count") == 1
    assert value(samples, "lienthong_delivery_latency_seconds_bucket", le="300.0") == 1
    assert 0 < value(samples, "lienthong_delivery_latency_seconds_sum") < 60
    assert value(samples, "lienthong_mailbox_backlog_messages", agency=COMMUNE_B) == 1
    assert value(samples, "lienthong_mailbox_consumers", agency=DISTRICT) == 1
    assert value(samples, "lienthong_mailbox_consumers", agency=COMMUNE_B) == 0
    assert value(samples, "lienthong_mailbox_oldest_waiting_seconds", agency=COMMUNE_B) > 0
    assert value(samples, "lienthong_mailbox_oldest_waiting_seconds", agency=DISTRICT) == 0
    assert value(samples, "lienthong_pending_deliveries") == 0


def _broker_settled(samples: Samples) -> bool:
    """RabbitMQ's statistics (queue depths, consumers) lag, each queue's on its own clock."""
    return (
        value(samples, "lienthong_mailbox_backlog_messages", agency=COMMUNE_B) == 1
        and value(samples, "lienthong_mailbox_consumers", agency=DISTRICT) == 1
    )


async def _the_sender_published_everything(commune: Adapter) -> None:
    wrong = await commune.client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401
    samples = await adapter_metrics(commune)
    assert value(samples, "lienthong_adapter_outbox_backlog") == 0
    assert value(samples, "lienthong_adapter_outbox_oldest_unpublished_seconds") == 0
    assert value(samples, "lienthong_adapter_documents", box="outbox", state="sent") == 1
    assert value(samples, "lienthong_adapter_events_total") == len(await commune.events())
    assert value(samples, "lienthong_adapter_webhook_failing_events") == 0
    certificate = commune.runtime.ctx.identity.certificate
    days = (certificate.not_valid_after_utc - datetime.now(UTC)).total_seconds() / 86400
    shown = value(samples, "lienthong_adapter_certificate_expiry_days", agency=COMMUNE)
    assert shown == pytest.approx(days, abs=0.01)


async def _the_recipient_counts_its_failing_webhook(district: Adapter) -> None:
    samples = await adapter_metrics(district)
    for _ in range(40):  # the webhook retries every 0.1 to 0.2 s
        if value(samples, "lienthong_adapter_webhook_retries_total") >= 2:
            break
        await asyncio.sleep(0.1)
        samples = await adapter_metrics(district)
    assert value(samples, "lienthong_adapter_documents", box="inbox", state="received") == 1
    # Events go out in order: the first undelivered one holds up the rest.
    assert value(samples, "lienthong_adapter_webhook_failing_events") == 1
    assert value(samples, "lienthong_adapter_webhook_retries_total") >= 2
    assert value(samples, "lienthong_adapter_events_total") == len(await district.events()) >= 1
    assert value(samples, "lienthong_adapter_outbox_backlog") == 0
