"""The intake bench: a hub of its own and a worker process, timed."""

from __future__ import annotations

from pathlib import Path

from hub.bench import bench_intake


async def test_bench_intake_times_a_real_worker_process(tmp_path: Path) -> None:
    """A hub of its own (database, vhost), a worker process, every envelope delivered."""
    result = await bench_intake(recipients=2, envelopes=12, size=2_000, directory=tmp_path)
    assert (result.recipients, result.envelopes) == (2, 11)  # timed from the first delivery
    assert result.seconds > 0
    assert result.per_second > 0
