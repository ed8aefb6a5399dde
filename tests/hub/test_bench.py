"""The intake bench: a hub of its own and a worker process, timed."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from hub.bench import bench_intake
from tests.hub.hub_stack import LIENTHONG


async def test_bench_intake_times_a_real_worker_process(tmp_path: Path) -> None:
    """A hub of its own (database, vhost), a worker process, every envelope delivered."""
    result = await bench_intake(recipients=2, envelopes=12, size=2_000, directory=tmp_path)
    assert (result.recipients, result.envelopes) == (2, 11)  # timed from the first delivery
    assert result.seconds > 0
    assert result.per_second > 0
    # Each envelope was written to the WAL (its package is about 2 KB, the deliveries more).
    assert result.work.envelopes == 12 and result.work.wal_kb_per_envelope > 2


async def test_bench_intake_over_a_history_times_only_the_run() -> None:
    """As an operator runs it: a hub holding three years of answered documents, and the
    run's window its own (not from the history's first delivery, three years back)."""
    command = [str(LIENTHONG), "hub", "bench-intake", "--envelopes", "12", "--recipients", "1",
               "--size", "2000", "--history", "300"]  # fmt: skip
    ran = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=300, check=False
    )
    assert ran.returncode == 0, ran.stderr
    header, _, row = ran.stdout.strip().splitlines()
    assert header == "each hub first given a history of 300 answered documents"
    recipients, envelopes, seconds, *_, wal_kb, _ = row.split()
    assert (recipients, envelopes) == ("1", "11") and 0 < float(seconds) < 3600, row
    assert float(wal_kb) > 2, row
