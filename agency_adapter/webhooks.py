"""Webhooks: the event feed POSTed to the local system, in order, signed, retried with back-off.

Each event is one ``POST`` to ``webhook_url`` whose JSON body has the shape of an item of
``GET /v1/events``: ``{"seq", "type", "document", "payload", "created_at"}``, with headers

- ``X-Lienthong-Event``: the event type, e.g. ``document.received``;
- ``X-Lienthong-Delivery``: the event's ``seq``, the same on every retry of that event;
- ``X-Lienthong-Timestamp``: Unix seconds at which this attempt was signed;
- ``X-Lienthong-Signature``: ``sha256=`` followed by the hex HMAC-SHA256, keyed with
  ``webhook_secret``, of ``<timestamp>.<raw body bytes>``.

A receiver checks a request like this, on the raw body bytes before parsing any JSON (parsing
and re-serialising changes the bytes)::

    timestamp = headers["X-Lienthong-Timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        reject()  # too old: a captured request replayed later
    signed = timestamp.encode() + b"." + raw_body
    expected = "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(headers["X-Lienthong-Signature"], expected):
        reject()  # forged, altered, or its timestamp was changed
    if int(headers["X-Lienthong-Delivery"]) <= last_seq_processed:
        answer 200 and do nothing  # a retry or a replay inside the window

The timestamp is signed, so it cannot be refreshed without the secret: the time window stops
replays of old captures, and remembering the last ``seq`` processed (events only move forward)
stops replays within the window and makes our retries harmless.

Delivery: a 2xx answer means delivered; any other answer, a connection error or a timeout is
a failure. Events go strictly in ``seq`` order: a round stops at the first failure, so the local
system never sees event N+1 before event N. The failing event is retried after
``webhook_retry_s``, then twice as long each time up to ``webhook_max_backoff_s``. The back-off
lives in memory (after a restart the first retry is immediate); the attempt count is kept in
``event.webhook_attempts``. Delivery is at least once: if the answer is lost, or the adapter stops
between the answer and recording it, the same event is sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agency_adapter.db import feed_of, transaction
from agency_adapter.documents.payloads import EventOut
from agency_adapter.errors import ConfigurationError
from agency_adapter.models import Event
from agency_adapter.settings import AdapterSettings
from schemas.http_tls import outgoing_client

log = logging.getLogger(__name__)
BATCH = 100
# 2**30 retry intervals exceed any sensible cap; stopping the exponent there avoids an overflow.
MAX_EXPONENT = 30


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Lienthong-Signature value for one request."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def backoff_s(settings: AdapterSettings, failures: int) -> float:
    """How long to wait before retrying an event that has failed `failures` times in a row."""
    doubled = settings.webhook_retry_s * 2.0 ** min(failures - 1, MAX_EXPONENT)
    return min(settings.webhook_max_backoff_s, doubled)


def _body(event: Event) -> bytes:
    # The feed's own model: a webhook and GET /v1/events describe an event in the same words.
    out = EventOut(seq=event.seq, type=event.type, document=event.document_pk,
                   payload=event.payload, created_at=event.created_at)  # fmt: skip
    return out.model_dump_json().encode()


def _check(settings: AdapterSettings) -> None:
    """Refuse at startup a webhook that could never work or could be forged."""
    if not settings.webhook_url:
        return
    if httpx.URL(settings.webhook_url).scheme not in {"http", "https"}:
        raise ConfigurationError(
            f"LIENTHONG_ADAPTER_WEBHOOK_URL must be an http(s) URL, not {settings.webhook_url!r}"
        )
    if not settings.webhook_secret:
        raise ConfigurationError(
            "LIENTHONG_ADAPTER_WEBHOOK_URL needs LIENTHONG_ADAPTER_WEBHOOK_SECRET: without it "
            "the local system cannot tell the adapter's requests from forged ones"
        )


# Built once (see db.py): every round runs it. It finds the events not delivered yet in an
# index (migration a007), not by reading every event the store ever had.
UNDELIVERED = (
    select(Event).where(Event.webhook_delivered_at.is_(None)).order_by(Event.seq).limit(BATCH)
)


async def undelivered(session: AsyncSession) -> list[Event]:
    """The first events (by seq) the webhook has not delivered; at most BATCH."""
    return list(await session.scalars(UNDELIVERED))


class WebhookSender:
    """Delivers the event feed to ``settings.webhook_url``, one event at a time, in order."""

    def __init__(
        self, settings: AdapterSettings, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        _check(settings)
        self.settings, self.sessions = settings, sessions
        # Back-off of the event holding up the queue: which one, failures in a row, retry when.
        self._failing_seq: int | None = None
        self._failures = 0
        self._retry_at = 0.0  # time.monotonic(): wall-clock jumps must not stall or rush retries

    def _client(self) -> httpx.AsyncClient:
        return outgoing_client(timeout=self.settings.webhook_timeout_s)

    async def deliver_due(self, client: httpx.AsyncClient | None = None) -> int:
        """POST undelivered events in seq order until one fails; returns how many were taken.
        `client`: the one `run` keeps open between rounds; without it the round opens its own."""
        url = self.settings.webhook_url
        if not url or time.monotonic() < self._retry_at:
            return 0
        batch = await self._pending()
        if not batch:  # the usual case when woken by a commit: no client to open
            return 0
        if client is not None:
            return await self._deliver_all(client, url, batch)
        async with self._client() as own:
            return await self._deliver_all(own, url, batch)

    async def _deliver_all(self, client: httpx.AsyncClient, url: str, batch: list[Event]) -> int:
        delivered = 0
        while batch:
            for event in batch:
                if not await self._deliver(client, url, event):
                    return delivered
                delivered += 1
            batch = await self._pending()
        return delivered

    async def run(self) -> None:
        """Deliver forever: a round as soon as this process commits events, and at least every
        webhook_retry_s; return at once without a webhook URL. One client serves every round,
        so its connection to the receiver is kept alive between them."""
        if not self.settings.webhook_url:
            log.info("no webhook URL: the local system reads events from GET /v1/events only")
            return
        feed = feed_of(self.sessions)
        async with self._client() as client:
            while True:
                seen = feed.generation
                try:
                    await self.deliver_due(client)
                except (DBAPIError, OSError) as error:
                    log.warning("webhook round postponed, the store failed: %s", error)
                await feed.wait(seen, self.settings.webhook_retry_s)

    async def _pending(self) -> list[Event]:
        # A short read-only session: no transaction stays open while we wait on the receiver.
        async with self.sessions() as session:
            return await undelivered(session)

    async def _deliver(self, client: httpx.AsyncClient, url: str, event: Event) -> bool:
        error = await self._post(client, url, event)
        await self._record(event.seq, delivered=error is None)
        if error is None:
            self._failing_seq, self._failures, self._retry_at = None, 0, 0.0
            return True
        self._back_off(event, error)
        return False

    async def _post(self, client: httpx.AsyncClient, url: str, event: Event) -> str | None:
        """None when the receiver took the event, else what went wrong (for the log)."""
        body, timestamp = _body(event), int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-Lienthong-Event": event.type,
            "X-Lienthong-Delivery": str(event.seq),
            "X-Lienthong-Timestamp": str(timestamp),
            "X-Lienthong-Signature": sign(self.settings.webhook_secret or "", timestamp, body),
        }
        try:
            answer = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:  # refused, reset, timed out, ...
            return f"{type(error).__name__}: {error}"
        if answer.is_success:
            return None
        return f"HTTP {answer.status_code} {answer.reason_phrase}"

    async def _record(self, seq: int, *, delivered: bool) -> None:
        values: dict[str, object] = {"webhook_attempts": Event.webhook_attempts + 1}
        if delivered:
            values["webhook_delivered_at"] = datetime.now(UTC)
        async with transaction(self.sessions) as session:
            await session.execute(update(Event).where(Event.seq == seq).values(values))

    def _back_off(self, event: Event, error: str) -> None:
        self._failures = self._failures + 1 if self._failing_seq == event.seq else 1
        self._failing_seq = event.seq
        delay = backoff_s(self.settings, self._failures)
        self._retry_at = time.monotonic() + delay
        log.warning(
            "webhook: event %d (%s) not delivered to %s, attempt %d: %s; next try in %.1f s",
            event.seq, event.type, self.settings.webhook_url, event.webhook_attempts + 1,
            error, delay,
        )  # fmt: skip
