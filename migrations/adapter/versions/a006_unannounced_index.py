"""unannounced index: one index on document (box, announced_at, created_at, id) instead of one
on box and one on announced_at

Every received document is announced by one UPDATE on the documents of the inbox not yet
announced (box = 'inbox' AND announced_at IS NULL). With an index on each column, SQLite's
planner (it has no statistics) took the one on box, so each announcement read every document
ever received: an inbox of 5,000 documents cost about 1,500 page reads per document. With
both columns leading one index the waiting documents are found directly, in arrival order
(created_at, id). The index serves what asked for the box alone as well, so the two
single-column indexes go.

Revision ID: a006
Revises: a005
Create Date: 2026-12-07 21:30:00
"""

from __future__ import annotations

from alembic import op

revision = "a006"
down_revision = "a005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_document_box_announced_at", "document", ["box", "announced_at", "created_at", "id"]
    )
    op.drop_index("ix_document_box", table_name="document")
    op.drop_index("ix_document_announced_at", table_name="document")


def downgrade() -> None:
    op.create_index("ix_document_announced_at", "document", ["announced_at"])
    op.create_index("ix_document_box", "document", ["box"])
    op.drop_index("ix_document_box_announced_at", table_name="document")
