"""Running the adapter: its REST API, outbox relay and mailbox consumer in one process."""

from __future__ import annotations

import uvicorn

from agency_adapter.api.app import create_app
from agency_adapter.runtime import AdapterRuntime
from agency_adapter.settings import AdapterSettings
from schemas.heap import settle_heap


async def serve(config: AdapterSettings) -> None:
    """Start the runtime (migrate, connect, background work), then the API until stopped."""
    runtime = await AdapterRuntime.start(config)
    try:
        server = uvicorn.Server(uvicorn.Config(create_app(runtime), host=config.host,
                                               port=config.port, log_level="info"))  # fmt: skip
        settle_heap()
        await server.serve()
    finally:
        await runtime.close()
