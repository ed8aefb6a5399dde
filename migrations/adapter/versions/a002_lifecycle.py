"""lifecycle: recalls and deletions, tombstones, versions

Revision ID: a002
Revises: a001
Create Date: 2026-11-26 13:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a002"
down_revision = "a001"
branch_labels = None
depends_on = None

DOCUMENT_COLUMNS = [
    sa.Column("revises_document_id", sa.Text(), nullable=True),
    sa.Column("supersedes", sa.Uuid(), nullable=True),
    sa.Column("superseded_by", sa.Uuid(), nullable=True),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("removal_reason", sa.Text(), nullable=True),
    sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("version", sa.Integer(), server_default="1", nullable=False),
]


def upgrade() -> None:
    with op.batch_alter_table("document") as batch_op:
        for column in DOCUMENT_COLUMNS:
            batch_op.add_column(column)
        batch_op.create_index("ix_document_announced_at", ["announced_at"])
    # Documents received before this version were announced when they were stored.
    op.execute("UPDATE document SET announced_at = created_at")
    op.create_table(
        "recall",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("box", sa.String(length=8), nullable=False),
        sa.Column("envelope_id", sa.String(length=128), nullable=False),
        sa.Column("document_pk", sa.Uuid(), nullable=True),
        sa.Column("document_id", sa.Text(), nullable=False),
        sa.Column("sender_code", sa.String(length=64), nullable=False),
        sa.Column("counterpart", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "requested_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_pk"], ["document.id"], name=op.f("fk_recall_document_pk_document")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall")),
        sa.UniqueConstraint("box", "envelope_id", "counterpart", name=op.f("uq_recall_box")),
    )
    op.create_index("ix_recall_document_pk", "recall", ["document_pk"])
    op.create_index("ix_recall_target", "recall", ["sender_code", "document_id"])


def downgrade() -> None:
    op.drop_table("recall")
    with op.batch_alter_table("document") as batch_op:
        batch_op.drop_index("ix_document_announced_at")
        for column in reversed(DOCUMENT_COLUMNS):
            batch_op.drop_column(column.name)
