"""Migrating in a child process: a store brought to head, a failure as one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from schemas.migration_child import MigrationFailed, upgrade_in_child


async def test_the_child_brings_an_adapter_store_to_head(tmp_path: Path) -> None:
    store = tmp_path / "nested" / "adapter.db"
    await upgrade_in_child("agency_adapter.migrate", f"sqlite+aiosqlite:///{store}")
    with sqlite3.connect(store) as db:
        version = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert version is not None and version[0]


async def test_a_failed_migration_is_one_line_naming_the_cause() -> None:
    with pytest.raises(MigrationFailed) as caught:
        await upgrade_in_child("agency_adapter.migrate", "nosuchdialect://nowhere/x")
    assert "migrating the database failed" in str(caught.value)
    assert "nosuchdialect" in str(caught.value)
    assert "Traceback" not in str(caught.value)
