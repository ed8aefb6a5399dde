"""`lienthong demo`: a scripted exchange on the local stack (`lienthong dev up`), the way local
systems would drive their adapters, then every document's timeline."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import typer

from schemas.cli.dev import STACK_FILE, up

WAIT_S = 60.0


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
    with statuses 01/03/05/06 flowing back; prints each document's timeline."""
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


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
