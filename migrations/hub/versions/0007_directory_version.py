"""directory version: a counter every change to agencies, certificates or groups bumps

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 20:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DIRECTORY_TABLES = ("agency", "agency_certificate", "agency_group")

# The intake keeps the directory in memory and reads only this counter per message. A trigger,
# not the hub's code, bumps it, so that a change made any way (the CLI, the API, psql) is seen.
# The bump is part of the changing transaction: readers see the new counter and the new rows at
# the same commit.
_BUMP = """
CREATE FUNCTION bump_directory_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(
        "CREATE TABLE directory_version ("
        " id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL)"
    )
    op.execute("INSERT INTO directory_version (id, version) VALUES (1, 1)")
    op.execute(_BUMP)
    for table in DIRECTORY_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_bumps_directory_version"
            f" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version()"
        )


def downgrade() -> None:
    for table in DIRECTORY_TABLES:
        op.execute(f"DROP TRIGGER {table}_bumps_directory_version ON {table}")
    op.execute("DROP FUNCTION bump_directory_version()")
    op.execute("DROP TABLE directory_version")
