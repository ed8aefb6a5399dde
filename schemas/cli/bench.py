"""`lienthong bench`: lienthong's full path measured against a bare RabbitMQ pipeline, in one run.

1. Baseline: `lienthong hub bench-baseline` (two RabbitMQ hops, confirms and acks, nothing else).
2. Full path on a fresh local stack (`lienthong dev up`): documents posted by concurrent clients
   to a commune's adapter, signed, verified and routed by the hub, verified and stored by the
   district's adapter, status 01 back to the commune; the rate is taken from the first POST to
   the last 01 back, and CPU seconds per document and peak memory per process come from /proc.
3. Latency: documents offered at a fixed rate; from each POST to the moment the district's
   local system is told of it (its event feed, long-polled).
Like the rest of `schemas`, it drives the services through their commands and APIs only.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from schemas.cli.bench_cpu import Sharing, cpu_s
from schemas.cli.bench_http import LeanClient
from schemas.cli.bench_large import (
    fetch_digest,
    large_table,
    memory_report,
    post_file,
    rss_mb,
    timed,
    write_random_file,
)
from schemas.cli.dev import AGENCIES, LIENTHONG, STACK_FILE, VAR, down, up
from schemas.event_loop import run_on_uvloop

UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3}
WAIT_S = 600.0
TIMEOUT_S = 300.0  # a gigabyte's POST is answered once the adapter has stored and hashed it
LARGE = 16 * 1024**2  # from this size on, one document is timed instead of a stream of them
PAGE = 500  # events per request, the feed's maximum


def parse_size(text: str) -> int:
    """'10K', '50M', '1G' or plain bytes."""
    unit = UNITS.get(text[-1:].upper())
    try:
        return int(float(text[:-1]) * unit) if unit else int(text)
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a size such as 10K, 50M or 1G") from None


def _payload(to: str, subject: str, attachment: bytes) -> dict[str, object]:
    return {"to": [to], "subject": subject, "content": "Đo hiệu năng trục liên thông",
            "attachments": [{"name": "bench.bin", "content_type": "application/octet-stream",
                             "content_base64": base64.b64encode(attachment).decode()}]}  # fmt: skip


class Desk:
    """One adapter as its local system uses it: the calls made per document through a lean
    client (see bench_http), the others through httpx."""

    def __init__(self, entry: dict[str, str]) -> None:
        self.code = entry["agency"]
        key = {"Authorization": f"Bearer {entry['api_key']}"}
        self.client = httpx.AsyncClient(base_url=entry["url"], timeout=TIMEOUT_S, headers=key)
        self.lean = LeanClient(entry["url"], key, TIMEOUT_S)

    async def _events(self, after: int, wait: float = 0) -> list[dict[str, Any]]:
        params: dict[str, float] = {"after": after, "wait": wait, "limit": PAGE}
        answer = await self.lean.get("/v1/events", params)
        if answer.status != 200:
            raise RuntimeError(f"GET /v1/events: {answer.status} {answer.text[:300]}")
        found: list[dict[str, Any]] = answer.json()
        return found

    async def last_seq(self) -> int:
        """Where the feed ends now: later events belong to this run."""
        after = 0
        while page := await self._events(after):
            after = int(page[-1]["seq"])
        return after

    async def find(self, subject: str) -> str:
        """The id of the received document with this subject."""
        answer = await self.client.get("/v1/documents", params={"q": subject})
        answer.raise_for_status()
        return str(answer.json()["items"][0]["id"])

    async def post(self, body: dict[str, object]) -> str:
        answer = await self.lean.post_json("/v1/documents", body)
        if answer.status != 202:
            raise RuntimeError(f"POST /v1/documents: {answer.status} {answer.text[:300]}")
        return str(answer.json()["id"])

    async def follow(self, after: int, match: Callable[[dict[str, Any]], str | None],
                     found: dict[str, float], expected: int) -> None:  # fmt: skip
        """Long-poll the feed, noting when each event `match` names arrives (by the name it
        gives), until `expected` of them came."""
        deadline = time.perf_counter() + WAIT_S
        while len(found) < expected and time.perf_counter() < deadline:
            for event in await self._events(after, wait=5):
                after = event["seq"]
                if (name := match(event)) is not None:
                    found.setdefault(name, time.perf_counter())
        if len(found) < expected:
            raise RuntimeError(f"{self.code}: only {len(found)} of {expected} came in time")


def arrived_from(agency: str) -> Callable[[dict[str, Any]], str | None]:
    """Status 01 from `agency` about one of our documents: named by our document's id."""

    def match(event: dict[str, Any]) -> str | None:
        payload = event["payload"]
        ours = event["type"] == "status.received" and payload.get("code") == "01"
        return str(event["document"]) if ours and payload.get("from") == agency else None

    return match


