"""audit_entry: no unique index on hash

Each document adds four audit entries, and the unique index on their SHA-256 hashes put each
on a random page of an index that, after a few years, is the hub's largest (four million
entries for a million documents). With a million documents of history it cost 11.8 KB of
WAL and 1.7 blocks read from outside PostgreSQL's cache per envelope accepted (`lienthong
hub bench-intake --history 1000000`: 33.2 -> 21.4 KB, 4.75 -> 3.06 blocks). Nothing looks an
entry up by its hash, and the index proved nothing about the chain: entries are chained
under an advisory lock (audit_chain_head), and `lienthong audit verify` recomputes every hash
from the one before it, so a copied, changed or inserted entry breaks the chain there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 01:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _lock_or_fail() -> None:
    # A hub upgraded while a long transaction holds the table fails, saying so, instead of
    # waiting with its traffic queued behind.
    op.execute("SET LOCAL lock_timeout = '10s'")


def upgrade() -> None:
    _lock_or_fail()
    op.drop_constraint("uq_audit_entry_hash", "audit_entry", type_="unique")


def downgrade() -> None:
    _lock_or_fail()
    op.create_unique_constraint("uq_audit_entry_hash", "audit_entry", ["hash"])
