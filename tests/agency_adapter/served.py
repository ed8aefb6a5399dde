"""An adapter's API over real HTTP on a free local port, for tests that stream large bodies
(httpx's in-process transport holds a whole answer in memory)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn

from agency_adapter.api.app import create_app
from tests.agency_adapter.adapter_stack import Adapter
from tests.hub.served import free_port


@asynccontextmanager
async def served(adapter: Adapter) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the adapter's API served on a local port (its workers run already)."""
    port = free_port()
    app = create_app(adapter.runtime, run_workers=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # the server failed to start: say why
        await asyncio.sleep(0.05)
    headers = {"Authorization": f"Bearer key-{adapter.code}"}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers,
                                     timeout=120) as client:  # fmt: skip
            yield client
    finally:
        server.should_exit = True
        await task
