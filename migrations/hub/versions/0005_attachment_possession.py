"""attachment possession: which agencies uploaded the bytes of each stored file themselves

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachment_possession",
        sa.Column("agency_code", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("agency_code", "sha256", name=op.f("pk_attachment_possession")),
    )
    op.create_index(
        op.f("ix_attachment_possession_sha256"), "attachment_possession", ["sha256"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_attachment_possession_sha256"), table_name="attachment_possession")
    op.drop_table("attachment_possession")
