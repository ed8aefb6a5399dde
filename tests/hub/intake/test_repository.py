"""What routing reads of the documents a status or an action refers to, on PostgreSQL."""

from __future__ import annotations

import uuid

from hub.db import transaction
from hub.intake.repository import documents, known_documents
from hub.models import Delivery, Envelope
from schemas.model import BusinessDocType
from tests.hub.hub_stack import HubStack
from tests.hub.intake.conftest import COMMUNE_A, COMMUNE_B, DISTRICT

DOCUMENT_ID = f"{DISTRICT},2026/12/07,41/UBND-VP"


def envelope(sender: str, business_type: BusinessDocType = BusinessDocType.NEW) -> Envelope:
    return Envelope(
        envelope_id=str(uuid.uuid4()), kind="document", sender_code=sender,
        document_id=DOCUMENT_ID, business_type=int(business_type), sha256=uuid.uuid4().hex * 2,
        size=1, body=b"<edXML/>",
    )  # fmt: skip


async def test_known_documents_name_their_recipients_oldest_first(hub: HubStack) -> None:
    sent, undelivered = envelope(DISTRICT), envelope(COMMUNE_A)
    recall = envelope(DISTRICT, BusinessDocType.REVOCATION)  # carries the DocumentId, is not one
    async with transaction(hub.runtime.sessions) as session:
        session.add(sent)
        await session.flush()  # received_at is the transaction's start: one per transaction
        session.add_all([Delivery(envelope_pk=sent.id, recipient_code=code)
                         for code in (COMMUNE_A, COMMUNE_B)])  # fmt: skip
    async with transaction(hub.runtime.sessions) as session:
        session.add_all([undelivered, recall])
    async with hub.runtime.sessions() as session:
        every = await known_documents(session, DOCUMENT_ID, None)
        from_district = await known_documents(session, DOCUMENT_ID, DISTRICT)
        as_objects = await documents(session, DOCUMENT_ID, None)
        assert await known_documents(session, "no such document", None) == []
    assert [(d.id, d.sender_code, d.recipients) for d in every] == [
        (sent.id, DISTRICT, [COMMUNE_A, COMMUNE_B]), (undelivered.id, COMMUNE_A, []),
    ]  # fmt: skip
    assert [d.id for d in from_district] == [sent.id]
    assert [d.envelope_id for d in every] == [e.envelope_id for e in as_objects]
