"""operations: kept dead letters, documents' code and notation, indexes for mailbox health

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("envelope", sa.Column("code_number", sa.Text(), nullable=True))
    op.add_column("envelope", sa.Column("code_notation", sa.Text(), nullable=True))
    op.create_index(
        "ix_delivery_recipient_queued", "delivery", ["recipient_code", "queued_at"], unique=False
    )
    # The dashboard's counts per hour.
    op.create_index("ix_envelope_received", "envelope", ["received_at"])
    op.create_index("ix_delivery_queued", "delivery", ["queued_at"])
    op.create_index("ix_quarantine_received", "quarantine", ["received_at"])
    op.create_index(
        "ix_timeline_event_reporter",
        "timeline_event",
        ["recipient_code", "status_code", "at"],
        unique=False,
    )
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=True),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("queue", sa.Text(), nullable=True),
        sa.Column("exchange", sa.Text(), nullable=True),
        sa.Column("routing_key", sa.Text(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=80), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_dead_letter_fingerprint")),
    )
    op.create_index(op.f("ix_dead_letter_message_id"), "dead_letter", ["message_id"], unique=False)
    op.create_index("ix_dead_letter_state", "dead_letter", ["state", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_dead_letter_state", table_name="dead_letter")
    op.drop_index(op.f("ix_dead_letter_message_id"), table_name="dead_letter")
    op.drop_table("dead_letter")
    op.drop_index("ix_timeline_event_reporter", table_name="timeline_event")
    op.drop_index("ix_delivery_recipient_queued", table_name="delivery")
    op.drop_index("ix_quarantine_received", table_name="quarantine")
    op.drop_index("ix_delivery_queued", table_name="delivery")
    op.drop_index("ix_envelope_received", table_name="envelope")
    op.drop_column("envelope", "code_notation")
    op.drop_column("envelope", "code_number")
