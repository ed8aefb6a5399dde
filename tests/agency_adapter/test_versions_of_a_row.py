"""Two changes to one document at once (a request and the mailbox handler): the later one
fails instead of silently overwriting the earlier, on the real SQLite store."""

from __future__ import annotations

import pytest
from sqlalchemy.orm.exc import StaleDataError

from agency_adapter.db import transaction
from agency_adapter.models import Document
from tests.agency_adapter.store import Sessions, add_document


async def test_a_concurrent_change_to_the_same_document_is_refused(sessions: Sessions) -> None:
    stored = await add_document(sessions)
    async with sessions() as request, sessions() as mailbox:
        by_request = await request.get(Document, stored.id)
        by_mailbox = await mailbox.get(Document, stored.id)
        assert by_request is not None and by_mailbox is not None
        by_mailbox.state = "withdrawn"  # a recall, handled first
        await mailbox.commit()
        by_request.state = "accepted"  # the local system's 03, read before the recall
        with pytest.raises(StaleDataError):
            await request.commit()
    async with transaction(sessions) as session:
        kept = await session.get(Document, stored.id)
    assert kept is not None and kept.state == "withdrawn" and kept.version == 2
