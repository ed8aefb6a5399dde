"""The hub's /metrics on real services: counts from the database, queues from the broker."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub.api.app import create_app
from hub.models import AgencyLevel
from hub.runtime import Runtime
from hub.settings import Role
from schemas.writer import write_package
from tests.hub.hub_stack import HubStack, document, hub_stack

TOKENS = {"viewer-token": Role.VIEWER}
VIEWER = {"Authorization": "Bearer viewer-token"}
DISTRICT, COMMUNE = "000.00.29.H40", "000.04.29.H40"
# The broker's queue statistics lag by up to its collect_statistics_interval (5 s).
STATS_WAIT_S = 20.0

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample; a KeyError (a failed test) when the exposition lacks it."""
    return samples[(name, tuple(sorted(labels.items())))]


def families(text: str) -> dict[str, str]:
    """Family name -> HELP text."""
    return {f.name: f.documentation for f in text_string_to_metric_families(text)}


async def scrape(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> str:
    answer = await client.get("/metrics", headers=VIEWER if headers is None else headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return answer.text


async def scrape_until(
    client: httpx.AsyncClient, ready: Callable[[Samples], bool], timeout: float = STATS_WAIT_S
) -> Samples:
    """Scrape until `ready` holds (broker statistics and workers lag), or the time is up."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        samples = parse(await scrape(client))
        if ready(samples) or asyncio.get_running_loop().time() > deadline:
            return samples
        await asyncio.sleep(0.5)


def hub_client(runtime: Runtime) -> httpx.AsyncClient:
    app = create_app(runtime.settings, runtime)
    app.state.runtime = runtime  # ASGITransport runs no lifespan
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub")


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[HubStack, httpx.AsyncClient]]:
    """A district and one of its communes, and the hub's API in front of them."""
    async with hub_stack(tmp_path, operator_tokens=TOKENS) as stack:
        await stack.register(DISTRICT, AgencyLevel.DISTRICT)
        await stack.register(COMMUNE, AgencyLevel.COMMUNE, DISTRICT)
        async with hub_client(stack.runtime) as client:
            yield stack, client


async def test_metrics_need_an_operator_token(api: tuple[HubStack, httpx.AsyncClient]) -> None:
    _, client = api
    assert (await client.get("/metrics")).status_code == 401
    forged = await client.get("/metrics", headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401
    text = await scrape(client)
    described = families(text)
    assert all(name.startswith("lienthong_") and help_ for name, help_ in described.items())
    expected = {"lienthong_envelopes", "lienthong_delivery_latency_seconds",
                "lienthong_mailbox_backlog_messages", "lienthong_broker_up"}  # fmt: skip
    assert expected <= set(described)


async def test_a_fresh_hub_reports_zeros_and_its_certificates(
    api: tuple[HubStack, httpx.AsyncClient],
) -> None:
    stack, client = api
    samples = parse(await scrape(client))
    for business in ("new", "recall", "delete", "update", "replace"):
        kind = {"kind": "document", "business": business, "outcome": "accepted"}
        assert value(samples, "lienthong_envelopes_total", **kind) == 0
    assert value(samples, "lienthong_delivery_latency_seconds_count") == 0
    assert value(samples, "lienthong_broker_up") == 1
    assert value(samples, "lienthong_mailbox_consumers", agency=DISTRICT) == 0
    certificate = stack.members[DISTRICT].identity.certificate
    days = (certificate.not_valid_after_utc - datetime.now(UTC)).total_seconds() / 86400
    shown = value(samples, "lienthong_certificate_expiry_days", agency=DISTRICT)
    assert shown == pytest.approx(days, abs=0.01) and shown > 1


async def test_refusals_and_signature_failures_are_counted(
    api: tuple[HubStack, httpx.AsyncClient],
) -> None:
    stack, client = api
    commune = stack.members[COMMUNE]
    tampered = commune.sign(document(COMMUNE, DISTRICT, subject="lúa mùa"))
    async with stack.worker():
        await stack.publish(commune, write_package(document(COMMUNE, DISTRICT)))
        await stack.publish(commune, tampered.replace("lúa mùa".encode(), "lúa chiêm".encode()))
        # Refused, but not for its signature: signed by an agency that is not the sender.
        await stack.publish(commune, stack.members[DISTRICT].sign(document(COMMUNE, DISTRICT)))
        await stack.publish(commune, commune.sign(document(COMMUNE, DISTRICT)))
        # The worker takes messages concurrently: wait for all four, whatever their order, and
        # for the hub's refusals to leave (recorded a moment before they are published).
        samples = await scrape_until(client, lambda s: (
            _total(s, "refused") + _total(s, "new") == 4
            and value(s, "lienthong_pending_deliveries") == 0
        ))  # fmt: skip
    assert _total(samples, "refused") == 3
    assert value(samples, "lienthong_signature_failures_total", reason="unsigned") == 1
    assert value(samples, "lienthong_signature_failures_total", reason="invalid") == 1
    assert _total(samples, "new") == 1
    # The hub's own status 02 answers are not envelopes accepted from agencies.
    status = {"kind": "status", "business": "", "outcome": "accepted"}
    assert value(samples, "lienthong_envelopes_total", **status) == 0
    assert value(samples, "lienthong_pending_deliveries") == 0


def _total(samples: Samples, business: str) -> float:
    """Envelopes refused, or accepted documents of one business type."""
    if business == "refused":
        return value(samples, "lienthong_envelopes_total", kind="", business="", outcome=business)
    labels = {"kind": "document", "business": business, "outcome": "accepted"}
    return value(samples, "lienthong_envelopes_total", **labels)


async def test_queues_backlogs_and_dead_letters_come_from_the_broker(
    api: tuple[HubStack, httpx.AsyncClient],
) -> None:
    stack, client = api
    commune = stack.members[COMMUNE]
    await stack.publish(commune, commune.sign(document(COMMUNE, DISTRICT)))
    await _dead_letter(stack, b"a message nobody could take")
    waiting = await scrape_until(
        client, lambda s: value(s, "lienthong_intake_backlog_messages") == 1
        and value(s, "lienthong_dead_letters_messages") == 1,
    )  # fmt: skip
    assert value(waiting, "lienthong_intake_backlog_messages") == 1
    assert value(waiting, "lienthong_dead_letters_messages") == 1
    assert value(waiting, "lienthong_mailbox_oldest_waiting_seconds", agency=DISTRICT) == 0
    async with stack.worker():
        routed = await scrape_until(
            client, lambda s: value(s, "lienthong_mailbox_backlog_messages", agency=DISTRICT) == 1
            and value(s, "lienthong_intake_backlog_messages") == 0,
        )  # fmt: skip
    assert value(routed, "lienthong_mailbox_backlog_messages", agency=DISTRICT) == 1
    assert value(routed, "lienthong_mailbox_backlog_messages", agency=COMMUNE) == 0
    assert value(routed, "lienthong_intake_backlog_messages") == 0
    assert value(routed, "lienthong_mailbox_oldest_waiting_seconds", agency=DISTRICT) > 0
    assert value(routed, "lienthong_mailbox_oldest_waiting_seconds", agency=COMMUNE) == 0


async def _dead_letter(stack: HubStack, body: bytes) -> None:
    connection = await aio_pika.connect(stack.settings.amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(stack.settings.dead_letter_exchange, ensure=False)
        await exchange.publish(aio_pika.Message(body, delivery_mode=2), routing_key="")
    finally:
        await connection.close()


async def test_an_unreachable_management_api_leaves_the_database_series(
    api: tuple[HubStack, httpx.AsyncClient],
) -> None:
    stack, _ = api
    closed = stack.settings.model_copy(update={"amqp_management_url": "http://g:g@127.0.0.1:9/"})
    async with hub_client(dataclasses.replace(stack.runtime, settings=closed)) as client:
        text = await scrape(client)
    samples = parse(text)
    assert value(samples, "lienthong_broker_up") == 0
    assert "lienthong_mailbox_backlog_messages" not in families(text)
    assert value(samples, "lienthong_pending_deliveries") == 0
    assert value(samples, "lienthong_certificate_expiry_days", agency=COMMUNE) > 1
