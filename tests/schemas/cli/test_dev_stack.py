"""`lienthong dev up`, `lienthong demo`, `lienthong dev down` as a developer runs them: a hub and
four adapters as separate processes on the real services, and the scripted exchange."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import httpx

from tests.schemas.cli.run import LIENTHONG


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LIENTHONG), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip


def test_the_stack_comes_up_runs_the_demo_and_goes_down(tmp_path: Path) -> None:
    try:
        up = _run(tmp_path, "dev", "up")
        assert up.returncode == 0, up.stderr
        stack = json.loads((tmp_path / "var" / "dev-stack.json").read_text())
        assert [a["level"] for a in stack["adapters"]] == [
            "province",
            "district",
            "commune",
            "commune",
        ]
        demo = _run(tmp_path, "demo")
        assert demo.returncode == 0, demo.stderr
        *timelines, recall, deletion, large = demo.stdout.strip().split("\n\n")
        assert len(timelines) == 4
        assert all(": sent" in t.splitlines()[0] for t in timelines)
        assert recall.startswith("Thu hồi / recall") and "  recalled  statuses 01 03 15" in recall
        assert "  deleted  statuses 01 15" in deletion
        assert "state deleted, content None, package HTTP 410" in deletion
        assert large.startswith("Tệp lớn / large attachment") and "copy is identical" in large
        assert "25 MB through the hub's attachment store" in large
        first = timelines[0].splitlines()[1:]
        assert sorted(line.split()[3] for line in first) == ["01", "03", "05", "06"]
        timed = _run(tmp_path, "bench-latency", "--count", "5")
        assert timed.returncode == 0, timed.stderr
        assert timed.stdout.startswith("5 documents, POST to document.received: median ")
        ready = httpx.get(f"{stack['hub']['url']}/readyz", timeout=5)
        assert ready.json() == {"database": "ok", "broker": "ok"}
        # the adapters run with -OO, and their API is still described (schemas/own_modules.py)
        spec = httpx.get(f"{stack['adapters'][0]['url']}/openapi.json", timeout=5).json()
        operations = [op for path in spec["paths"].values() for op in path.values()]
        assert operations and all(op.get("description") for op in operations)
    finally:
        down = _run(tmp_path, "dev", "down")
    assert down.returncode == 0 and "stack stopped" in down.stdout


def test_a_stack_whose_ports_are_taken_does_not_start(tmp_path: Path) -> None:
    """Another stack (another folder's) holding the hub's port would answer in this one's
    place, with other keys: `dev up` says so and starts nothing."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 8400))
        other.listen()
        up = _run(tmp_path, "dev", "up")
    assert up.returncode == 1
    assert "port 8400 on 127.0.0.1 is in use, so the stack cannot start" in up.stderr
    assert "Traceback" not in up.stderr
    assert not (tmp_path / "var" / "dev").exists()  # nothing prepared, nothing started
