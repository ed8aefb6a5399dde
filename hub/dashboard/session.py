"""The dashboard's login session: a cookie naming the operator's role, signed by the hub.

An operator logs in once with a token from LIENTHONG_OPERATOR_TOKENS; the token itself never
leaves the login request. The cookie carries only the role and an expiry, with an HMAC over
both, so it cannot be forged or extended; forms carry a token derived from the cookie, so a
page on another site cannot make an operator's browser replay or discard anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from hub.settings import Role

COOKIE = "lienthong_session"
LIFETIME_S = 8 * 3600  # one working shift


@dataclass(frozen=True)
class Login:
    role: Role
    expires: int
    csrf: str  # what the login's forms send back: keyed by the hub's secret, so unguessable


def _mac(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()


def issue(secret: bytes, role: Role, now: float | None = None) -> str:
    """A cookie value for a fresh login of `role`."""
    expires = int((now or time.time()) + LIFETIME_S)
    payload = base64.urlsafe_b64encode(json.dumps([role.value, expires]).encode())
    return f"{payload.decode()}.{_mac(secret, payload)}"


def read(secret: bytes, cookie: str | None, now: float | None = None) -> Login | None:
    """The login a cookie proves; None when absent, forged, garbled or expired."""
    if not cookie or "." not in cookie:
        return None
    payload, mac = cookie.rsplit(".", 1)
    expected = _mac(secret, payload.encode())
    if not hmac.compare_digest(mac.encode(errors="replace"), expected.encode()):
        return None
    try:
        role, expires = json.loads(base64.urlsafe_b64decode(payload))
        csrf = _mac(secret, b"csrf:" + payload.encode())[:32]
        login = Login(Role(role), int(expires), csrf)
    except (ValueError, TypeError):
        return None
    return login if login.expires > (now or time.time()) else None


def process_secret() -> bytes:
    """A secret for this process alone, when no LIENTHONG_DASHBOARD_SECRET is set (logins
    then end when the API restarts and are not shared between API processes)."""
    return secrets.token_bytes(32)
