"""outbox body once: a sent document's outbox row holds no copy of its package

The relay publishes the document's own body (same envelope id); a status, recall or deletion
keeps its package in its outbox row. Rows written before keep their copy only until this
runs: where it equals the document's body it is dropped, halving what a sent document takes.
On SQLite, freeing them writes about as much as they took (secure_delete zeroes the freed
pages), in the migration's one transaction: the disk needs that much room while it runs.

Revision ID: a005
Revises: a004
Create Date: 2026-12-07 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a005"
down_revision = "a004"
branch_labels = None
depends_on = None


_EMPTY = {"empty": b""}


def upgrade() -> None:
    # The copies are emptied first (the column still refuses NULL): SQLite rebuilds the table
    # to let it hold NULL, and should not copy every package on the way.
    emptied = sa.text(
        "UPDATE outbox SET body = :empty WHERE body = "
        "(SELECT d.body FROM document d WHERE d.envelope_id = outbox.envelope_id)"
    )
    op.execute(emptied.bindparams(**_EMPTY))
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column("body", existing_type=sa.LargeBinary(), nullable=True)
    nulled = sa.text(
        "UPDATE outbox SET body = NULL WHERE body = :empty AND EXISTS "
        "(SELECT 1 FROM document d WHERE d.envelope_id = outbox.envelope_id)"
    )
    op.execute(nulled.bindparams(**_EMPTY))


def downgrade() -> None:
    op.execute(
        "UPDATE outbox SET body = "
        "(SELECT d.body FROM document d WHERE d.envelope_id = outbox.envelope_id) "
        "WHERE body IS NULL"
    )
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column("body", existing_type=sa.LargeBinary(), nullable=False)
