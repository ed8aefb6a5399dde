"""The dashboard's login cookie: it proves a role until it expires, and nothing else."""

from __future__ import annotations

import time

from hub.dashboard import session
from hub.settings import Role

SECRET = b"s" * 32


def test_a_cookie_proves_its_role_until_it_expires() -> None:
    cookie = session.issue(SECRET, Role.OPERATOR)
    login = session.read(SECRET, cookie)
    assert login is not None and login.role is Role.OPERATOR
    later = time.time() + session.LIFETIME_S + 1
    assert session.read(SECRET, cookie, now=later) is None


def test_forged_garbled_and_foreign_cookies_prove_nothing() -> None:
    cookie = session.issue(SECRET, Role.VIEWER)
    payload, mac = cookie.rsplit(".", 1)
    admin = session.issue(b"another hub's secret" * 2, Role.ADMIN)
    for bad in (None, "", "no-dot", f"{payload}.{'0' * len(mac)}", admin, f"{payload}.ắ",
                "e30=." + mac):  # fmt: skip
        assert session.read(SECRET, bad) is None


def test_the_form_token_needs_the_secret() -> None:
    cookie = session.issue(SECRET, Role.OPERATOR, now=1_000_000.0)
    mine = session.read(SECRET, cookie, now=1_000_001.0)
    theirs = session.read(b"t" * 32, session.issue(b"t" * 32, Role.OPERATOR, now=1_000_000.0),
                          now=1_000_001.0)  # fmt: skip
    assert mine is not None and theirs is not None
    assert mine.expires == theirs.expires and mine.csrf != theirs.csrf
