"""`lienthong bench --attachment-size 1G`: one large file, commune to district, in bounded memory.

The file is written to disk in random 1 MiB pieces, posted to the commune's adapter as a
streamed multipart upload, carried through the hub's attachment store, and read back from the
district's adapter as its local system would (streamed, hashed on the way). The report gives
the time of each step and each process's memory: resident size before the run (idle), its
peak, and the difference, which the large-attachment design keeps bounded.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

CHUNK = 1024 * 1024


def write_random_file(directory: Path, size: int) -> tuple[Path, str]:
    """A file of `size` random bytes and its SHA-256, written a piece at a time."""
    digest = hashlib.sha256()
    descriptor, name = tempfile.mkstemp(prefix="lienthong-bench-", suffix=".bin", dir=directory)
    with os.fdopen(descriptor, "wb") as out:
        for offset in range(0, size, CHUNK):
            piece = os.urandom(min(CHUNK, size - offset))
            digest.update(piece)
            out.write(piece)
    return Path(name), digest.hexdigest()


async def _multipart(path: Path, to: str, subject: str, boundary: str) -> AsyncIterator[bytes]:
    """A multipart/form-data body (metadata, then the file), streamed from disk."""
    metadata = f'{{"to": ["{to}"], "subject": "{subject}"}}'
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n"
           f"Content-Type: application/json\r\n\r\n{metadata}\r\n"
           f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
           f"filename=\"{path.name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
           ).encode()  # fmt: skip
    with path.open("rb") as source:
        while piece := source.read(CHUNK):
            yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


async def post_file(client: httpx.AsyncClient, path: Path, to: str, subject: str) -> str:
    """POST the file as a document to `to`; the adapter's id of the document."""
    boundary = uuid.uuid4().hex
    answer = await client.post(
        "/v1/documents", content=_multipart(path, to, subject, boundary),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    if answer.status_code != 202:
        raise RuntimeError(f"POST /v1/documents: {answer.status_code} {answer.text[:300]}")
    return str(answer.json()["id"])


async def fetch_digest(client: httpx.AsyncClient, document: str) -> tuple[str, int]:
    """SHA-256 and size of the document's first attachment, read as a stream."""
    digest, size = hashlib.sha256(), 0
    async with client.stream("GET", f"/v1/documents/{document}/attachments/1") as answer:
        if answer.status_code != 200:
            await answer.aread()
            raise RuntimeError(f"GET attachment: {answer.status_code} {answer.text[:300]}")
        async for piece in answer.aiter_bytes(CHUNK):
            digest.update(piece)
            size += len(piece)
    return digest.hexdigest(), size


def rss_mb(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory_report(watched: dict[str, int], idle: dict[str, float]) -> dict[str, Any]:
    peak = {name: round(rss_mb(pid, "VmHWM"), 1) for name, pid in watched.items()}
    return {
        "idle_rss_mb": idle,
        "peak_rss_mb": peak,
        "peak_above_idle_mb": {name: round(peak[name] - idle[name], 1) for name in watched},
    }


def large_table(result: dict[str, Any]) -> list[str]:
    large = result["large_attachment"]
    lines = [
        f"attachment                    {large['size_bytes']:,} bytes, SHA-256 checked at the end",
        f"POST to the commune's adapter {large['post_s']:.1f} s (streamed into its store)",
        f"delivered to the district     {large['delivered_s']:.1f} s after the POST began "
        f"({large['end_to_end_mb_per_s']:.1f} MB/s end to end)",
        f"read back by its local system {large['download_s']:.1f} s",
        "process                                  idle MB    peak MB   peak-idle MB",
    ]
    for name, idle in result["idle_rss_mb"].items():
        lines.append(f"  {name:<38} {idle:>8.1f} {result['peak_rss_mb'][name]:>10.1f} "
                     f"{result['peak_above_idle_mb'][name]:>14.1f}")  # fmt: skip
    return lines


def timed(started: float) -> float:
    return round(time.perf_counter() - started, 2)
