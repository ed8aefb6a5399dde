"""Apply the adapter's Alembic migrations (migrations/adapter) to its store."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

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


async def upgrade_async(database_url: str) -> None:
    _prepare(database_url)
    await asyncio.to_thread(command.upgrade, _config(database_url), "head")


def revision(database_url: str, message: str, rev_id: str) -> None:
    """For developers: autogenerate a migration against an up-to-date database."""
    _prepare(database_url)
    command.revision(_config(database_url), message=message, autogenerate=True, rev_id=rev_id)
