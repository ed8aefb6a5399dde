"""The dashboard in a real headless Chromium, against a hub on real services: an operator
finds a document stuck in a mailbox whose adapter is stopped, starts the adapter, and watches
it delivered, from the pages alone. Screenshots go to test-artifacts/dashboard/."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from hub.models import AgencyLevel, AuditEntry
from schemas.writer import write_package
from tests.agency_adapter.adapter_stack import adapter_settings, running_adapter
from tests.hub.dashboard.browser import TOKENS, Browser, browsing
from tests.hub.hub_stack import HubStack, document, hub_stack
from tests.hub.operations.conftest import keeper, queued_delivery, reject
from tests.hub.served import serving

DISTRICT, COMMUNE = "000.00.29.H40", "000.04.29.H40"
SUBJECT = "V/v triển khai tiêm chủng mở rộng"
# RabbitMQ's management API refreshes queue figures every few seconds.
SETTLE_S = 30.0


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[HubStack]:
    async with hub_stack(tmp_path / "hub", operator_tokens=TOKENS) as stack:
        await stack.register(DISTRICT, AgencyLevel.DISTRICT)
        await stack.register(COMMUNE, AgencyLevel.COMMUNE, DISTRICT)
        yield stack


async def until(browser: Browser, path: str, check: Callable[[], Awaitable[bool]]) -> None:
    """Reload a page until `check` holds, as an operator would press F5."""
    deadline = asyncio.get_running_loop().time() + SETTLE_S
    while True:
        await browser.open(path)
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{path} never showed what was expected")
        await asyncio.sleep(1)


async def test_a_stuck_document_is_found_and_watched_until_delivered(
    hub: HubStack, tmp_path: Path
) -> None:
    district = hub.members[DISTRICT]
    async with hub.worker(), serving(hub) as url, browsing(url) as browser:
        await hub.publish(district, district.sign(document(DISTRICT, COMMUNE, subject=SUBJECT)))
        await browser.log_in("operator-token")
        page = browser.page
        await until(browser, "/dashboard", lambda: _text_has(browser, "#alerts", COMMUNE))
        assert await page.inner_text("#accepted-today") == "1"
        await browser.shot("overview")
        await browser.open("/dashboard/trace?q=ti%C3%AAm+ch%E1%BB%A7ng")
        row = page.locator(f"tr[data-recipient='{COMMUNE}']")
        assert "queued" in await row.inner_text() and "sent" in await row.inner_text()
        stuck = f"#mailboxes tr[data-code='{COMMUNE}']"
        await until(browser, "/dashboard/mailboxes", lambda: _cell(browser, stuck, "waiting", "1"))
        assert "stuck" in (await page.get_attribute(stuck, "class") or "")
        await browser.shot("mailboxes-stuck")
        settings = adapter_settings(hub, hub.members[COMMUNE], tmp_path)
        async with running_adapter(settings):  # the commune's adapter is started
            await until(browser, "/dashboard/mailboxes",
                        lambda: _cell(browser, stuck, "consumers", "1"))  # fmt: skip
            await until(browser, "/dashboard/mailboxes",
                        lambda: _cell(browser, stuck, "waiting", "0"))  # fmt: skip
            assert "stuck" not in (await page.get_attribute(stuck, "class") or "")
            await browser.shot("mailboxes-delivered")
            line = f"tr[data-recipient='{COMMUNE}']"
            await until(browser, f"/dashboard/trace?q={COMMUNE}",
                        lambda: _text_has(browser, line, " 01"))  # fmt: skip
            await browser.shot("trace-delivered")


async def _text_has(browser: Browser, selector: str, text: str) -> bool:
    found = browser.page.locator(selector)
    return await found.count() > 0 and text in await found.first.inner_text()


async def _cell(browser: Browser, row: str, cell: str, value: str) -> bool:
    found = browser.page.locator(f"{row} td.{cell}")
    return await found.count() > 0 and (await found.inner_text()).strip() == value


async def test_login_roles_and_languages(hub: HubStack) -> None:
    async with serving(hub) as url, browsing(url) as browser:
        page = browser.page
        await browser.open("/dashboard/mailboxes")
        assert page.url.endswith("/dashboard/login?next=/dashboard/mailboxes")
        await browser.log_in("not-a-token")
        assert "Mã truy cập không đúng" in await page.inner_text(".error")
        await browser.shot("login-refused")
        await browser.log_in("viewer-token")
        assert page.url.endswith("/dashboard")
        await browser.open("/dashboard/agencies")
        rows = page.locator("#agencies tr[data-code]")
        assert await rows.count() == 2
        commune = page.locator(f"#agencies tr[data-code='{COMMUNE}'] td").first
        assert "tree-1" in (await commune.get_attribute("class") or "")  # under its district
        await browser.shot("agencies")
        await page.click("text=English")
        assert await page.inner_text("h1") == "Agencies"
        await browser.open("/dashboard/dead-letters")
        assert await page.locator("text=Dead letters & quarantine").count() >= 1
        await page.click("header button")  # log out
        await browser.open("/dashboard")
        assert "/dashboard/login" in page.url


async def test_a_dead_letter_replayed_from_the_page_goes_out_once(hub: HubStack) -> None:
    district = hub.members[DISTRICT]
    body = district.sign(document(DISTRICT, COMMUNE, subject=SUBJECT))
    async with hub.worker():
        await hub.publish(district, body, message_id="doc-dead")
        await hub.publish(district, write_package(document(DISTRICT, COMMUNE)), "unsigned")
        await queued_delivery(hub, "doc-dead", COMMUNE)
        await hub.drain(DISTRICT, expect=1)  # the hub's refusal of the unsigned one
    listed = "#dead-letters tr[data-id]"
    async with keeper(hub), serving(hub) as url:
        await reject(hub, hub.settings.mailbox_queue(COMMUNE))  # its reader gave up on it
        async with browsing(url) as viewer:
            await viewer.log_in("viewer-token")
            await until(viewer, "/dashboard/dead-letters", lambda: _count(viewer, listed, 1))
            assert "Cần quyền vận hành" in await viewer.page.inner_text(listed)
        assert await _waiting_metric(url) == 1
        async with browsing(url) as browser:
            await browser.log_in("operator-token")
            await browser.open("/dashboard/dead-letters")
            row = await browser.page.inner_text(listed)
            assert "doc-dead" in row and "rejected" in row
            await browser.shot("dead-letters")
            await browser.page.click(f"{listed} button:has-text('Gửi lại')")
            assert "replay" in await browser.page.inner_text(".flash")
            assert await browser.page.locator("#no-dead-letters").count() == 1
            await browser.shot("dead-letters-replayed")
            await browser.page.click("#quarantine a")
            assert "not signed" in await browser.page.inner_text("#reason")
            await browser.shot("quarantine-entry")
        assert await _waiting_metric(url) == 0
        again = await hub.drain(COMMUNE, expect=1)
    assert [m.body for m in again] == [body]  # once, the very bytes
    async with hub.runtime.sessions() as session:
        actors = list(await session.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "dlq-replay")
        ))  # fmt: skip
    assert actors == ["dashboard:operator"]


async def _count(browser: Browser, selector: str, expected: int) -> bool:
    return await browser.page.locator(selector).count() == expected


async def _waiting_metric(url: str) -> float:
    """lienthong_dead_letters_waiting as Prometheus scrapes it."""
    async with httpx.AsyncClient(base_url=url) as client:
        answer = await client.get("/metrics", headers={"Authorization": "Bearer viewer-token"})
    answer.raise_for_status()
    for family in text_string_to_metric_families(answer.text):
        if family.name == "lienthong_dead_letters_waiting":
            return float(family.samples[0].value)
    raise AssertionError("no lienthong_dead_letters_waiting in /metrics")
