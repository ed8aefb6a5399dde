"""Telling the local system of received documents, once the mailbox has caught up.

A document is stored, and answered 01, as soon as it is taken from the mailbox; it is
announced (`document.received`) when no other mailbox message is waiting, or after
`MAX_HOLD_S` at most. A recall or deletion queued behind it (as when the adapter was stopped
and comes back to a full mailbox) is applied first, so a document deleted on mistake is never
announced and its content never reaches the local system.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from agency_adapter import events
from agency_adapter.documents.service import now
from agency_adapter.models import Box, Document
from schemas.pending_rows import table_of

MAX_HOLD_S = 2.0
STORED = "stored-unannounced"  # set in Session.info when a document waits to be announced
GONE = ("withdrawn", "deleted")
KINDS = {2: "update", 3: "replace"}
UNANNOUNCED = (  # built once (see db.py)
    select(Document)
    .where(Document.box == Box.INBOX, Document.announced_at.is_(None))
    .order_by(Document.created_at, Document.id)
    # Not the signed package, which can be megabytes and the announcement never reads.
    .options(defer(Document.body, raiseload=True))
)


class Told(NamedTuple):
    """What an announcement reads of a document."""

    id: uuid.UUID
    created_at: datetime
    state: str
    envelope_id: str
    sender_code: str
    subject: str | None
    business_type: int
    supersedes: uuid.UUID | None
    superseded_by: uuid.UUID | None


# The same documents marked announced in one statement, version bumped as the unit of work
# would (a request holding an older copy then fails its versioned update, as before). It
# returns columns, not objects: the claim runs in a session of its own, which holds none of
# these documents to bring up to date, and building objects cost more than the statement. A
# Core statement on the table: through the ORM the same UPDATE cost about twice the CPU.
_DOCUMENT = table_of(Document)
CLAIM = (
    update(_DOCUMENT)
    .where(_DOCUMENT.c.box == Box.INBOX, _DOCUMENT.c.announced_at.is_(None))
    .values(announced_at=bindparam("at"), version=_DOCUMENT.c.version + 1)
    .returning(*(_DOCUMENT.c[name] for name in Told._fields))
)


def _payload(document: Told) -> dict[str, object]:
    payload: dict[str, object] = {
        "envelope_id": document.envelope_id, "sender": document.sender_code,
        "subject": document.subject,
    }  # fmt: skip
    if document.business_type in KINDS:
        payload["kind"] = KINDS[document.business_type]
        payload["supersedes"] = str(document.supersedes) if document.supersedes else None
    if document.superseded_by is not None:  # stored after its newer version: not the live one
        payload["superseded_by"] = str(document.superseded_by)
    return payload


async def announce_waiting(session: AsyncSession) -> int:
    """Announce every received document not announced yet, in arrival order; those
    withdrawn or deleted meanwhile are settled without a word. Returns how many were told."""
    told = 0
    for document in await _claim_unannounced(session):
        if document.state not in GONE:
            await events.append_about(session, "document.received", document.id,
                                      _payload(document))  # fmt: skip
            told += 1
    return told


async def _claim_unannounced(session: AsyncSession) -> list[Told]:
    """The received documents not announced yet, marked announced, in arrival order. With
    UPDATE … RETURNING one statement marks them and reads what it marked (one UPDATE per
    document otherwise, at the flush); a SQLite older than 3.35 has no RETURNING."""
    at = now()
    if session.get_bind().dialect.update_returning:
        claimed = [Told(*row) for row in await session.execute(CLAIM, {"at": at})]
        return sorted(claimed, key=lambda document: (document.created_at, document.id))
    documents = list(await session.scalars(UNANNOUNCED))
    for document in documents:
        document.announced_at = at
    return [Told(*(getattr(document, name) for name in Told._fields)) for document in documents]
