"""The hub's FastAPI application: routes, the one error handler, health and the trust bundle."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from hub.api.dependencies import CurrentRuntime, Viewer
from hub.attachments.endpoints import router as attachments_router
from hub.dashboard import session as dashboard_session
from hub.dashboard.endpoints import DASHBOARD_STATIC
from hub.dashboard.endpoints import router as dashboard_router
from hub.db import database_away
from hub.directory.endpoints import router as directory_router
from hub.errors import DatabaseUnavailable, HubError
from hub.metrics import router as metrics_router
from hub.runtime import Runtime, load_hub_identity, load_trust
from hub.settings import HubSettings
from hub.timeline.endpoints import router as timeline_router
from schemas.errors import LienthongError

log = logging.getLogger(__name__)


def _error(request: Request, error: Exception) -> Response:
    """Every deliberate error becomes a JSON body saying what is wrong, never a trace."""
    assert isinstance(error, LienthongError)
    body: dict[str, object] = {"error": error.code, "detail": str(error)}
    if not isinstance(error, HubError):
        return JSONResponse(body, status_code=422)
    return JSONResponse(
        body | error.fields(), status_code=error.http_status, headers=error.headers()
    )


def _conflict(request: Request, error: Exception) -> Response:
    """Two requests raced to create the same thing; the loser hears so."""
    detail = "this conflicts with a record just written by another request; look it up again"
    return JSONResponse({"error": "conflict", "detail": detail}, status_code=409)


def _database(request: Request, error: Exception) -> Response:
    """The database is away (restarted, say): 503, try again; any other database error is
    unexpected."""
    assert isinstance(error, DBAPIError)
    if not database_away(error):
        return _unexpected(request, error)
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, error)
    away = DatabaseUnavailable("the hub's database is unavailable for now; try again shortly")
    return _error(request, away)


def _unexpected(request: Request, error: Exception) -> Response:
    """A bug or an outage the code did not foresee: logged with its trace, answered plainly."""
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    detail = "the hub could not complete this request; operators can find it in the hub's log"
    return JSONResponse({"error": "internal", "detail": detail}, status_code=500)


def create_app(settings: HubSettings, runtime: Runtime | None = None) -> FastAPI:
    """The API; with no runtime given, it builds and connects its own at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = runtime is None
        app.state.runtime = runtime or Runtime.create(settings)
        if own:
            await app.state.runtime.broker.connect()
        yield
        if own:
            await app.state.runtime.close()

    app = FastAPI(
        title="lienthong hub", version="1", lifespan=lifespan,
        description="Directory, document timelines, attachment store and trust bundle of the "
        "lienthong hub.",
    )  # fmt: skip
    app.add_exception_handler(LienthongError, _error)
    app.add_exception_handler(IntegrityError, _conflict)
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(Exception, _unexpected)
    app.include_router(directory_router)
    app.include_router(timeline_router)
    app.include_router(attachments_router)
    app.include_router(metrics_router)  # GET /metrics, for Prometheus (viewer token)
    _dashboard(app, settings)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["health"])
    app.add_api_route("/readyz", readyz, methods=["GET"], tags=["health"])
    app.add_api_route("/v1/trust-bundle", trust_bundle, methods=["GET"], tags=["directory"],
                      response_class=PlainTextResponse)  # fmt: skip
    return app


def _dashboard(app: FastAPI, settings: HubSettings) -> None:
    """The operators' pages at /dashboard, their stylesheet, and the key of their logins."""
    secret = settings.dashboard_secret
    app.state.dashboard_secret = (
        secret.get_secret_value().encode() if secret else dashboard_session.process_secret()
    )
    app.include_router(dashboard_router)
    app.mount("/dashboard/static", StaticFiles(directory=DASHBOARD_STATIC), name="dashboard")
    app.add_api_route("/", _to_dashboard, include_in_schema=False)


async def _to_dashboard() -> RedirectResponse:
    return RedirectResponse("/dashboard")


async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


async def readyz(rt: CurrentRuntime) -> JSONResponse:
    """The database and the broker are reachable."""
    checks = {"database": "ok", "broker": "ok" if rt.broker.connected else "unreachable"}
    try:
        async with rt.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure means not ready; the body says which
        checks["database"] = f"unreachable: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(checks, status_code=200 if ready else 503)


async def trust_bundle(rt: CurrentRuntime, _: Viewer) -> str:
    """PEM certificates adapters trust: the CA bundle and the hub's own certificate."""
    certificates = [*load_trust(rt.settings), load_hub_identity(rt.settings).certificate]
    return "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in certificates)
