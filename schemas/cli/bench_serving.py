"""`lienthong bench-http`: the server's CPU per HTTP request, uvicorn as it comes against the
services' one-write protocol (`schemas.http_server`).

A child process (`schemas.cli.bench_server`, so that the command line never imports FastAPI)
serves a small FastAPI app (a JSON POST answered 202, like a document sent,
and a GET answered with a short list, like the event feed) on a local port; keep-alive clients
(the bench's lean client) make the requests, and the child's CPU comes from /proc. The two
servers take turns, round after round, so that the machine's drift falls on both alike.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from schemas.cli.bench_cpu import cpu_s
from schemas.cli.bench_http import LeanClient
from schemas.event_loop import run_on_uvloop

SERVERS = {"uvicorn": "uvicorn's httptools protocol", "one-write": "schemas.http_server"}
STARTUP_S = 10.0
BODY = {"subject": "V/v báo cáo " * 8, "content": "Nội dung " * 200}


async def _requests(port: int, pairs: int, connections: int) -> None:
    """`pairs` of a POST and a GET on each of `connections` keep-alive connections."""

    async def one_client(pairs: int) -> None:
        client = LeanClient(f"http://127.0.0.1:{port}", {}, 30)
        try:
            for _ in range(pairs):
                if (await client.post_json("/v1/documents", BODY)).status != 202:
                    raise RuntimeError("the POST was not answered 202")
                if (await client.get("/v1/events", {})).status != 200:
                    raise RuntimeError("the GET was not answered 200")
        finally:
            await client.close()

    await asyncio.gather(*(one_client(pairs) for _ in range(connections)))


async def _started(port: int, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the test server exited with status {child.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise RuntimeError(f"the test server did not listen on port {port} in {STARTUP_S:g} s")


def _free(port: int) -> int:
    """`port`, or any free port for 0; refuse one something else holds: its server, not the
    bench's, would answer."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise RuntimeError(f"port {port} is not free ({error.strerror}); "
                               "choose another with --port") from None  # fmt: skip
        free: int = probe.getsockname()[1]
        return free


def _round(server: str, port: int, pairs: int, connections: int) -> dict[str, float]:
    port = _free(port)
    command = [sys.executable, "-P", "-m", "schemas.cli.bench_server", str(port), server]
    child = subprocess.Popen(command)  # noqa: S603 (our own module, no shell)
    try:
        run_on_uvloop(_started(port, child))
        run_on_uvloop(_requests(port, 200 // connections + 1, connections))  # warm-up
        before, started = cpu_s(child.pid), time.perf_counter()
        run_on_uvloop(_requests(port, pairs, connections))
        cpu, wall = cpu_s(child.pid) - before, time.perf_counter() - started
    finally:
        child.terminate()
        child.wait()
    made = 2 * pairs * connections
    return {"cpu_us_per_request": round(cpu / made * 1e6, 1), "wall_s": round(wall, 2)}


def bench_http(
    requests: Annotated[int, typer.Option(min=100, help="Requests per round.")] = 12_000,
    rounds: Annotated[int, typer.Option(min=1, help="Rounds of each server, in turn.")] = 3,
    connections: Annotated[int, typer.Option(min=1, help="Keep-alive connections.")] = 8,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="The test server's port (0: any free one).")
    ] = 0,
    json_file: Annotated[Path | None, typer.Option("--json", help="Also write JSON here.")] = None,
) -> None:
    """The server's CPU per small HTTP request: uvicorn as it comes, and with the one-write
    protocol the services use, in turns."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in SERVERS}
    pairs = max(1, requests // 2 // connections)  # the same on every connection
    try:
        for _ in range(rounds):
            for server, what in SERVERS.items():
                taken = _round(server, port, pairs, connections)
                results[server].append(taken)
                typer.echo(f"{server:<10} ({what}): {taken['cpu_us_per_request']:6.1f}"
                           f" us of server CPU per request, {taken['wall_s']:.2f} s")  # fmt: skip
    except (RuntimeError, OSError) as error:
        typer.echo(f"lienthong bench-http: {error}", err=True)
        raise typer.Exit(1) from None
    if json_file is not None:
        report = {"requests_per_round": 2 * pairs * connections, "rounds": results}
        json_file.write_text(json.dumps(report, indent=2) + "\n")
