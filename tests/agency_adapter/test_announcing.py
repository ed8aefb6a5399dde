"""Announcing received documents: each once, in arrival order, none withdrawn or deleted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import ClauseElement, select
from sqlalchemy.orm.exc import StaleDataError

from agency_adapter import announcing
from agency_adapter.announcing import announce_waiting
from agency_adapter.db import transaction
from agency_adapter.models import Document, Event
from tests.agency_adapter.store import Sessions, query_plan

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
