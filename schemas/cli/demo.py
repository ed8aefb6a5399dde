"""`lienthong demo`: a scripted exchange on the local stack (`lienthong dev up`), the way local
systems would drive their adapters, then every document's timeline."""

from __future__ import annotations

import functools
import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import typer

from schemas.cli.bench_large import write_random_file
from schemas.cli.dev import STACK_FILE, VAR, up

WAIT_S = 60.0
MAP_BYTES = 24 * 1024 * 1024


class Desk:
    """One agency's local system: its adapter's URL and API key."""

    def __init__(self, entry: dict[str, str]) -> None:
        self.code, self.name = entry["agency"], entry["name"]
        headers = {"Authorization": f"Bearer {entry['api_key']}"}
        self.client = httpx.Client(base_url=entry["url"], timeout=30, headers=headers)

    def send(self, to: list[str], subject: str) -> str:
        body = {"to": to, "subject": subject, "content": f"{self.name} gửi.", "priority": 1}
        answer = self.client.post("/v1/documents", json=body)
        answer.raise_for_status()
        return str(answer.json()["id"])

    def receive(self, subject: str) -> str:
        """Wait (long-polling the event feed) for a document with this subject; its id."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            events = self.client.get("/v1/events", params={"after": 0, "wait": 2}).json()
            for event in events:
                if event["type"] == "document.received" and event["payload"]["subject"] == subject:
                    return str(event["document"])
        raise typer.BadParameter(f"{self.code} did not receive '{subject}' within {WAIT_S:.0f} s")

    def wait_for(self, kind: str, document: str) -> dict[str, Any]:
        """Wait for an event of this type about this document (as a local system would)."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            events = self.client.get("/v1/events", params={"after": 0, "wait": 2}).json()
            for event in events:
                if event["type"] == kind and event["document"] == document:
                    return dict(event)
        raise typer.BadParameter(f"{self.code} saw no {kind} within {WAIT_S:.0f} s")

    def act(self, document: str, action: str, body: dict[str, object]) -> dict[str, Any]:
        answer = self.client.post(f"/v1/documents/{document}/{action}", json=body)
        answer.raise_for_status()
        return dict(answer.json())

    def recipients(self, document: str, state: str) -> list[dict[str, Any]]:
        """The sender's per-recipient view, once no recipient is still at `state`."""
        deadline = time.monotonic() + WAIT_S
        while True:
            lines: list[dict[str, Any]] = self.client.get(f"/v1/documents/{document}").json()[
                "recipient_timelines"
            ]
            if all(line["state"] != state for line in lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.5)

    def report(self, document: str, *codes: str) -> None:
        for code in codes:
            self.client.post(
                f"/v1/documents/{document}/status", json={"code": code}
            ).raise_for_status()

    def timeline(self, document: str, expected: int) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_S
        while True:
            shown: dict[str, Any] = self.client.get(f"/v1/documents/{document}").json()
            if len(shown["statuses"]) >= expected or time.monotonic() > deadline:
                return shown
            time.sleep(0.5)


def _exchange(desks: dict[str, Desk], sender: str, to: list[str], subject: str,
              codes: tuple[str, ...]) -> tuple[Desk, str, int]:  # fmt: skip
    document = desks[sender].send(to, subject)
    for code in to:
        desks[code].report(desks[code].receive(subject), *codes)
    return desks[sender], document, len(to) * (1 + len(codes))


def _print(desk: Desk, document: str, expected: int) -> None:
    shown = desk.timeline(document, expected)
    typer.echo(
        f"\n{shown['subject']}  ({desk.name} → {', '.join(shown['recipients'])}): {shown['state']}"
    )
    for status in shown["statuses"]:
        at = status["at"][:19].replace("T", " ")
        typer.echo(
            f"  {at}  {status['agency_code']}  {status['code']}  {status['description'] or ''}"
        )


def demo() -> None:
    """Province → district, district → both communes, commune → commune, commune → district,
    with statuses 01/03/05/06 flowing back; then a recall, a delete-on-mistake and a 24 MB
    map through the hub's attachment store; prints each document's timeline."""
    if not STACK_FILE.exists():
        up()
    stack = json.loads(STACK_FILE.read_text(encoding="utf-8"))
    desks = {entry["agency"]: Desk(entry) for entry in stack["adapters"]}
    by_level = {entry["level"]: entry["agency"] for entry in stack["adapters"]}
    communes = [e["agency"] for e in stack["adapters"] if e["level"] == "commune"]
    province, district = by_level["province"], by_level["district"]
    stamp = time.strftime("%H:%M:%S")
    runs = [
        _exchange(
            desks, province, [district], f"Kế hoạch phòng chống bão ({stamp})", ("03", "05", "06")
        ),
        _exchange(
            desks,
            district,
            communes,
            f"Triển khai kế hoạch phòng chống bão ({stamp})",
            ("03", "05"),
        ),
        _exchange(desks, communes[0], [communes[1]], f"Phối hợp gia cố đê biển ({stamp})", ("03",)),
        _exchange(
            desks,
            communes[1],
            [district],
            f"Báo cáo kết quả gia cố đê ({stamp})",
            ("03", "05", "06"),
        ),
    ]
    for desk, document, expected in runs:
        _print(desk, document, expected)
    _recall(desks[district], desks[communes[0]], stamp)
    _delete_on_mistake(desks[province], desks[district], stamp)
    _large_attachment(desks[communes[0]], desks[district], stamp)


