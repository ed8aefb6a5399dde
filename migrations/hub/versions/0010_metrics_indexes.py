"""metrics indexes: the first 01s by time, and the deletions by envelope

`/metrics` counted every envelope and every first 01 of the hub's history at each scrape
(4.2-4.7 s with a million envelopes). It now keeps what has settled and counts only what was
stamped since (hub/tally.py): the first 01s by their time, and whether a revocation deletes by
its envelope id, through two partial indexes, small beside the table.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ANSWERS = sa.text("event = 'status' AND status_code = '01'")
DELETIONS = sa.text("event = 'delete-requested'")


def _lock_or_fail() -> None:
    # Building or dropping an index locks the table against writes. A hub upgraded while a
    # long transaction holds the table fails, saying so, instead of waiting with its traffic
    # queued behind; once taken, the lock is held while the indexes are built (partial ones:
    # under a second in all for a million rows of timeline_event, on the development machine).
    op.execute("SET LOCAL lock_timeout = '10s'")


def upgrade() -> None:
    _lock_or_fail()
    op.create_index("ix_timeline_event_answers", "timeline_event", ["at"], postgresql_where=ANSWERS)
    op.create_index(
        "ix_timeline_event_deletions", "timeline_event", ["source_envelope_id"],
        postgresql_where=DELETIONS,
    )  # fmt: skip


def downgrade() -> None:
    _lock_or_fail()
    op.drop_index("ix_timeline_event_deletions", table_name="timeline_event")
    op.drop_index("ix_timeline_event_answers", table_name="timeline_event")
