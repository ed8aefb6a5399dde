"""attachments: which files in the hub's attachment store each envelope carries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "envelope_attachment",
        sa.Column("envelope_pk", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["envelope_pk"],
            ["envelope.id"],
            name=op.f("fk_envelope_attachment_envelope_pk_envelope"),
        ),
        sa.PrimaryKeyConstraint("envelope_pk", "sha256", name=op.f("pk_envelope_attachment")),
    )
    op.create_index(
        op.f("ix_envelope_attachment_sha256"), "envelope_attachment", ["sha256"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_envelope_attachment_sha256"), table_name="envelope_attachment")
    op.drop_table("envelope_attachment")
