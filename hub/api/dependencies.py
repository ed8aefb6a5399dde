"""Request dependencies: the transaction each request owns, and who is asking.

Every dependency is `async def`: FastAPI runs a plain `def` one in a worker thread, a thread
hop per dependency per request for what takes microseconds.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from hub.attachments.access import authenticate
from hub.runtime import Runtime
from hub.settings import HubSettings, Role

_bearer = HTTPBearer(
    auto_error=False, description="An operator token from LIENTHONG_OPERATOR_TOKENS"
)


def _runtime(request: Request) -> Runtime:
    value: Runtime = request.app.state.runtime
    return value


async def runtime(request: Request) -> Runtime:
    return _runtime(request)


async def settings(request: Request) -> HubSettings:
    return _runtime(request).settings


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the route returns, rolled back if it raises."""
    async with _runtime(request).sessions() as db, db.begin():
        yield db


async def signed_agency(request: Request) -> str:
    """The agency whose key signed this request (Authorization: Lienthong-Signature ...)."""
    header = request.headers.get("authorization")
    sessions = _runtime(request).sessions
    return await authenticate(sessions, header, request.method, request.url.path)


def role_of(token: str, tokens: dict[str, Role]) -> Role | None:
    """The role of an operator token, compared in constant time."""
    for known, role in tokens.items():
        if secrets.compare_digest(known.encode(), token.encode()):
            return role
    return None


def require(minimum: Role) -> Callable[..., Awaitable[Role]]:
    """A dependency that lets through tokens whose role is at least `minimum`."""

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Role:
        if credentials is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "an operator token is required",
                                headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        role = role_of(credentials.credentials, _runtime(request).settings.operator_tokens)
        if role is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown operator token",
                                headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        if not role.includes(minimum):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {minimum} role")
        return role

    return check


def actor(role: Role) -> str:
    """How the audit log names an API caller (tokens are secrets and never logged)."""
    return f"api:{role}"


# scope="function": commit (or fail) before the response is sent, never after it.
Session = Annotated[AsyncSession, Depends(session, scope="function")]
Viewer = Annotated[Role, Depends(require(Role.VIEWER))]
Admin = Annotated[Role, Depends(require(Role.ADMIN))]
Settings = Annotated[HubSettings, Depends(settings)]
CurrentRuntime = Annotated[Runtime, Depends(runtime)]
SignedAgency = Annotated[str, Depends(signed_agency)]
