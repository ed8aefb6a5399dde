"""Who is looking at the dashboard, and rendering its pages in their language."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from hub.dashboard import session
from hub.dashboard.labels import LANGUAGES, labels
from hub.dashboard.session import Login
from hub.settings import Role
from schemas.model import VIETNAM_TIME

ROOT = "/dashboard"
LANGUAGE_COOKIE = "lienthong_lang"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def secret(request: Request) -> bytes:
    value: bytes = request.app.state.dashboard_secret
    return value


def language(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE, "vi")
    return chosen if chosen in LANGUAGES else "vi"


def local_path(target: str | None, fallback: str = ROOT) -> str:
    """Only a path on this dashboard: never send an operator to another site after login."""
    if not target or urlsplit(target).netloc or not target.startswith(ROOT):
        return fallback
    return target


async def current_login(request: Request) -> Login:
    """The operator's login; without one, off to the login page (and back here after)."""
    login = session.read(secret(request), request.cookies.get(session.COOKIE))
    if login is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(status.HTTP_303_SEE_OTHER, "log in first",
                            headers={"Location": f"{ROOT}/login?next={quote(back)}"})  # fmt: skip
    return login


async def operator_login(login: Annotated[Login, Depends(current_login)]) -> Login:
    """Replaying or discarding needs the operator role (or admin)."""
    if not login.role.includes(Role.OPERATOR):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs the operator role")
    return login


def check_form(login: Login, csrf: str) -> None:
    if csrf != login.csrf:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this form has expired: reload the page")


def when(moment: datetime | None) -> str:
    """A time as operators read it: Vietnam time, to the second."""
    return moment.astimezone(VIETNAM_TIME).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def ago(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {rest} s"


def _flash(request: Request) -> str | None:
    """What the last form did, as the redirect after it says; only words the dashboard
    itself puts there (a link cannot write on the page)."""
    done = request.query_params.get("done", "")
    action, _, ident = done.partition(" ")
    return done if action in ("replay", "discard") and ident.isdigit() else None


def render(request: Request, template: str, page: str, login: Login | None,
           **data: Any) -> HTMLResponse:  # fmt: skip
    lang = language(request)
    context = {
        "t": labels(lang), "lang": lang, "page": page, "login": login, "root": ROOT,
        "when": when, "ago": ago, "flash": _flash(request), **data,
    }  # fmt: skip
    return templates.TemplateResponse(request, template, context)


Viewer = Annotated[Login, Depends(current_login)]
Operator = Annotated[Login, Depends(operator_login)]
