"""audit chain head: take the chain's lock and read its last hash in one round trip

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# VOLATILE, so that under READ COMMITTED the SELECT takes a fresh snapshot once the lock is
# granted and sees the entry the previous holder committed (a SELECT in the same statement as
# the lock would not: its snapshot predates the wait).
_FUNCTION = """
CREATE FUNCTION audit_chain_head(chain_lock bigint) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head text;
BEGIN
    PERFORM pg_advisory_xact_lock(chain_lock);
    SELECT hash INTO head FROM audit_entry ORDER BY id DESC LIMIT 1;
    RETURN head;
END
$$
"""


def upgrade() -> None:
    op.execute(_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION audit_chain_head(bigint)")
