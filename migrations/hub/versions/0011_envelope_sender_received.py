"""envelope: the index on sender_code widened to (sender_code, received_at newest first)

The dashboard's agencies page shows each agency's last activity, its newest envelope. It read
every envelope of the history to find them (148 ms with a million, growing with the hub's
age); through this index each agency's newest is the first entry for its code. It replaces
the index on sender_code alone, which it serves as well (its leading column), so an
envelope's insert maintains as many indexes as before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _lock_or_fail() -> None:
    # Building an index locks the table against writes. A hub upgraded while a long
    # transaction holds the table fails, saying so, instead of waiting with its traffic queued
    # behind; once taken, the lock is held while the index is built.
    op.execute("SET LOCAL lock_timeout = '10s'")


# Newest first, nulls last: an order that ix_envelope_received (walked backwards: nulls first)
# cannot give. With the same order as the plain (sender_code, received_at), PostgreSQL chose
# to walk ix_envelope_received from the newest envelope until one came from the agency: the
# whole history for an agency that sent nothing lately.
NEWEST_LAST = ["sender_code", sa.text("received_at DESC NULLS LAST")]


def upgrade() -> None:
    _lock_or_fail()
    op.create_index("ix_envelope_sender_received", "envelope", NEWEST_LAST)
    op.drop_index("ix_envelope_sender_code", table_name="envelope")


def downgrade() -> None:
    _lock_or_fail()
    op.create_index("ix_envelope_sender_code", "envelope", ["sender_code"])
    op.drop_index("ix_envelope_sender_received", table_name="envelope")
