"""The intake bench's worker process gets the bench's settings through its environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.bench import bench_intake, worker_environment
from hub.settings import HubSettings


def _bench_settings() -> HubSettings:
    return HubSettings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/lienthong_bench_x",
        dashboard_secret=SecretStr("not-masked"),
        operator_tokens={"token-1": "admin"},
        prefetch=64,
    )


def test_unset_settings_are_left_out_not_written_as_none() -> None:
    variables = worker_environment(_bench_settings())
    assert "LIENTHONG_ATTACHMENT_S3_BUCKET" not in variables
    assert "LIENTHONG_ATTACHMENT_S3_ENDPOINT_URL" not in variables
    assert "None" not in variables.values()


def test_secrets_travel_in_clear() -> None:
    assert worker_environment(_bench_settings())["LIENTHONG_DASHBOARD_SECRET"] == "not-masked"


def test_the_worker_reads_back_the_same_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    given = _bench_settings()
    for name, value in worker_environment(given).items():
        monkeypatch.setenv(name, value)
    read = HubSettings()
    assert read.model_dump() == given.model_dump()
    assert read.dashboard_secret is not None
    assert read.dashboard_secret.get_secret_value() == "not-masked"


async def test_bench_intake_times_a_real_worker_process(tmp_path: Path) -> None:
    """A hub of its own (database, vhost), a worker process, every envelope delivered."""
    result = await bench_intake(recipients=2, envelopes=12, size=2_000, directory=tmp_path)
    assert (result.recipients, result.envelopes) == (2, 11)  # timed from the first delivery
    assert result.seconds > 0
    assert result.per_second > 0
