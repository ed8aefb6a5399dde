"""indexes for pages: a page of a box and the webhook's round read only their own rows

A clerk's page of the inbox or the outbox was a sort of every document in the box: each time,
SQLite read every row, packages included (the columns after `body` are stored after it), about
60 MB for a store of 10,000 documents of 10 KB. The box's orders are indexes now, newest or
oldest first (box, created_at, id) and the inbox's deadline order; a page reads its own rows.
The webhook found the events it has still to send by reading the feed from its start; they
are found in an index on (webhook_delivered_at, seq) now. A scrape of the metrics counted the documents by box and state
by reading every one (41 MB for 10,000); an index on (box, state) holds all it needs.

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


def upgrade() -> None:
    op.create_index("ix_document_box_created_at", "document", ["box", "created_at", "id"])
    op.create_index("ix_document_box_state", "document", ["box", "state"])
    deadline = [
        sa.column("box"), sa.text("(due_date IS NULL)"), sa.column("due_date"),
        sa.text("priority DESC"), sa.column("created_at"), sa.column("id"),
    ]  # fmt: skip
    op.create_index("ix_document_box_deadline", "document", deadline)
    op.create_index("ix_event_undelivered", "event", ["webhook_delivered_at", "seq"])


def downgrade() -> None:
    op.drop_index("ix_event_undelivered", table_name="event")
    op.drop_index("ix_document_box_deadline", table_name="document")
    op.drop_index("ix_document_box_created_at", table_name="document")
    op.drop_index("ix_document_box_state", table_name="document")
