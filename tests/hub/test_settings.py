"""The hub's settings handed to another hub process through its environment."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from hub.settings import HubSettings


def _bench_settings() -> HubSettings:
    return HubSettings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/lienthong_bench_x",
        dashboard_secret=SecretStr("not-masked"),
        operator_tokens={"token-1": "admin"},
        prefetch=64,
    )


def test_unset_settings_are_left_out_not_written_as_none() -> None:
    variables = _bench_settings().as_environment()
    assert "LIENTHONG_ATTACHMENT_S3_BUCKET" not in variables
    assert "LIENTHONG_ATTACHMENT_S3_ENDPOINT_URL" not in variables
    assert "None" not in variables.values()


def test_secrets_travel_in_clear() -> None:
    assert _bench_settings().as_environment()["LIENTHONG_DASHBOARD_SECRET"] == "not-masked"


def test_the_worker_reads_back_the_same_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    given = _bench_settings()
    for name, value in given.as_environment().items():
        monkeypatch.setenv(name, value)
    read = HubSettings()
    assert read.model_dump() == given.model_dump()
    assert read.dashboard_secret is not None
    assert read.dashboard_secret.get_secret_value() == "not-masked"
