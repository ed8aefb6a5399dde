"""The adapter's FastAPI application: documents, the event feed, health; one error handler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from agency_adapter import events
from agency_adapter.api.dependencies import LocalSystem, Runtime
from agency_adapter.documents.endpoints import router as documents_router
from agency_adapter.documents.payloads import DocumentIn, EventOut
from agency_adapter.errors import AdapterError
from agency_adapter.lifecycle.endpoints import router as lifecycle_router
from agency_adapter.metrics import router as metrics_router
from agency_adapter.runtime import AdapterRuntime
from schemas.errors import LienthongError

log = logging.getLogger(__name__)


def _error(request: Request, error: Exception) -> Response:
    assert isinstance(error, LienthongError)
    status = error.http_status if isinstance(error, AdapterError) else 422
    return JSONResponse({"error": error.code, "detail": str(error)}, status_code=status)


def _unexpected(request: Request, error: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    detail = "the adapter could not complete this request; the adapter's log has the details"
    return JSONResponse({"error": "internal", "detail": detail}, status_code=500)


def create_app(runtime: AdapterRuntime, *, run_workers: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = runtime
        task = asyncio.create_task(runtime.workers.run()) if run_workers else None
        yield
        if task is not None:
            task.cancel()

    app = FastAPI(title=f"lienthong adapter {runtime.ctx.settings.agency_code}", version="1",
                  lifespan=lifespan)  # fmt: skip
    app.state.runtime = runtime
    app.add_exception_handler(LienthongError, _error)
    app.add_exception_handler(Exception, _unexpected)
    app.include_router(documents_router)
    app.include_router(lifecycle_router)
    app.include_router(metrics_router)  # GET /metrics, for Prometheus (API key)
    app.add_api_route("/v1/events", read_events, methods=["GET"], tags=["events"])
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["health"])
    app.add_api_route("/readyz", readyz, methods=["GET"], tags=["health"])
    _document_schema_in_openapi(app)
    return app


def _document_schema_in_openapi(app: FastAPI) -> None:
    """POST /v1/documents reads its body itself (three content types), so FastAPI does not
    know DocumentIn: add it to the published schema, where that route refers to it."""
    default = app.openapi

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = default()
            document = DocumentIn.model_json_schema(ref_template="#/components/schemas/{model}")
            nested = document.pop("$defs", {})
            schema.setdefault("components", {}).setdefault("schemas", {}).update(
                nested | {"DocumentIn": document}
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


async def read_events(
    rt: Runtime, _: LocalSystem, after: int = 0, wait: Annotated[float, Query(ge=0, le=60)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[EventOut]:  # fmt: skip
    """Events after `after`, in order; with `wait`, hold the request until one exists."""
    found = await events.wait_after(rt.sessions, after, limit, wait)
    return [EventOut(seq=e.seq, type=e.type, document=e.document_pk, payload=e.payload,
                     created_at=e.created_at) for e in found]  # fmt: skip


async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


async def readyz(rt: Runtime) -> JSONResponse:
    """The store and the broker are reachable."""
    checks = {"database": "ok", "broker": "ok" if rt.broker.connected else "unreachable"}
    try:
        async with rt.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure means not ready; the body says which
        checks["database"] = f"unreachable: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(checks, status_code=200 if ready else 503)
