"""Apply the adapter's Alembic migrations (migrations/adapter) to its store.

A running adapter runs this module as a child process (`schemas.migration_child`), so that
Alembic never stays in it; the tests import it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from schemas import migration_child

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations" / "adapter"


def _config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def _prepare(database_url: str) -> None:
    """A SQLite file's directory must exist before SQLite can create the file."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def upgrade(database_url: str, to: str = "head") -> None:
    """Bring the store to head, or to the revision `to` (blocking)."""
    _prepare(database_url)
    command.upgrade(_config(database_url), to)


def downgrade(database_url: str, to: str) -> None:
    """Take the store back to the revision `to` (blocking)."""
    command.downgrade(_config(database_url), to)


async def upgrade_async(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)


def revision(database_url: str, message: str, rev_id: str) -> None:
    """For developers: autogenerate a migration against an up-to-date database."""
    _prepare(database_url)
    command.revision(_config(database_url), message=message, autogenerate=True, rev_id=rev_id)


if __name__ == "__main__":
    migration_child.child_main(upgrade)
