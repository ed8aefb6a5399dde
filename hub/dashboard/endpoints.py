"""The dashboard's pages (server-rendered HTML) and its few forms."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.api.dependencies import CurrentRuntime, Session, role_of
from hub.dashboard import pages, session
from hub.dashboard.access import (
    LANGUAGE_COOKIE,
    ROOT,
    Operator,
    Viewer,
    check_form,
    local_path,
    render,
    secret,
)
from hub.dashboard.labels import LANGUAGES, labels
from hub.operations import service as operations
from hub.settings import Role

router = APIRouter(prefix=ROOT, include_in_schema=False)
DASHBOARD_STATIC = Path(__file__).parent / "static"


@router.get("/login")
async def login_page(request: Request, next: str = ROOT) -> HTMLResponse:
    """The login form."""
    return render(request, "login.html", "login", None, next=local_path(next))


@router.post("/login")
async def log_in(request: Request, rt: CurrentRuntime, token: Annotated[str, Form()] = "",
                 next: Annotated[str, Form()] = ROOT) -> Response:  # fmt: skip
    """Check the operator token; a signed session cookie on success."""
    role = role_of(token, rt.settings.operator_tokens) if token else None
    if role is None:
        error = labels(request.cookies.get(LANGUAGE_COOKIE, "vi"))["bad_token"]
        page = render(request, "login.html", "login", None, next=local_path(next), error=error)
        page.status_code = 401
        return page
    answer = RedirectResponse(local_path(next), status_code=303)
    answer.set_cookie(session.COOKIE, session.issue(secret(request), role), httponly=True,
                      samesite="strict", max_age=session.LIFETIME_S, path=ROOT,
                      secure=request.url.scheme == "https")  # fmt: skip
    return answer


@router.post("/logout")
async def log_out(login: Viewer, csrf: Annotated[str, Form()] = "") -> Response:
    """Forget the session cookie."""
    check_form(login, csrf)
    answer = RedirectResponse(f"{ROOT}/login", status_code=303)
    answer.delete_cookie(session.COOKIE, path=ROOT)
    return answer


@router.get("/language/{code}")
async def choose_language(code: str, next: str = ROOT) -> Response:
    """Switch between Vietnamese and English."""
    answer = RedirectResponse(local_path(next), status_code=303)
    if code in LANGUAGES:
        answer.set_cookie(LANGUAGE_COOKIE, code, samesite="strict", path=ROOT)
    return answer


@router.get("")
async def overview(
    request: Request, login: Viewer, db: Session, rt: CurrentRuntime
) -> HTMLResponse:
    """Flow per hour, backlog, refusal reasons, alerts."""
    data = await pages.overview(db, rt, datetime.now(UTC))
    return render(request, "overview.html", "overview", login, **data)


@router.get("/agencies")
async def agencies(request: Request, login: Viewer, db: Session) -> HTMLResponse:
    """The directory as a tree, with certificates and last activity."""
    data = await pages.agencies(db, datetime.now(UTC))
    return render(request, "agencies.html", "agencies", login, **data)


@router.get("/mailboxes")
async def mailboxes(
    request: Request, login: Viewer, db: Session, rt: CurrentRuntime
) -> HTMLResponse:
    """Every agency's mailbox: waiting, oldest, consumers, last consumed; stuck ones marked."""
    return render(request, "mailboxes.html", "mailboxes", login, **await pages.mailboxes(db, rt))


@router.get("/trace")
async def trace(request: Request, login: Viewer, db: Session, q: str = "") -> HTMLResponse:
    """Find documents and show each recipient's timeline."""
    return render(request, "trace.html", "trace", login, **await pages.trace(db, q))


@router.get("/dead-letters")
async def dead_letters(request: Request, login: Viewer, db: Session) -> HTMLResponse:
    """Dead letters waiting for a decision, and refused envelopes in quarantine."""
    data = await pages.dead_letters(db)
    return render(request, "dead_letters.html", "dead_letters", login,
                  can_act=login.role != Role.VIEWER, **data)  # fmt: skip


@router.get("/quarantine/{ident}")
async def quarantine_entry(
    request: Request, ident: int, login: Viewer, db: Session
) -> HTMLResponse:
    """One refused envelope: why, from whom, and its bytes."""
    data = await pages.quarantine_entry(db, ident)
    return render(request, "quarantine_entry.html", "dead_letters", login, **data)


@router.post("/dead-letters/{ident}/replay")
async def replay(ident: int, login: Operator, db: Session, rt: CurrentRuntime,
                 csrf: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    """Send a dead letter again where it was going (once), and say so in the audit log."""
    check_form(login, csrf)
    await operations.replay(db, rt.broker, ident, f"dashboard:{login.role}",
                            intake=operations.readmission(rt))  # fmt: skip
    return RedirectResponse(f"{ROOT}/dead-letters?done=replay+{ident}", status_code=303)


@router.post("/dead-letters/{ident}/discard")
async def discard(ident: int, login: Operator, db: Session,
                  csrf: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    """Drop a dead letter for good, and say so in the audit log."""
    check_form(login, csrf)
    await operations.discard(db, ident, f"dashboard:{login.role}")
    return RedirectResponse(f"{ROOT}/dead-letters?done=discard+{ident}", status_code=303)
