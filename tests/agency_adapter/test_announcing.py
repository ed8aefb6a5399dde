"""Announcing received documents: each once, in arrival order, none withdrawn or deleted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import ClauseElement, select
from sqlalchemy.orm.exc import StaleDataError

from agency_adapter import announcing
from agency_adapter.announcing import announce_waiting
from agency_adapter.context import AdapterContext
from agency_adapter.db import transaction
from agency_adapter.migrate import upgrade_async
from agency_adapter.models import Document, Event
from agency_adapter.receiving import take_all, verified
from agency_adapter.settings import AdapterSettings
from tests.agency_adapter.store import Sessions, query_plan, store_at, store_url
from tests.agency_adapter.test_receiving import envelope, first_version, update_of
from tests.schemas.factories import agency, fresh_ca
from tests.schemas.packages import COMMUNE, DISTRICT

_ARRIVED = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def _received(minute: int, state: str = "received", box: str = "inbox") -> Document:
    return Document(
        box=box, envelope_id=str(uuid.uuid4()), sender_code="000.04.29.H40",
        recipients=["000.00.29.H40"], state=state, body=b"<edXML/>", subject=f"arrived {minute}",
        created_at=_ARRIVED + timedelta(minutes=minute),
    )  # fmt: skip


@pytest.fixture(params=[True, False], ids=["update-returning", "unit-of-work"])
def returning(request: pytest.FixtureRequest, sessions: Sessions,
              monkeypatch: pytest.MonkeyPatch) -> bool:  # fmt: skip
    """Both ways of marking: one UPDATE … RETURNING, or (as on SQLite before 3.35) the unit of
    work's UPDATE per document."""
    engine = sessions.kw["bind"]
    monkeypatch.setattr(engine.sync_engine.dialect, "update_returning", request.param)
    return bool(request.param)


async def test_each_received_document_is_announced_once_in_arrival_order(
    sessions: Sessions, returning: bool
) -> None:
    rows = [_received(3), _received(1), _received(2, state="withdrawn"),
            _received(0, box="outbox")]  # fmt: skip
    async with transaction(sessions) as session:
        session.add_all(rows)
    async with transaction(sessions) as session:
        assert await announce_waiting(session) == 2
    async with transaction(sessions) as session:
        assert await announce_waiting(session) == 0  # nothing is announced twice
        told = [event.payload["subject"] for event in await session.scalars(select(Event))]
        marked = {d.subject: d for d in await session.scalars(select(Document))}
    assert told == ["arrived 1", "arrived 3"]  # the withdrawn one is settled without a word
    assert all(marked[f"arrived {n}"].announced_at is not None for n in (1, 2, 3))
    assert marked["arrived 0"].announced_at is None and marked["arrived 0"].version == 1
    assert {marked[f"arrived {n}"].version for n in (1, 2, 3)} == {2}


async def test_a_copy_read_before_the_announcement_cannot_be_written_back(
    sessions: Sessions, returning: bool
) -> None:
    document = _received(1)
    async with transaction(sessions) as session:
        session.add(document)
    async with sessions() as reader:
        stale = await reader.get_one(Document, document.id)
        async with transaction(sessions) as session:
            await announce_waiting(session)
        stale.state = "withdrawn"
        with pytest.raises(StaleDataError):
            await reader.commit()


async def _told(sessions: Sessions) -> list[tuple[object, object]]:
    """The feed: each event's subject and kind (an update or replacement), in order."""
    async with sessions() as session:
        events = await session.scalars(select(Event).order_by(Event.seq))
        return [(event.payload["subject"], event.payload.get("kind")) for event in events]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_documents_stored_together_are_announced_in_the_order_they_came(
    kind: str, tmp_path: Path
) -> None:
    """A mailbox group is stored in one transaction, within one second (SQLite's
    CURRENT_TIMESTAMP) or at one instant (PostgreSQL's now()). The local system is told of
    its documents as they came, and of an update after the version it updates."""
    ca = fresh_ca()
    settings = AdapterSettings(agency_code=DISTRICT, attachment_dir=tmp_path / "files")
    ctx = AdapterContext(settings, agency(ca, DISTRICT), (ca.certificate,))
    originals = [first_version(n) for n in range(6)]
    packages, sender = [*originals, update_of(originals[0])], agency(ca, COMMUNE)
    messages = [verified(ctx, envelope(sender, p)) for p in packages]
    async with store_url(kind, tmp_path) as url:
        await upgrade_async(url)
        async with store_at(url) as sessions:
            async with transaction(sessions) as session:
                await take_all(session, ctx, messages)
            async with transaction(sessions) as session:
                assert await announce_waiting(session) == len(messages)
            told = await _told(sessions)
    # Seven documents in the random order of their ids would pass one time in 5,040.
    assert told == [(p.subject, "update" if p.business else None) for p in packages]


@pytest.mark.parametrize("statement", [announcing.CLAIM, announcing.UNANNOUNCED],
                         ids=["claim", "select"])  # fmt: skip
async def test_what_waits_is_found_by_index_not_by_reading_the_inbox(
    sessions: Sessions, statement: ClauseElement
) -> None:
    """Every received document runs this: both columns of one index, not a read of every
    document ever received (a006; before it the plan used the index on box alone)."""
    steps = await query_plan(sessions, statement)
    assert any("ix_document_box_announced_at (box=? AND announced_at=?)" in s for s in steps), steps
    assert not any(s.startswith("SCAN document") for s in steps), steps