def received(event: dict[str, Any]) -> str | None:
    """A document announced to the local system: named by its subject."""
    return str(event["payload"]["subject"]) if event["type"] == "document.received" else None


# --- processes ---------------------------------------------------------------------------


def _processes() -> dict[str, int]:
    """The stack's processes by name, as `lienthong dev up` started them."""
    pids = [int(pid) for pid in (VAR / "pids").read_text().split()]
    names = ["hub", *(f"adapter {code} ({level})" for code, _, level, _ in AGENCIES)]
    return dict(zip(names, pids, strict=False))


# --- the phases ----------------------------------------------------------------------------


def _baseline(count: int, size: int) -> float:
    command = [LIENTHONG, "hub", "bench-baseline", "--count", str(count), "--size", str(size)]
    # This installation's own console script, not outside input.
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"the baseline failed: {done.stderr.strip()[-500:]}")
    return float(json.loads(done.stdout)["per_s"])


async def _throughput(sender: Desk, recipient: Desk, count: int, clients: int,
                      attachment: bytes) -> float:  # fmt: skip
    """Documents a second, first POST to the last 01 back, with `clients` posting at once."""
    after, window, tag = await sender.last_seq(), asyncio.Semaphore(clients), uuid.uuid4().hex[:6]

    async def one(index: int) -> str:
        async with window:
            return await sender.post(_payload(recipient.code, f"bench {tag} {index}", attachment))

    started, back = time.perf_counter(), dict[str, float]()
    follower = asyncio.create_task(sender.follow(after, arrived_from(recipient.code), back, count))
    await asyncio.gather(*(one(i) for i in range(count)))
    await follower
    return count / (max(back.values()) - started)


