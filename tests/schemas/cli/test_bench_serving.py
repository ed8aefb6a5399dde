"""`lienthong bench-http` as a developer runs it: both servers, in turn, each really serving
the requests it is timed on. No timing is asserted."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.schemas.cli.run import lienthong


def test_bench_http_times_both_servers_in_turn(tmp_path: Path) -> None:
    result = tmp_path / "http.json"
    done = lienthong("bench-http", "--requests", "401", "--rounds", "2", "--connections", "2",
                     "--json", result)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["uvicorn", "one-write"] * 2
    report = json.loads(result.read_text())
    assert report["requests_per_round"] == 400  # 100 POSTs and GETs on each connection
    for rounds in report["rounds"].values():
        assert len(rounds) == 2
        assert all(taken["cpu_us_per_request"] > 0 and taken["wall_s"] > 0 for taken in rounds)


def test_bench_http_refuses_a_port_another_server_holds() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        done = lienthong("bench-http", "--requests", "100", "--rounds", "1", "--port", str(port))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (f"lienthong bench-http: port {port} is not free (Address already in "
                           "use); choose another with --port\n")  # fmt: skip
