"""Each mailbox's oldest unanswered document, from the database alone (no broker): which
deliveries count, and that a scrape reads what came since the agency's last 01, not its
history."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.models import Agency, Delivery, DeliveryState, Envelope, TimelineEvent
from hub.operations.repository import AGENCIES_HEALTH, agencies_health
from tests.hub.database import migrated_sessions, rows_read

Sessions = async_sessionmaker[AsyncSession]
SENDER, DISTRICT = "000.00.00.H40", "000.00.29.H40"
COMMUNE, SILENT = "000.04.29.H40", "000.09.29.H40"  # SILENT never answers
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def minute(n: int) -> datetime:
    return START + timedelta(minutes=n)


@pytest.fixture
async def sessions() -> AsyncIterator[Sessions]:
    async with migrated_sessions(concurrency=2) as made:
        async with made() as session, session.begin():
            await session.execute(insert(Agency), [
                {"code": code, "name": code, "level": "commune", "broker_user": f"agency.{code}"}
                for code in (SENDER, DISTRICT, COMMUNE, SILENT)
            ])  # fmt: skip
        yield made


class Mailbox:
    """Rows of one agency's mailbox, added in the order they were queued."""

    def __init__(self, recipient: str) -> None:
        self.recipient = recipient
        self.envelopes: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def queue(self, at: datetime, *, kind: str = "document", business: int | None = 0,
              state: str = DeliveryState.QUEUED,
              answered_at: datetime | None = None) -> None:  # fmt: skip
        """An envelope queued to the recipient at `at`; with `answered_at`, its 01 then."""
        pk, name = uuid.uuid4(), str(uuid.uuid4())
        self.envelopes.append({
            "id": pk, "envelope_id": name, "kind": kind, "sender_code": SENDER,
            "business_type": business if kind == "document" else None,
            "sha256": hashlib.sha256(name.encode()).hexdigest(), "size": 1, "body": b"<edXML/>",
        })  # fmt: skip
        self.deliveries.append({"envelope_pk": pk, "recipient_code": self.recipient,
                                "state": state, "queued_at": at})  # fmt: skip
        if answered_at is not None:
            self.events.append({
                "document_pk": pk, "recipient_code": self.recipient, "event": "status",
                "status_code": "01", "source_envelope_id": str(uuid.uuid4()), "at": answered_at,
            })  # fmt: skip

    async def write(self, sessions: Sessions) -> None:
        async with sessions() as session, session.begin():
            for table, rows in ((Envelope, self.envelopes), (Delivery, self.deliveries),
                                (TimelineEvent, self.events)):  # fmt: skip
                if rows:
                    await session.execute(insert(table), rows)


async def _oldest(sessions: Sessions) -> dict[str, datetime | None]:
    async with sessions() as session:
        return {health.agency.code: health.oldest_waiting_at
                for health in await agencies_health(session)}  # fmt: skip


async def test_the_oldest_unanswered_document_of_each_mailbox(sessions: Sessions) -> None:
    district = Mailbox(DISTRICT)
    district.queue(minute(1), answered_at=minute(2))
    district.queue(minute(3))  # before the document last answered: read, answered or not
    district.queue(minute(4), answered_at=minute(20))  # the last 01: its queueing is the floor
    district.queue(minute(5), business=1)  # a recall or deletion is never answered 01
    district.queue(minute(6), kind="status")  # a status is never answered either
    district.queue(minute(7), state=DeliveryState.CANCELLED)  # never left the hub
    district.queue(minute(8), answered_at=minute(9))  # answered, before the last 01 came
    district.queue(minute(10))  # the oldest waiting
    district.queue(minute(11))
    silent = Mailbox(SILENT)  # has never answered
    for n in (30, 31):
        silent.queue(minute(n))
    commune = Mailbox(COMMUNE)  # has answered everything
    commune.queue(minute(1), answered_at=minute(2))
    for mailbox in (district, silent, commune):
        await mailbox.write(sessions)
    assert await _oldest(sessions) == {
        SENDER: None, DISTRICT: minute(10), COMMUNE: None, SILENT: minute(30),
    }  # fmt: skip


async def test_a_scrape_reads_what_came_since_the_last_answer_not_the_history(
    sessions: Sessions,
) -> None:
    """Years of answered documents in one mailbox, a few waiting at its end, and a mailbox
    that never answered: PostgreSQL's plan, on analyzed tables, reads a handful of rows of
    the deliveries and the 01s, where the history holds thousands of each."""
    district, silent, history = Mailbox(DISTRICT), Mailbox(SILENT), 3000
    for n in range(history):
        district.queue(minute(n), answered_at=minute(n) + timedelta(seconds=30))
        silent.queue(minute(n))
    for n in range(history, history + 3):
        district.queue(minute(n))
    for mailbox in (district, silent):
        await mailbox.write(sessions)
    async with sessions() as session:
        read = await rows_read(session, AGENCIES_HEALTH)
    oldest = await _oldest(sessions)
    assert oldest[DISTRICT] == minute(history) and oldest[SILENT] == minute(0)
    assert read["delivery"] < 50 and read["timeline_event"] < 50, read