async def _latencies(sender: Desk, recipient: Desk, rate: float, count: int,
                     attachment: bytes) -> list[float]:  # fmt: skip
    """Milliseconds from POST to the recipient's document.received, offered at `rate`/s."""
    after, tag = await recipient.last_seq(), uuid.uuid4().hex[:6]
    posted, arrived = dict[str, float](), dict[str, float]()
    follower = asyncio.create_task(recipient.follow(after, received, arrived, count))
    started, posts = time.perf_counter(), []
    for index in range(count):
        await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
        subject = f"latency {tag} {index}"
        posted[subject] = time.perf_counter()
        posts.append(
            asyncio.create_task(sender.post(_payload(recipient.code, subject, attachment)))
        )
    await asyncio.gather(*posts)
    await follower
    return sorted((arrived[s] - posted[s]) * 1000 for s in posted)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted values."""
    return values[min(len(values) - 1, max(0, round(share * len(values)) - 1))]


# --- the command ---------------------------------------------------------------------------


def _desks() -> tuple[Desk, Desk, dict[str, int]]:
    """The first commune's adapter (sender), the district's (recipient), and the processes
    that carry documents between them."""
    adapters = json.loads(STACK_FILE.read_text(encoding="utf-8"))["adapters"]
    by_level = {entry["level"]: entry for entry in reversed(adapters)}  # the first commune
    sender, recipient = Desk(by_level["commune"]), Desk(by_level["district"])
    watched = {name: pid for name, pid in _processes().items()
               if name == "hub" or sender.code in name or recipient.code in name}  # fmt: skip
    return sender, recipient, watched


async def _full_path(count: int, clients: int, rate: float, latency_count: int,
                     attachment: bytes) -> dict[str, Any]:  # fmt: skip
    sender, recipient, watched = _desks()
    before, sharing = {name: cpu_s(pid) for name, pid in watched.items()}, Sharing.now()
    per_s = await _throughput(sender, recipient, count, clients, attachment)
    cpu = {name: round((cpu_s(pid) - before[name]) / count, 5) for name, pid in watched.items()}
    beside, busy = Sharing.now().since(sharing, count)
    latencies = await _latencies(sender, recipient, rate, latency_count, attachment)
    return {
        "documents_per_s": round(per_s, 1),
        "latency_ms": {f"p{p}": round(percentile(latencies, p / 100), 1) for p in (50, 95, 99)},
        "cpu_s_per_document": cpu,
        "peak_rss_mb": {name: round(rss_mb(pid, "VmHWM"), 1) for name, pid in watched.items()},
        "cpu_s_per_document_beside": beside,
        "machine_busy": busy,
    }


async def _large_path(size: int) -> dict[str, Any]:
    """One document with a `size`-byte attachment, commune to district, and memory on the way."""
    sender, recipient, watched = _desks()
    idle = {name: round(rss_mb(pid, "VmRSS"), 1) for name, pid in watched.items()}
    path, digest = write_random_file(VAR, size)
    try:
        after, subject = await recipient.last_seq(), f"large {uuid.uuid4()}"
        arrived = dict[str, float]()
        follower = asyncio.create_task(recipient.follow(after, received, arrived, 1))
        started = time.perf_counter()
        await post_file(sender.client, path, recipient.code, subject)
        post_s = timed(started)
        await follower
        delivered_s = round(arrived[subject] - started, 2)
    finally:
        path.unlink()
    document = await recipient.find(subject)
    started = time.perf_counter()
    if await fetch_digest(recipient.client, document) != (digest, size):
        raise RuntimeError("the district's copy of the attachment differs from the file sent")
    large = {"size_bytes": size, "post_s": post_s, "delivered_s": delivered_s,
             "download_s": timed(started),
             "end_to_end_mb_per_s": round(size / 1e6 / delivered_s, 1)}  # fmt: skip
    return {"large_attachment": large, **memory_report(watched, idle)}


def _table(result: dict[str, Any], size: int, rate: float) -> list[str]:
    latency = result["latency_ms"]
    lines = [
        f"message size                  {size:,} bytes of attachment",
        f"baseline (2 bare hops)        {result['baseline_per_s']:,.0f} messages/s",
        f"full path                     {result['documents_per_s']:,.1f} documents/s "
        f"(ratio {result['ratio']:.3f})",
        f"latency at {rate:g}/s             p50 {latency['p50']:.0f} ms, "
        f"p95 {latency['p95']:.0f} ms, p99 {latency['p99']:.0f} ms (POST to the recipient's feed)",
        "process                                  CPU s/document   peak RSS MB",
    ]
    for name, cpu in result["cpu_s_per_document"].items():
        lines.append(f"  {name:<38} {cpu:>14.4f} {result['peak_rss_mb'][name]:>13.1f}")
    lines.append("sharing the machine                      CPU s/document")
    for name, cpu in result["cpu_s_per_document_beside"].items():
        lines.append(f"  {name:<38} {cpu:>14.4f}")
    cores = os.cpu_count() or 1
    lines.append(f"machine CPU busy while documents flowed {result['machine_busy']:.0%} "
                 f"of {cores} core{'s' if cores > 1 else ''}")  # fmt: skip
    return lines


def bench(
    count: Annotated[int, typer.Option(min=10, help="Documents for the throughput run.")] = 500,
    size: Annotated[
        str, typer.Option(help="Document size (its one attachment), e.g. 10K.")
    ] = "10K",
    attachment_size: Annotated[str | None, typer.Option(help="Attachment size, e.g. 50M.")] = None,
    rate: Annotated[float, typer.Option(min=1, help="Offered documents/s for latency.")] = 50.0,
    latency_count: Annotated[int, typer.Option(min=10, help="Documents timed.")] = 250,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent posting clients.")] = 16,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the results here.")
    ] = None,
) -> None:
    """Throughput, latency, CPU and memory of the full path, beside a bare RabbitMQ pipeline;
    from 16 MB of attachment on, one large document's time and memory per process."""
    if (large := parse_size(attachment_size or size)) >= LARGE:
        _bench_large(large, json_file)
        return
    attachment = os.urandom(large)
    try:
        baseline = _baseline(max(count, 1000), len(attachment))
    except RuntimeError as error:
        typer.echo(f"lienthong bench: {error}", err=True)
        raise typer.Exit(1) from None
    result = _on_stack(_full_path(count, clients, rate, latency_count, attachment))
    result = {"baseline_per_s": round(baseline, 1),
              "ratio": round(result["documents_per_s"] / baseline, 4), **result}  # fmt: skip
    _report(_table(result, len(attachment), rate), result, json_file)


def _on_stack(work: Coroutine[None, None, dict[str, Any]]) -> dict[str, Any]:
    """Run `work` against a fresh local stack, stopped afterwards whatever happens."""
    try:
        up()
        # The clients share the machine with what they measure: they run as lightly as the
        # services do.
        return run_on_uvloop(work)
    except (RuntimeError, OSError, asyncio.IncompleteReadError, httpx.HTTPError) as error:
        # Some of httpx's errors say nothing but their type (a connection reset, say).
        typer.echo(f"lienthong bench: {error or type(error).__name__}", err=True)
        raise typer.Exit(1) from None
    finally:
        work.close()  # never started if the stack did not come up
        down(quiet=True)


def _report(table: list[str], result: dict[str, Any], json_file: Path | None) -> None:
    typer.echo("\n".join(table))
    if json_file is not None:
        json_file.write_text(json.dumps(result, indent=2), encoding="utf-8")


def _bench_large(size: int, json_file: Path | None) -> None:
    result = _on_stack(_large_path(size))
    _report(large_table(result), result, json_file)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
