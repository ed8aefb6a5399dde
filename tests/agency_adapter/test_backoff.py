"""Rows that wait for ever (the hub or the broker away for weeks) are still postponed by the
cap, however many times they were tried: the doubling must not overflow."""

from __future__ import annotations

import time

from sqlalchemy import delete, select

from agency_adapter.db import transaction
from agency_adapter.errors import BrokerUnavailable, HubUnavailable
from agency_adapter.models import AwaitingFiles, Outbox
from agency_adapter.workers import Waiting
from tests.agency_adapter.adapter_stack import Adapter
from tests.hub.hub_stack import HubStack

LATER = 3600.0  # not due while the test looks at it: the running workers leave it alone
TRIED = 5000  # 2**5000 does not fit in a float


async def test_an_outbox_row_tried_thousands_of_times_waits_the_cap(
    pair: tuple[HubStack, Adapter, Adapter],
) -> None:
    _, commune, _ = pair
    row = Outbox(envelope_id="long-wait", body=b"<edXML/>", attempts=TRIED,
                 next_attempt_at=time.time() + LATER)  # fmt: skip
    async with transaction(commune.runtime.sessions) as session:
        session.add(row)
    taken = Waiting(row.id, row.envelope_id, row.attempts, row.next_attempt_at, b"<edXML/>")
    await commune.runtime.workers._postpone(taken, BrokerUnavailable("RabbitMQ away for weeks"))
    async with transaction(commune.runtime.sessions) as session:
        kept = await session.scalar(select(Outbox).where(Outbox.id == row.id))
        await session.execute(delete(Outbox).where(Outbox.id == row.id))
    assert kept is not None and kept.attempts == TRIED + 1
    cap = commune.runtime.ctx.settings.outbox_max_backoff_s
    assert kept.next_attempt_at <= time.time() + cap


async def test_a_document_awaiting_its_files_for_weeks_waits_the_cap(
    pair: tuple[HubStack, Adapter, Adapter],
) -> None:
    _, _, district = pair
    row = AwaitingFiles(envelope_id="long-wait", sender_code="x", document_id="y",
                        body=b"<edXML/>", files=[], attempts=TRIED,
                        next_attempt_at=time.time() + LATER)  # fmt: skip
    async with transaction(district.runtime.sessions) as session:
        session.add(row)
    await district.runtime.workers.fetcher._postpone(row, HubUnavailable("hub away for weeks"))
    async with transaction(district.runtime.sessions) as session:
        kept = await session.scalar(select(AwaitingFiles).where(AwaitingFiles.id == row.id))
        await session.execute(delete(AwaitingFiles).where(AwaitingFiles.id == row.id))
    assert kept is not None and kept.attempts == TRIED + 1
    assert kept.last_error == "hub away for weeks"
    cap = district.runtime.ctx.settings.attachment_max_backoff_s
    assert kept.next_attempt_at <= time.time() + cap
