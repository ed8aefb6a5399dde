"""awaiting files: received documents whose files are still being fetched from the hub

Revision ID: a004
Revises: a003
Create Date: 2026-11-28 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a004"
down_revision = "a003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "awaiting_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("envelope_id", sa.String(length=128), nullable=False),
        sa.Column("sender_code", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awaiting_files")),
        sa.UniqueConstraint("envelope_id", name=op.f("uq_awaiting_files_envelope_id")),
    )
    op.create_index("ix_awaiting_files_document", "awaiting_files", ["sender_code", "document_id"])


def downgrade() -> None:
    op.drop_table("awaiting_files")
