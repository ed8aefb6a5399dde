"""Migrating in a child process: a store brought to head, a failure as one line, no Alembic
in the serving process."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
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


def _loaded_by_serving(group: str, module: str, unwanted: set[str]) -> list[str]:
    """Which of `unwanted` (top-level packages) `lienthong <group> serve` and `module` load."""
    probe = (
        f"import json, sys; sys.argv = ['lienthong', '{group}', 'serve'];"
        "import schemas.cli.main as m; m._register_commands(sys.argv);"
        f"import {module};"
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules} & " + repr(unwanted) + ")))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout))


def test_serving_an_adapter_loads_neither_alembic_nor_the_hub() -> None:
    modules = "agency_adapter.runtime, agency_adapter.api.app"
    assert _loaded_by_serving("adapter", modules, {"alembic", "mako", "hub"}) == []


def test_serving_the_hub_loads_neither_alembic_nor_the_adapter() -> None:
    unwanted = {"alembic", "mako", "agency_adapter"}
    assert _loaded_by_serving("hub", "hub.service_main", unwanted) == []
