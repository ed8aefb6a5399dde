"""The dashboard's figures from the database alone (no broker): each agency's last activity
without reading the history."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from hub.dashboard.service import LAST_ACTIVITY, agencies
from hub.models import Agency, Envelope
from tests.hub.database import migrated_sessions, rows_read

BUSY, QUIET, NEW = "000.00.29.H40", "000.04.29.H40", "000.05.29.H40"
START = datetime(2024, 1, 1, tzinfo=UTC)


def _envelopes(sender: str, count: int) -> list[dict[str, object]]:
    """`count` envelopes from `sender`, an hour apart from START."""
    names = [f"{sender}-{n}-{uuid.uuid4()}" for n in range(count)]
    return [{
        "id": uuid.uuid4(), "envelope_id": name, "kind": "document", "sender_code": sender,
        "sha256": hashlib.sha256(name.encode()).hexdigest(), "size": 1, "body": b"<edXML/>",
        "received_at": START + timedelta(hours=n),
    } for n, name in enumerate(names)]  # fmt: skip


async def test_each_agency_s_last_activity_is_found_without_reading_the_history() -> None:
    async with migrated_sessions(concurrency=2) as sessions:
        async with sessions() as session, session.begin():
            await session.execute(insert(Agency), [
                {"code": code, "name": code, "level": "commune", "broker_user": f"agency.{code}"}
                for code in (BUSY, QUIET, NEW)
            ])  # fmt: skip
            await session.execute(insert(Envelope), _envelopes(BUSY, 3000) + _envelopes(QUIET, 2))
        async with sessions() as session:
            read = await rows_read(session, LAST_ACTIVITY)
            shown = {node.agency.code: node.last_activity
                     for node in await agencies(session, datetime.now(UTC))}  # fmt: skip
    assert shown == {BUSY: START + timedelta(hours=2999), QUIET: START + timedelta(hours=1),
                     NEW: None}  # fmt: skip
    assert read["envelope"] < 10, read  # one index entry per agency, of 3,002 envelopes
