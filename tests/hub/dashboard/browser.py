"""A hub serving its dashboard over real HTTP, and a real headless Chromium looking at it."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

from hub.settings import Role

TOKENS = {"viewer-token": Role.VIEWER, "operator-token": Role.OPERATOR}
# Screenshots of every page a test visits, kept for people to look at (CI keeps the folder).
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "dashboard"


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Debian's chromium is needed for the dashboard tests: apt-get install chromium")
    return found


@dataclass
class Browser:
    page: Page
    url: str

    async def open(self, path: str) -> None:
        await self.page.goto(self.url + path)

    async def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def log_in(self, token: str) -> None:
        await self.open("/dashboard/login")
        await self.page.fill("#token", token)
        await self.page.click("button[type=submit]")
        await self.page.wait_for_load_state()


@asynccontextmanager
async def browsing(url: str) -> AsyncIterator[Browser]:
    """A fresh headless Chromium (no shared cookies) on a laptop-sized screen."""
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1366, "height": 768})
            yield Browser(page, url)
        finally:
            await browser.close()
