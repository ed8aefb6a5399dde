"""delivery: two indexes that wider ones already cover are dropped

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 16:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Each is the leading column of a wider index, which serves every look-up it served (and the
# foreign key's checks): envelope_pk of uq_delivery_envelope_pk (envelope_pk, recipient_code),
# recipient_code of ix_delivery_recipient_queued (recipient_code, queued_at). A delivery row
# is inserted, then updated with new entries in every index (its state and queued_at change,
# so the update cannot be HOT): 27-30 us of the server's CPU per delivery with them, 22-23.5
# without (20,000 rows in groups of 50, four rounds each, taking turns).
COVERED = {"ix_delivery_envelope_pk": "envelope_pk", "ix_delivery_recipient_code": "recipient_code"}


def _without_stalling_traffic() -> None:
    # Dropping or building an index locks the table, and the hub's traffic would queue
    # behind it: a hub upgraded while long transactions run fails, saying so, rather than stall.
    op.execute("SET LOCAL lock_timeout = '10s'")


def upgrade() -> None:
    _without_stalling_traffic()
    for name in COVERED:
        op.drop_index(name, table_name="delivery")


def downgrade() -> None:
    _without_stalling_traffic()
    for name, column in COVERED.items():
        op.create_index(name, "delivery", [column])
