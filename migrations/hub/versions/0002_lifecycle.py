"""lifecycle: the document a recall, deletion, update or replacement acts on

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("envelope", sa.Column("target_document_id", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("envelope", "target_document_id")
