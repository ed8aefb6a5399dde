"""external files: attachments kept in the attachment store, outside their packages

Revision ID: a003
Revises: a002
Create Date: 2026-11-27 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a003"
down_revision = "a002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_pk", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_pk"], ["document.id"], name=op.f("fk_external_file_document_pk_document")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_file")),
    )
    op.create_index("ix_external_file_document_pk", "external_file", ["document_pk"])
    op.create_index("ix_external_file_sha256", "external_file", ["sha256"])


def downgrade() -> None:
    op.drop_table("external_file")
