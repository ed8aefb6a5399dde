"""indexes for pages: a page of a box, the webhook's round and a metrics scrape read only
their own rows

A clerk's page of the inbox or the outbox was a sort of every document in the box: each time,
SQLite read every row, packages included (the columns after `body` are stored after it), about
60 MB for a store of 10,000 documents of 10 KB. The box's orders are indexes now, newest or
oldest first (box, created_at, id) and the inbox's deadline order; a page reads its own rows.
SQLite would then walk (box, created_at, id) for what looks a DocumentId up in a box (every
status received does), sparing a sort over the index on the DocumentId alone: that one gives
way to (document_id, box, created_at), and the versions' (revises_document_id, box,
created_at) joins it. The webhook found the events it has still to send by reading the feed
from its start; they are found in an index on (webhook_delivered_at, seq) now. A scrape of the
metrics counted documents by box and state by reading every one (41 MB for 10,000); an index
on (box, state) holds all it needs.

Revision ID: a007
Revises: a006
Create Date: 2026-12-07 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a007"
down_revision = "a006"
branch_labels = None
depends_on = None


_BY_DOCUMENT_ID = {
    "ix_document_document_id_box": ["document_id", "box", "created_at"],
    "ix_document_revises_box": ["revises_document_id", "box", "created_at"],
}


def upgrade() -> None:
    op.create_index("ix_document_box_created_at", "document", ["box", "created_at", "id"])
    for name, columns in _BY_DOCUMENT_ID.items():
        op.create_index(name, "document", columns)
    op.drop_index("ix_document_document_id", table_name="document")
    op.create_index("ix_document_box_state", "document", ["box", "state"])
    deadline = [
        sa.column("box"), sa.text("(due_date IS NULL)"), sa.column("due_date"),
        sa.text("priority DESC"), sa.column("created_at"), sa.column("id"),
    ]  # fmt: skip
    op.create_index("ix_document_box_deadline", "document", deadline)
    op.create_index("ix_event_undelivered", "event", ["webhook_delivered_at", "seq"])


def downgrade() -> None:
    op.create_index("ix_document_document_id", "document", ["document_id"])
    for name in _BY_DOCUMENT_ID:
        op.drop_index(name, table_name="document")
    op.drop_index("ix_event_undelivered", table_name="event")
    op.drop_index("ix_document_box_deadline", table_name="document")
    op.drop_index("ix_document_box_created_at", table_name="document")
    op.drop_index("ix_document_box_state", table_name="document")
