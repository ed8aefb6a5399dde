"""The hub's API served over real HTTP on a free local port, for tests that need a socket."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from hub.api.app import create_app
from tests.hub.hub_stack import HubStack


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def serving(hub: HubStack) -> AsyncIterator[str]:
    """The hub's API (and dashboard) on a local port, for as long as the block runs."""
    port = free_port()
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
