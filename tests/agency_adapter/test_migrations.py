"""The store's migrations as an upgrading adapter meets them: a005 drops the copy of a sent
document's package from its outbox row, the relay still publishes that package, and a
downgrade puts the copies back; a006 and a007 change the indexes the adapter reads by; and at
head the tables are what the models describe. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, select, text

from agency_adapter.db import Base, transaction
from agency_adapter.migrate import downgrade, upgrade
from agency_adapter.models import Document, Outbox
from agency_adapter.workers import waiting
from tests.agency_adapter.store import store_at, store_url

BEFORE = "a004"
SENT = b"<edXML>the signed document</edXML>"
STATUS = b"<edXML>a signed status 01</edXML>"


async def _written_before_a005(url: str) -> None:
    """A sent document and a status, as the adapter before a005 wrote them."""
    await asyncio.to_thread(upgrade, url, BEFORE)
    envelope_id = str(uuid.uuid4())
    document = Document(box="outbox", envelope_id=envelope_id, sender_code="000.04.29.H40",
                        recipients=["000.00.29.H40"], state="queued", body=SENT)  # fmt: skip
    async with store_at(url) as sessions, transaction(sessions) as session:
        session.add(document)
        session.add_all([Outbox(envelope_id=envelope_id, body=SENT),
                         Outbox(envelope_id="status-01", body=STATUS)])  # fmt: skip


async def _outbox(url: str) -> tuple[list[bytes | None], list[bytes | None]]:
    """The bodies the outbox rows hold, and the packages the relay would publish."""
    async with store_at(url) as sessions, sessions() as session:
        held = list(await session.scalars(select(Outbox.body).order_by(Outbox.id)))
        published = [row.body for row in await waiting(session, [])]
    return held, published


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a005_keeps_one_copy_of_a_sent_package_and_the_relay_still_sends_it(
    kind: str, tmp_path: Path
) -> None:
    async with store_url(kind, tmp_path) as url:
        await _written_before_a005(url)
        before = await _outbox(url)
        await asyncio.to_thread(upgrade, url)
        after = await _outbox(url)
        await asyncio.to_thread(downgrade, url, BEFORE)
        back = await _outbox(url)
    assert before == ([SENT, STATUS], [SENT, STATUS])
    assert after == ([None, STATUS], [SENT, STATUS])  # the document's body is what goes out
    assert back == before


def _differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def _indexes(connection: Connection) -> set[str]:
    """Every index's name, those on expressions too (SQLAlchemy does not reflect them on SQLite)."""
    if connection.dialect.name == "sqlite":
        query = text("SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        query = text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    return set(connection.execute(query).scalars())


NEW = {"ix_document_box_announced_at", "ix_document_box_created_at", "ix_document_box_deadline",
       "ix_document_box_state", "ix_document_document_id_box", "ix_document_revises_box",
       "ix_event_undelivered"}  # fmt: skip
OLD = {"ix_document_box", "ix_document_announced_at", "ix_document_document_id"}


# Alembic cannot compare an index on an expression on SQLite, and says so: a test of that
# index's presence follows instead.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_migrations_make_the_tables_the_models_describe(
    kind: str, tmp_path: Path
) -> None:
    """Alembic finds nothing to change between a store at head and the models; a006's and
    a007's indexes come and go with them."""
    async with store_url(kind, tmp_path) as url, store_at(url) as sessions:
        await asyncio.to_thread(upgrade, url)
        async with sessions() as session:
            differences = await session.run_sync(lambda s: _differences(s.connection()))
            at_head = await session.run_sync(lambda s: _indexes(s.connection()))
        await asyncio.to_thread(downgrade, url, "a005")
        async with sessions() as session:
            before = await session.run_sync(lambda s: _indexes(s.connection()))
    assert differences == []
    assert at_head >= NEW and not OLD & at_head
    assert before >= OLD and not NEW & before
