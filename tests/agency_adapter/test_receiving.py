"""Mailbox messages stored together in one transaction on the adapter's SQLite store: first
versions and received statuses go as plain rows (schemas.pending_rows), and a deletion in the
same group still finds the document it deletes."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select, text

from agency_adapter.broker import Delivered
from agency_adapter.context import AdapterContext
from agency_adapter.db import transaction
from agency_adapter.models import Box, Document, Event, Outbox, StatusRecord
from agency_adapter.receiving import Verified, take_all, verified
from agency_adapter.settings import AdapterSettings
from schemas.keys import SigningIdentity
from schemas.model import (
    Business,
    BusinessDocType,
    DocumentPackage,
    LienthongInfo,
    Package,
    ResponseFor,
    StatusCode,
    StatusPackage,
)
from schemas.signing import sign_tree
from schemas.writer import package_tree
from tests.agency_adapter.store import Sessions
from tests.schemas.factories import agency, fresh_ca
from tests.schemas.packages import COMMUNE, DISTRICT, document, organization, status

SENT_ID = f"{DISTRICT},2026/11/26,7/UBND-VP"  # a document the district sent the commune


def envelope(identity: SigningIdentity, package: Package) -> Delivered:
    return Delivered(sign_tree(package_tree(package), identity), None)


def first_version(number: int) -> DocumentPackage:
    return document(
        document_id=f"{COMMUNE},2026/11/26,{number}/UBND-VP", subject=f"Văn bản số {number}",
        lienthong=LienthongInfo(envelope_id=f"van-ban-{number}"),
    )  # fmt: skip


def update_of(original: DocumentPackage) -> DocumentPackage:
    """A new version (BussinessDocType 2) of a document `first_version` made."""
    assert original.lienthong is not None
    return document(
        document_id=original.document_id, subject=f"{original.subject} (sửa đổi)",
        business=Business(doc_type=BusinessDocType.UPDATE, reason="Sửa số liệu",
                          document_id=original.document_id),
        lienthong=LienthongInfo(envelope_id=f"sua-{original.lienthong.envelope_id}"),
    )  # fmt: skip


def deletion_of(document_id: str) -> DocumentPackage:
    return document(
        document_id=document_id, attachments=(),
        business=Business(doc_type=BusinessDocType.REVOCATION, reason="Gửi nhầm",
                          document_id=document_id),
        lienthong=LienthongInfo(envelope_id="xoa-nham", delete_on_mistake=True),
    )  # fmt: skip


def answer_to_sent() -> StatusPackage:
    return status(
        StatusCode.ARRIVED, sender=organization(COMMUNE),
        response_for=ResponseFor(organ_id=DISTRICT, document_id=SENT_ID),
        lienthong=LienthongInfo(envelope_id="da-den"),
    )  # fmt: skip


async def sent_document(sessions: Sessions) -> uuid.UUID:
    sent = Document(
        box=Box.OUTBOX, envelope_id="gui-di", document_id=SENT_ID, sender_code=DISTRICT,
        recipients=[COMMUNE], state="sent", body=b"<edXML/>",
    )  # fmt: skip
    async with transaction(sessions) as session:
        session.add(sent)
    return sent.id


async def test_a_group_of_new_documents_a_status_and_a_deletion_is_stored_in_order(
    sessions: Sessions, tmp_path: Path
) -> None:
    ca = fresh_ca()
    sender = agency(ca, COMMUNE)
    settings = AdapterSettings(agency_code=DISTRICT, attachment_dir=tmp_path / "files")
    ctx = AdapterContext(settings, agency(ca, DISTRICT), (ca.certificate,))
    sent_pk = await sent_document(sessions)
    first, second = first_version(1), first_version(2)
    packages: list[Package] = [first, second, answer_to_sent(), deletion_of(str(first.document_id))]
    messages: list[Verified] = [verified(ctx, envelope(sender, p)) for p in packages]
    async with transaction(sessions) as session:
        assert await take_all(session, ctx, messages) == [False] * 4
    async with sessions() as session:
        inbox = {d.envelope_id: d for d in await session.scalars(
            select(Document).where(Document.box == Box.INBOX)
        )}  # fmt: skip
        records = (await session.execute(
            select(StatusRecord.document_pk, StatusRecord.agency_code, StatusRecord.code)
            .order_by(StatusRecord.id)
        )).all()  # fmt: skip
        outbox = list(await session.scalars(select(Outbox.body).order_by(Outbox.id)))
        told = list(await session.scalars(select(Event.type).order_by(Event.seq)))
        broken = (await session.execute(text("PRAGMA foreign_key_check"))).all()
    deleted, kept = inbox["van-ban-1"], inbox["van-ban-2"]
    assert deleted.deleted_at is not None and deleted.body == b""  # purged in the same group
    assert kept.state == "received" and kept.subject == "Văn bản số 2"
    assert [tuple(r) for r in records] == [
        (deleted.id, DISTRICT, "01"), (kept.id, DISTRICT, "01"), (sent_pk, COMMUNE, "01"),
        (deleted.id, DISTRICT, "15"),
    ]  # fmt: skip
    # The outbox holds the 01s, then the 15 that confirms the deletion, in that order.
    assert all(outbox)  # statuses carry their own package
    codes = [body.split(b"<edXML:StatusCode>")[1][:2] for body in outbox if body]
    assert codes == [b"01", b"01", b"15"]
    assert told[0] == "status.received" and broken == []
