"""Apply the Alembic migrations in migrations/ (the only way the hub's schema changes).

The serving hub, `lienthong db upgrade` and the bench run this module as a child process
(`schemas.migration_child`), so that Alembic never stays in them; the tests import it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from schemas import migration_child

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations" / "hub"


def alembic_config(database_url: str) -> Config:
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


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to `revision` (blocking; run it outside an event loop)."""
    asyncio.run(ensure_database(database_url))
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the database back to `revision` (blocking)."""
    command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str) -> None:
    """The same from async code: Alembic's env runs its own loop, so give it a thread."""
    await ensure_database(database_url)
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), "head")


if __name__ == "__main__":
    migration_child.child_main(upgrade)
