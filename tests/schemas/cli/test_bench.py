"""`lienthong bench` as a developer runs it: a baseline, a stack of its own, a table and JSON.

Small numbers, so that it runs in the suite; no timing is asserted (speed is measured by
running the command, not by tests)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from schemas.cli.bench import parse_size, percentile
from tests.schemas.cli.run import LIENTHONG


def test_sizes_and_percentiles() -> None:
    assert (parse_size("10K"), parse_size("50M"), parse_size("1G"), parse_size("512")) == (
        10_240, 50 * 1024**2, 1024**3, 512,
    )  # fmt: skip
    with pytest.raises(Exception, match="not a size"):
        parse_size("ten")
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile([7.0], 0.99)) == (
        50.0, 99.0, 7.0,
    )  # fmt: skip


def test_the_bench_runs_the_whole_path_and_reports(tmp_path: Path) -> None:
    result = tmp_path / "bench.json"
    done = subprocess.run(
        [str(LIENTHONG), "bench", "--count", "10", "--latency-count", "10", "--rate", "5",
         "--json", str(result)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "full path" in done.stdout and "baseline (2 bare hops)" in done.stdout
    report = json.loads(result.read_text())
    assert report["baseline_per_s"] > 0 and report["documents_per_s"] > 0
    assert report["ratio"] == pytest.approx(report["documents_per_s"] / report["baseline_per_s"],
                                            rel=0.01)  # fmt: skip
    assert set(report["latency_ms"]) == {"p50", "p95", "p99"}
    assert report["latency_ms"]["p50"] <= report["latency_ms"]["p99"]
    assert {"hub", "adapter 000.04.29.H40 (commune)", "adapter 000.00.29.H40 (district)"} == set(
        report["cpu_s_per_document"]
    )
    assert all(mb > 10 for mb in report["peak_rss_mb"].values())
    # What shares the machine (/proc counts in ticks of 10 ms: ten documents may cost the
    # broker less than one, but the clients' own CPU clock is finer).
    beside = report["cpu_s_per_document_beside"]
    assert set(beside) == {"rabbitmq", "postgresql", "bench clients (this command)"}
    assert beside["bench clients (this command)"] > 0 and min(beside.values()) >= 0
    assert 0 < report["machine_busy"] <= 1 and "sharing the machine" in done.stdout
    assert not (tmp_path / "var" / "dev" / "pids").exists()  # the stack was stopped


def test_a_large_attachment_crosses_in_bounded_memory(tmp_path: Path) -> None:
    """100 MB commune to district through the hub's store: the copy read back matches (the
    command checks its SHA-256), and no process grows by anything like the file's size."""
    result = tmp_path / "large.json"
    done = subprocess.run(
        [str(LIENTHONG), "bench", "--attachment-size", "100M", "--json", str(result)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "read back by its local system" in done.stdout
    report = json.loads(result.read_text())
    assert report["large_attachment"]["size_bytes"] == 100 * 1024**2
    growth = report["peak_above_idle_mb"]
    assert set(growth) == {"hub", "adapter 000.04.29.H40 (commune)",
                           "adapter 000.00.29.H40 (district)"}  # fmt: skip
    assert all(mb < 64 for mb in growth.values()), growth
    assert not list((tmp_path / "var" / "dev").glob("lienthong-bench-*"))  # the file was removed
