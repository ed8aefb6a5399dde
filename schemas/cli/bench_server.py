"""The server `lienthong bench-http` measures, run as its own process:
`python -P -m schemas.cli.bench_server PORT uvicorn|one-write`."""

from __future__ import annotations

import sys
import uuid

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

from schemas.event_loop import run_on_uvloop
from schemas.http_server import http_server


class _Sent(BaseModel):
    id: uuid.UUID
    state: str


class _Document(BaseModel):
    subject: str
    content: str


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/documents", status_code=202)
    async def send(document: _Document) -> _Sent:
        return _Sent(id=uuid.uuid4(), state="queued")

    @app.get("/v1/events")
    async def events() -> list[dict[str, object]]:
        return [{"seq": seq, "type": "status.received", "payload": {"code": "01"}}
                for seq in range(3)]  # fmt: skip

    return app


async def _serve(port: int, server: str) -> None:
    if server == "one-write":
        await http_server(_app(), "127.0.0.1", port, log_level="warning").serve()
    else:
        await uvicorn.Server(uvicorn.Config(_app(), port=port, log_level="warning")).serve()


if __name__ == "__main__":
    run_on_uvloop(_serve(int(sys.argv[1]), sys.argv[2]))
