"""signed packages compressed with lz4 where the server has it, not pglz

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 13:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The columns that hold whole signed packages (a 10 KB document's is about 18 KB). PostgreSQL
# compresses such values before storing them; with pglz, its default, that was about a tenth
# of the server's CPU in `lienthong bench` (perf: pglz_compress on top), and it saves next to
# nothing: most of a package is base64 and a signature. Inserting a 16 KB package cost the
# server 153-173 us of CPU with pglz, 57-60 us with lz4. Values written before keep theirs.
BODIES = (("envelope", "body"), ("quarantine", "body"), ("dead_letter", "body"))

# PostgreSQL 14 and later, built with lz4 (Debian's and most others are); else nothing changes.
_LZ4_AVAILABLE = (
    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
)


def _set_compression(method: str) -> None:
    if not op.get_bind().exec_driver_sql(_LZ4_AVAILABLE).scalar():
        return
    # Each ALTER waits for the table's lock, and the hub's traffic would queue behind it: a
    # hub upgraded while long transactions run fails, saying so, rather than stall them.
    op.execute("SET LOCAL lock_timeout = '10s'")
    for table, column in BODIES:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("default")
