"""What a clerk's page, the webhook's round and a scrape of the metrics read, as SQLite plans
it: an index, in the order asked for, never the whole history read or sorted (a007).
`lienthong adapter bench-store` times them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import ClauseElement

from agency_adapter.documents.repository import NEWEST_SENT, Search, page_query
from agency_adapter.lifecycle.repository import RECEIVED, REVISING
from agency_adapter.metrics import DOCUMENTS_BY_BOX_AND_STATE
from agency_adapter.models import Box
from agency_adapter.webhooks import UNDELIVERED
from tests.agency_adapter.store import Sessions, query_plan

PAGES = [
    (Box.INBOX, None, "ix_document_box_deadline"),  # the inbox's default: by deadline
    (Box.INBOX, "newest", "ix_document_box_created_at"),
    (Box.INBOX, "oldest", "ix_document_box_created_at"),
    (Box.OUTBOX, None, "ix_document_box_created_at"),  # the outbox's default: newest first
    (Box.OUTBOX, "oldest", "ix_document_box_created_at"),
    (Box.OUTBOX, "deadline", "ix_document_box_deadline"),
]


@pytest.mark.parametrize(("box", "sort", "index"), PAGES)
async def test_a_page_of_a_box_is_read_in_the_order_of_an_index(
    sessions: Sessions, box: Box, sort: str | None, index: str
) -> None:
    steps = await query_plan(sessions, page_query(Search(box=box, sort=sort)))
    assert any(f"USING INDEX {index} (box=?)" in step for step in steps), steps
    assert not any("TEMP B-TREE" in step for step in steps), steps  # no sort of the box


async def test_a_page_of_a_period_walks_only_that_period_of_the_index(sessions: Sessions) -> None:
    """A clerk's "since" and "until" narrow the walk; the order still comes from the index."""
    since, until = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    wanted = Search(box=Box.OUTBOX, sort="newest", since=since, until=until)
    steps = await query_plan(sessions, page_query(wanted))
    expected = "USING INDEX ix_document_box_created_at (box=? AND created_at>? AND created_at<?)"
    assert any(expected in step for step in steps), steps
    assert not any("TEMP B-TREE" in step for step in steps), steps


async def test_the_webhook_reads_only_the_events_it_has_still_to_send(sessions: Sessions) -> None:
    steps = await query_plan(sessions, UNDELIVERED)
    assert steps == ["SEARCH event USING INDEX ix_event_undelivered (webhook_delivered_at=?)"], (
        steps
    )


async def test_a_scrape_counts_documents_from_an_index_alone(sessions: Sessions) -> None:
    steps = await query_plan(sessions, DOCUMENTS_BY_BOX_AND_STATE)
    assert steps == ["SCAN document USING COVERING INDEX ix_document_box_state"], steps


LOOKUPS = [
    (NEWEST_SENT, "ix_document_document_id_box (document_id=? AND box=?)"),  # every status
    (RECEIVED, "ix_document_document_id_box (document_id=? AND box=?)"),  # recalls, versions
    (REVISING, "ix_document_revises_box (revises_document_id=? AND box=?)"),
]


@pytest.mark.parametrize(("statement", "index"), LOOKUPS, ids=["sent", "received", "revising"])
async def test_a_document_named_by_its_document_id_is_found_by_it(
    sessions: Sessions, statement: ClauseElement, index: str
) -> None:
    """Not by walking the box newest first, which the index for pages would let SQLite do."""
    steps = await query_plan(sessions, statement)
    assert steps == [f"SEARCH document USING INDEX {index}"], steps