def _recall(sender: Desk, recipient: Desk, stamp: str) -> None:
    """A district recalls a notice its commune already registered; the commune agrees."""
    subject = f"Thông báo lịch họp giao ban ({stamp})"
    sent = sender.send([recipient.code], subject)
    held = recipient.receive(subject)
    recipient.report(held, "03")
    sender.timeline(sent, 2)
    sender.act(sent, "recall", {"reason": "Sai thời gian họp"})
    recipient.wait_for("document.recall-requested", held)
    recipient.act(held, "recall-decision", {"agree": True, "reason": "Đồng ý thu hồi"})
    _print_lifecycle("Thu hồi / recall", sender, sent, "recall-requested")


def _delete_on_mistake(sender: Desk, recipient: Desk, stamp: str) -> None:
    """The province sent a document to the wrong district and deletes it there."""
    subject = f"Quyết định khen thưởng (gửi nhầm) ({stamp})"
    sent = sender.send([recipient.code], subject)
    held = recipient.receive(subject)
    sender.act(sent, "delete", {"reason": "Gửi nhầm đơn vị"})
    recipient.wait_for("document.deleted", held)
    _print_lifecycle("Xóa do gửi nhầm / delete-on-mistake", sender, sent, "delete-requested")
    tombstone = recipient.client.get(f"/v1/documents/{held}").json()
    gone = recipient.client.get(f"/v1/documents/{held}/edxml")
    typer.echo(f"  at {recipient.code}: state {tombstone['state']}, content "
               f"{tombstone['content']!r}, package HTTP {gone.status_code}, "
               f"reason '{tombstone['removal_reason']}'")  # fmt: skip


def _large_attachment(sender: Desk, recipient: Desk, stamp: str) -> None:
    """A commune sends a 24 MB scanned map: it travels through the hub's attachment store,
    outside the signed package, and the district's copy is byte for byte the same."""
    subject = f"Bản đồ quy hoạch sử dụng đất ({stamp})"
    metadata = json.dumps({"to": [recipient.code], "subject": subject})
    with tempfile.TemporaryDirectory(dir=VAR) as scratch:
        path, digest = write_random_file(Path(scratch), MAP_BYTES)
        with path.open("rb") as file:  # httpx streams the file part from disk
            sender.client.post("/v1/documents", data={"metadata": metadata},
                               files=[("files", ("ban-do.tif", file, "image/tiff"))],
                               timeout=300).raise_for_status()  # fmt: skip
    held = recipient.receive(subject)
    package = recipient.client.get(f"/v1/documents/{held}/edxml").content
    copy, size = hashlib.sha256(), 0
    with recipient.client.stream("GET", f"/v1/documents/{held}/attachments/1") as answer:
        for piece in answer.raise_for_status().iter_bytes():
            copy.update(piece)
            size += len(piece)
    same = "identical" if copy.hexdigest() == digest else "DIFFERENT"
    typer.echo(f"\nTệp lớn / large attachment: {subject}  ({sender.name} → {recipient.code})\n"
               f"  {size / 1e6:.0f} MB through the hub's attachment store; the signed package "
               f"is {len(package) / 1024:.0f} KB; the district's copy is {same} "
               f"(SHA-256 {digest[:16]}…)")  # fmt: skip


def _print_lifecycle(title: str, sender: Desk, document: str, waiting: str) -> None:
    lines = sender.recipients(document, waiting)
    shown = sender.client.get(f"/v1/documents/{document}").json()
    typer.echo(f"\n{title}: {shown['subject']}  ({sender.name})")
    for line in lines:
        recall = line["recall"] or {}
        codes = " ".join(s["code"] for s in line["statuses"])
        typer.echo(f"  {line['agency_code']}  {line['state']}  statuses {codes}  "
                   f"({recall.get('kind')}: '{recall.get('reason')}', answer "
                   f"{recall.get('outcome')} '{recall.get('outcome_note')}')")  # fmt: skip


def _next_received(desk: Desk, after: int, subject: str) -> int:
    """Long-poll the feed from `after` until the document arrives; its event's seq."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for event in desk.client.get("/v1/events", params={"after": after, "wait": 5}).json():
            after = event["seq"]
            if event["type"] == "document.received" and event["payload"]["subject"] == subject:
                return int(after)
    raise typer.BadParameter(f"{desk.code} did not receive '{subject}' within {WAIT_S:.0f} s")


def latency(count: int = typer.Option(100, min=1, help="Documents to time.")) -> None:
    """Time from POST /v1/documents at a commune to document.received at its district, one
    document at a time through the whole stack (`lienthong dev up` first)."""
    stack = json.loads(STACK_FILE.read_text(encoding="utf-8"))
    by_level = {entry["level"]: entry for entry in stack["adapters"]}
    commune, district = Desk(by_level["commune"]), Desk(by_level["district"])
    after = max(
        [e["seq"] for e in district.client.get("/v1/events", params={"limit": 500}).json()] or [0]
    )
    timings = []
    for index in range(count):
        subject = f"Đo độ trễ {index} ({time.strftime('%H:%M:%S')})"
        started = time.perf_counter()
        commune.send([district.code], subject)
        after = _next_received(district, after, subject)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    median, worst = timings[len(timings) // 2], timings[-1]
    typer.echo(f"{count} documents, POST to document.received: median {median:.0f} ms, "
               f"worst {worst:.0f} ms")  # fmt: skip


def _plainly(command: Callable[..., None]) -> Callable[..., None]:
    """An adapter that answers with an error, or is not there, is one line, not a trace."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except (httpx.HTTPError, OSError) as error:
            typer.echo(f"lienthong: the stack did not answer as expected: {error}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def register(app: typer.Typer) -> None:
    app.command("demo")(_plainly(demo))
    app.command("bench-latency")(_plainly(latency))
