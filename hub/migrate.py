"""Apply the Alembic migrations in migrations/ (the only way the hub's schema changes).

The running hub migrates through `upgrade_in_child`, so that Alembic is imported only by this
module's short-lived child and by the commands that migrate in-process (`lienthong db upgrade`,
the benches, the tests); see `schemas.migration_child`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
from sqlalchemy.engine import make_url

from schemas import migration_child

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations" / "hub"


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - Alembic only where it migrates

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


async def ensure_database(database_url: str) -> bool:
    """Create the database the URL names if it does not exist yet; True when it was created.

    A development machine then needs nothing but a running PostgreSQL."""
    url = make_url(database_url)
    maintenance = url.set(database="postgres").render_as_string(hide_password=False)
    admin = await asyncpg.connect(maintenance.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", url.database):
            return False
        quoted = (url.database or "").replace('"', '""')
        await admin.execute(f'CREATE DATABASE "{quoted}"')
        return True
    finally:
        await admin.close()


def _apply(database_url: str, revision: str) -> None:
    from alembic import command  # noqa: PLC0415 - Alembic only where it migrates

    command.upgrade(alembic_config(database_url), revision)


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to `revision` (blocking; run it outside an event loop)."""
    asyncio.run(ensure_database(database_url))
    _apply(database_url, revision)


async def upgrade_async(database_url: str) -> None:
    """The same from async code: Alembic's env runs its own loop, so give it a thread."""
    await ensure_database(database_url)
    await asyncio.to_thread(_apply, database_url, "head")


async def upgrade_in_child(database_url: str) -> None:
    """The same in a child process: what the serving hub runs, leaving Alembic out of it."""
    await migration_child.upgrade_in_child(__name__, database_url)


if __name__ == "__main__":
    migration_child.child_main(upgrade)
