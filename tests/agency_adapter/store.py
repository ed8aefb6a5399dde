"""An adapter's store on its own, for tests of what happens inside it."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agency_adapter.db import transaction
from agency_adapter.models import Document

Sessions = async_sessionmaker[AsyncSession]


async def add_document(sessions: Sessions) -> Document:
    document = Document(
        box="inbox", envelope_id=str(uuid.uuid4()), sender_code="000.04.29.H40",
        recipients=["000.00.29.H40"], state="received", body=b"<edXML/>",
    )  # fmt: skip
    async with transaction(sessions) as session:
        session.add(document)
    return document
