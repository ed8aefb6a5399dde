"""A hub serving its dashboard over real HTTP, and a real headless Chromium looking at it."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Page, async_playwright

from hub.api.app import create_app
from hub.settings import Role
from tests.hub.hub_stack import HubStack

TOKENS = {"viewer-token": Role.VIEWER, "operator-token": Role.OPERATOR}
# Screenshots of every page a test visits, kept for people to look at (CI keeps the folder).
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "dashboard"


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Debian's chromium is needed for the dashboard tests: apt-get install chromium")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def serving(hub: HubStack) -> AsyncIterator[str]:
    """The hub's API and dashboard on a local port, for as long as the block runs."""
    port = _free_port()
    config = uvicorn.Config(create_app(hub.settings, hub.runtime), host="127.0.0.1", port=port,
                            log_level="warning")  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # the server failed to start: say why
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


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
