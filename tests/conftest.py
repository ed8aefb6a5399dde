"""Test-run preconditions; fixtures live in small modules beside the tests that use them."""

from __future__ import annotations

import pytest

from tests.sdk_fixtures import EDXML_SDK

pytest_plugins = ["tests.watchdog"]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Without the shared conformance fixtures every parser test would be meaningless."""
    if not EDXML_SDK.is_dir():
        pytest.exit(
            f"conformance fixtures not found at {EDXML_SDK}: "
            "the checkout needs ../shared beside it",
            returncode=1,
        )
