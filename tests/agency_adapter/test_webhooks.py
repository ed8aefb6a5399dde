"""Webhooks reach a real HTTP receiver in order, signed, and survive failures and outages."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from agency_adapter import events
from agency_adapter.db import transaction
from agency_adapter.errors import ConfigurationError
from agency_adapter.models import Document, Event
from agency_adapter.settings import AdapterSettings
from agency_adapter.webhooks import WebhookSender, backoff_s
from tests.agency_adapter.store import Sessions, add_document

SECRET = "webhook-secret-for-tests"
RETRY_S = 0.05
HANG = 0  # a scripted "answer" that never comes: the sender's timeout has to fire


@dataclass
class Request:
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float  # time.monotonic() on arrival


class Receiver:
    """A local system's webhook endpoint: a real HTTP/1.1 server on 127.0.0.1.

    Answers each request with the next scripted status, 200 once the script runs out.
    """

    def __init__(self) -> None:
        self.answers: list[int] = []
        self.requests: list[Request] = []
        self.port = 0  # ephemeral on the first start, then the same port again
        self.keep_alive = False  # answer more than one request per connection
        self.connections = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/lienthong"

    async def has_received(self, count: int) -> bool:
        return len(self.requests) == count

    @property
    def seqs(self) -> list[int]:
        return [int(r.headers["x-lienthong-delivery"]) for r in self.requests]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await self._answer_one(reader, writer) and self.keep_alive:
                pass
        except asyncio.IncompleteReadError:
            pass  # the sender closed a kept-alive connection
        finally:
            writer.close()

    async def _answer_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        fields = (line.partition(":") for line in head[1:] if line)
        headers = {name.strip().lower(): value.strip() for name, _, value in fields}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append(Request(headers, body, time.monotonic()))
        status = self.answers.pop(0) if self.answers else 200
        if status == HANG:
            await reader.read()  # until the sender gives up and hangs up
            return False
        closing = "" if self.keep_alive else "Connection: close\r\n"
        writer.write(f"HTTP/1.1 {status} Scripted\r\nContent-Length: 0\r\n{closing}\r\n".encode())
        await writer.drain()
        return True


def verified(request: Request) -> bool:
    """What a receiver does with the headers (see the webhooks module docstring)."""
    timestamp = request.headers["x-lienthong-timestamp"]
    signed = timestamp.encode() + b"." + request.body
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= 300
    return fresh and hmac.compare_digest(request.headers["x-lienthong-signature"], expected)


def adapter_settings(tmp_path: Path, url: str | None, **extra: Any) -> AdapterSettings:
    fields: dict[str, Any] = {
        "agency_code": "000.00.29.H40", "database_url": f"sqlite+aiosqlite:///{tmp_path}/store.db",
        "webhook_url": url, "webhook_secret": SECRET, "webhook_retry_s": RETRY_S,
        "webhook_max_backoff_s": 1.0, "webhook_timeout_s": 2.0,
    }  # fmt: skip
    return AdapterSettings(**(fields | extra))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


async def add_events(sessions: Sessions, *types: str, document: Document | None = None) -> None:
    async with transaction(sessions) as session:
        for type_ in types:
            await events.append(session, type_, document, {"type": type_})


async def stored(sessions: Sessions) -> list[Event]:
    async with sessions() as session:
        return list(await session.scalars(select(Event).order_by(Event.seq)))


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def running(sender: WebhookSender) -> AsyncIterator[None]:
    task = asyncio.create_task(sender.run())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def test_events_go_out_in_order_signed_so_the_receiver_can_verify_them(
    tmp_path: Path, sessions: Sessions, receiver: Receiver
) -> None:
    document = await add_document(sessions)
    await add_events(sessions, "document.received", "status.received", document=document)
    await add_events(sessions, "agency.updated")
    sender = WebhookSender(adapter_settings(tmp_path, receiver.url), sessions)

    assert await sender.deliver_due() == 3
    assert receiver.seqs == [1, 2, 3]
    assert all(verified(r) for r in receiver.requests)
    first = receiver.requests[0]
    assert first.headers["content-type"] == "application/json"
    assert first.headers["x-lienthong-event"] == "document.received"
    body = json.loads(first.body)
    assert datetime.fromisoformat(body.pop("created_at"))
    assert body == {"seq": 1, "type": "document.received", "document": str(document.id),
                    "payload": {"type": "document.received"}}  # fmt: skip
    assert json.loads(receiver.requests[2].body)["document"] is None
    tampered = Request(first.headers, first.body.replace(b"received", b"recalled"), first.at)
    assert not verified(tampered)
    assert [(e.webhook_attempts, e.webhook_delivered_at is not None)
            for e in await stored(sessions)] == [(1, True)] * 3  # fmt: skip
    assert await sender.deliver_due() == 0  # nothing is sent twice
    assert len(receiver.requests) == 3


async def test_a_committed_event_goes_out_at_once_not_at_the_next_idle_poll(
    tmp_path: Path, sessions: Sessions, receiver: Receiver
) -> None:
    sender = WebhookSender(adapter_settings(tmp_path, receiver.url, webhook_retry_s=60.0), sessions)
    async with running(sender):
        await until(lambda: asyncio.sleep(0.05, True))  # its first round found nothing
        await add_events(sessions, "document.received")
        await until(lambda: asyncio.sleep(0, len(receiver.requests) == 1))  # not in 60 s
    assert receiver.seqs == [1]


async def test_rounds_share_one_connection_to_the_receiver(
    tmp_path: Path, sessions: Sessions, receiver: Receiver
) -> None:
    receiver.keep_alive = True
    sender = WebhookSender(adapter_settings(tmp_path, receiver.url, webhook_retry_s=60.0), sessions)
    async with running(sender):
        for delivered in (1, 2, 3):  # three commits, three rounds
            await add_events(sessions, "document.received")
            await until(partial(receiver.has_received, delivered))
    assert receiver.seqs == [1, 2, 3] and receiver.connections == 1


async def test_a_failing_event_is_retried_with_back_off_and_holds_back_the_next(
    tmp_path: Path, sessions: Sessions, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.answers = [500, 500]
    await add_events(sessions, "first", "second")
    sender = WebhookSender(adapter_settings(tmp_path, receiver.url), sessions)

    async def all_delivered() -> bool:
        return all(e.webhook_delivered_at for e in await stored(sessions))

    async with running(sender):
        await until(all_delivered)
    assert receiver.seqs == [1, 1, 1, 2]
    arrivals = [r.at for r in receiver.requests]
    assert arrivals[1] - arrivals[0] >= RETRY_S  # first back-off
    assert arrivals[2] - arrivals[1] >= 2 * RETRY_S  # doubled
    assert [e.webhook_attempts for e in await stored(sessions)] == [3, 1]
    assert caplog.text.count("HTTP 500") == 2


async def test_events_wait_while_the_receiver_is_down_and_go_out_once_it_is_up(
    tmp_path: Path, sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver()
    await receiver.start()
    await receiver.stop()  # its port now has nothing listening
    await add_events(sessions, "first", "second")
    sender = WebhookSender(adapter_settings(tmp_path, receiver.url), sessions)

    assert await sender.deliver_due() == 0
    assert await sender.deliver_due() == 0  # backing off: not even tried
    assert [e.webhook_attempts for e in await stored(sessions)] == [1, 0]
    assert "ConnectError" in caplog.text
    await receiver.start()
    try:
        await asyncio.sleep(2 * RETRY_S)
        assert await sender.deliver_due() == 2
    finally:
        await receiver.stop()
    assert receiver.seqs == [1, 2]
    assert [e.webhook_attempts for e in await stored(sessions)] == [2, 1]


async def test_a_receiver_that_does_not_answer_in_time_gets_the_event_again(
    tmp_path: Path, sessions: Sessions, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.answers = [HANG]
    await add_events(sessions, "first")
    # Long enough that a loaded machine still connects in time (a CI run once took over 0.2 s
    # to connect on 127.0.0.1): the timeout that must fire is the one waiting for the answer.
    settings = adapter_settings(tmp_path, receiver.url, webhook_timeout_s=1.0)
    sender = WebhookSender(settings, sessions)

    assert await sender.deliver_due() == 0
    assert receiver.seqs == [1]
    assert "ReadTimeout" in caplog.text
    await asyncio.sleep(2 * RETRY_S)
    assert await sender.deliver_due() == 1
    assert receiver.seqs == [1, 1]


async def test_without_a_webhook_url_nothing_is_sent_and_run_returns(
    tmp_path: Path, sessions: Sessions
) -> None:
    await add_events(sessions, "first")
    sender = WebhookSender(adapter_settings(tmp_path, None), sessions)

    await asyncio.wait_for(sender.run(), timeout=1.0)
    assert await sender.deliver_due() == 0
    assert [(e.webhook_attempts, e.webhook_delivered_at) for e in await stored(sessions)] == [
        (0, None)
    ]


@pytest.mark.parametrize(
    ("url", "secret"),
    [("http://127.0.0.1:9/hook", None), ("http://127.0.0.1:9/hook", ""), ("ftp://x/hook", "s")],
)
def test_a_webhook_without_secret_or_http_url_is_refused_at_startup(
    tmp_path: Path, url: str, secret: str | None
) -> None:
    settings = adapter_settings(tmp_path, url).model_copy(update={"webhook_secret": secret})
    with pytest.raises(ConfigurationError):
        WebhookSender(settings, async_sessionmaker())


def test_back_off_doubles_up_to_its_cap() -> None:
    settings = AdapterSettings(agency_code="x", webhook_retry_s=1.0, webhook_max_backoff_s=5.0)
    assert [backoff_s(settings, n) for n in (1, 2, 3, 4, 5, 10_000)] == [1, 2, 4, 5, 5, 5]
