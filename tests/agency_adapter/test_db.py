"""The adapter's SQLite store under concurrent writers (a real file, WAL mode)."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from agency_adapter import events
from agency_adapter.db import forget_purged, transaction
from agency_adapter.models import Document, Event
from tests.agency_adapter.store import Sessions


async def _append(sessions: Sessions, type_: str, read: asyncio.Event | None = None) -> None:
    """One writing unit of work that reads first; with `read`, it says so and dawdles a
    little before it writes (another writer tries to commit meanwhile)."""
    async with transaction(sessions) as session:
        await session.scalar(select(func.count()).select_from(Event))
        if read is not None:
            read.set()
            await asyncio.sleep(0.3)
        await events.append(session, type_, None, {})


async def test_a_writer_that_read_first_is_not_refused_when_another_writes_meanwhile(
    sessions: Sessions,
) -> None:
    # A deferred transaction would fail at its first write with "database is locked" (the
    # other one committed after it read); a writing one holds the lock, so the other waits.
    read = asyncio.Event()
    first = asyncio.create_task(_append(sessions, "first", read))
    await read.wait()
    await asyncio.gather(first, _append(sessions, "second"))
    async with sessions() as session:
        written = list(await session.scalars(select(Event.type).order_by(Event.seq)))
    assert written == ["first", "second"]


async def test_many_concurrent_writers_all_commit_in_order(sessions: Sessions) -> None:
    await asyncio.gather(*(_append(sessions, f"e{n}") for n in range(40)))
    async with sessions() as session:
        written = list(await session.scalars(select(Event.type).order_by(Event.seq)))
    assert sorted(written) == sorted(f"e{n}" for n in range(40))


async def test_the_write_ahead_log_is_folded_outside_any_transaction(sessions: Sessions) -> None:
    await _append(sessions, "before")
    assert await forget_purged(sessions) is True


def _outbox_document(**fields: object) -> Document:
    return Document(
        box="outbox", envelope_id=str(uuid.uuid4()), sender_code="000.04.29.H40",
        recipients=["000.00.29.H40"], state="queued", body=b"<edXML/>", statuses=[], recalls=[],
        **fields,
    )  # fmt: skip


async def test_events_are_written_in_the_order_appended_after_the_document_they_name(
    sessions: Sessions,
) -> None:
    """Events are plain INSERTs written later than they are appended; one naming a document
    added in the same unit of work still goes after it, and none overtakes another."""
    document = Document(
        box="inbox", envelope_id=str(uuid.uuid4()), sender_code="000.04.29.H40",
        recipients=["000.00.29.H40"], state="received", body=b"<edXML/>",
    )  # fmt: skip
    async with transaction(sessions) as session:
        await events.append(session, "first", None, {})
        session.add(document)
        await events.append(session, "second", document, {})
        await events.append(session, "third", None, {})
        await session.flush()  # writes what was appended so far
        await events.append(session, "fourth", document, {})
    async with sessions() as session:
        written = (
            await session.execute(select(Event.type, Event.document_pk).order_by(Event.seq))
        ).all()
    assert [tuple(row) for row in written] == [
        ("first", None),
        ("second", document.id),
        ("third", None),
        ("fourth", document.id),
    ]
