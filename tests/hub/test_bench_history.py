"""The intake bench's history: written by the database into the hub's own tables."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from hub.bench_history import add_history
from hub.db import make_engine, make_sessions
from hub.migrate import upgrade
from hub.models import AuditEntry, Delivery, Envelope, TimelineEvent
from tests.services import temporary_database

SENDER, RECIPIENTS = "000.00.29.H40", ["000.01.29.H40", "000.02.29.H40"]


async def test_a_history_of_answered_documents_in_every_table_the_hub_writes() -> None:
    async with temporary_database() as dsn:
        url = dsn.replace("postgresql://", "postgresql+asyncpg://")
        await asyncio.to_thread(upgrade, url)
        await add_history(dsn, SENDER, RECIPIENTS, 10)
        engine = make_engine(url, concurrency=1)
        try:
            async with make_sessions(engine)() as session:
                kinds = dict((await session.execute(
                    select(Envelope.kind, func.count()).group_by(Envelope.kind)
                )).all())  # fmt: skip
                mailboxes = dict((await session.execute(
                    select(Delivery.recipient_code, func.count()).group_by(Delivery.recipient_code)
                )).all())  # fmt: skip
                answers = await session.scalar(
                    select(func.count()).where(TimelineEvent.status_code == "01")
                )
                audited = await session.scalar(select(func.count()).select_from(AuditEntry))
                span = (await session.execute(
                    select(func.min(Envelope.received_at), func.max(Envelope.received_at))
                )).one()  # fmt: skip
        finally:
            await engine.dispose()
    assert kinds == {"document": 10, "status": 10}
    assert mailboxes == {SENDER: 10, RECIPIENTS[0]: 5, RECIPIENTS[1]: 5}  # the 01s, the documents
    assert answers == 10 and audited == 40
    now = datetime.now(UTC)
    assert now - timedelta(days=3 * 366) < span[0] < span[1] <= now
