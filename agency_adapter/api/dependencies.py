"""Request dependencies: the local system calling (API key), and the request's transaction.

Every dependency is `async def`: FastAPI runs a plain `def` one in a worker thread, a thread
hop per dependency per request for what takes microseconds.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from agency_adapter.db import writing
from agency_adapter.errors import Conflict
from agency_adapter.runtime import AdapterRuntime

_bearer = HTTPBearer(auto_error=False, description="The local system's API key")


def _runtime(request: Request) -> AdapterRuntime:
    value: AdapterRuntime = request.app.state.runtime
    return value


async def runtime(request: Request) -> AdapterRuntime:
    return _runtime(request)


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent; a request that
    may write takes SQLite's write lock from the start (see `agency_adapter.db`)."""
    sessions = _runtime(request).sessions
    if request.method not in ("GET", "HEAD"):
        sessions = writing(sessions)
    try:
        async with sessions() as db, db.begin():
            yield db
    except StaleDataError:
        raise Conflict(
            "the document changed while this request was handled (a status or a recall "
            "arrived); read it again and retry"
        ) from None


async def local_system(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The name of the local system whose API key this is; 401 otherwise."""
    if credentials is not None:
        for key, name in _runtime(request).ctx.settings.api_keys.items():
            if secrets.compare_digest(key.encode(), credentials.credentials.encode()):
                return name
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid API key is required",
                        headers={"WWW-Authenticate": "Bearer"})  # fmt: skip


Session = Annotated[AsyncSession, Depends(session, scope="function")]
LocalSystem = Annotated[str, Depends(local_system)]
Runtime = Annotated[AdapterRuntime, Depends(runtime)]
