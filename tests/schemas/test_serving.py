"""Serving processes start lean: `python -m hub` / `python -m agency_adapter`, what they
import, and how they fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# What a serving process must not hold: the migrations, the other service, the command line
# (click is not listed: uvicorn imports it), signxml (the tests' oracle only).
NOT_SERVING = {"alembic", "mako", "typer", "rich", "pygments", "signxml"}
# Imported by libraries only to see whether they may use them (see schemas/serving.py).
NEVER_USED = {"httpx._main", "pydantic.v1"}


def _loaded_by(module: str, unwanted: set[str]) -> list[str]:
    """Which of `unwanted` (top-level packages, or modules) importing `module` loads."""
    probe = (
        f"import json, sys; import {module};"
        "loaded = {n for n, m in sys.modules.items() if m is not None};"
        "names = loaded | {n.split('.')[0] for n in loaded};"
        "print(json.dumps(sorted(names & " + repr(unwanted) + ")))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout))


def _python_m(module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def test_the_serving_adapter_holds_neither_migrations_nor_hub_nor_command_line() -> None:
    assert _loaded_by("agency_adapter.__main__", NOT_SERVING | NEVER_USED | {"hub"}) == []


def test_the_serving_adapter_loads_no_sql_dialect_before_its_store_asks_for_it() -> None:
    """An index with options for one database (postgresql_where=...) in the models loads that
    dialect's modules into every adapter: 2.3 MB, for stores that are SQLite by default."""
    dialects = {"sqlalchemy.dialects.postgresql", "sqlalchemy.dialects.sqlite"}
    assert _loaded_by("agency_adapter.__main__", dialects) == []


def test_the_serving_hub_holds_neither_migrations_nor_adapter_nor_command_line() -> None:
    assert _loaded_by("hub.__main__", NOT_SERVING | NEVER_USED | {"agency_adapter"}) == []


def test_the_hub_builds_its_api_and_schema_without_the_modules_it_never_uses() -> None:
    """pydantic imports pydantic.v1 for a v1-style type; in a serving process that import
    fails, so every model of the API must do without it."""
    probe = (
        "import hub.__main__, sys\n"
        "from hub.api.app import create_app\n"
        "from hub.settings import HubSettings\n"
        "assert sys.modules['pydantic.v1'] is None\n"
        "print(' '.join(create_app(HubSettings()).openapi()['paths']))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={"PATH": "/usr/bin"}, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {"/v1/agencies", "/v1/attachments/{sha256}"} <= set(done.stdout.split())


def test_an_unknown_role_is_a_usage_error() -> None:
    done = _python_m("hub", "--role", "everything", env={"PATH": "/usr/bin"})
    assert done.returncode == 2
    assert "argument --role: invalid choice: 'everything'" in done.stderr


def test_an_adapter_without_settings_says_which_are_missing() -> None:
    done = _python_m("agency_adapter", env={"PATH": "/usr/bin"})
    assert done.returncode == 1
    assert done.stderr.startswith("lienthong adapter: bad LIENTHONG_ADAPTER_ settings")
    assert "LIENTHONG_ADAPTER_AGENCY_CODE: Field required" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_hub_whose_database_is_away_says_so_in_one_line() -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:1/lienthong_nowhere"  # nothing listens on 1
    done = _python_m("hub", env={"PATH": "/usr/bin", "LIENTHONG_DATABASE_URL": url})
    assert done.returncode == 1
    assert done.stderr.startswith("lienthong hub: migrating the database failed")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_folder_named_like_the_service_in_the_working_directory_is_not_run(
    tmp_path: Path,
) -> None:
    impostor = tmp_path / "hub"
    impostor.mkdir()
    (impostor / "__init__.py").write_text("")
    (impostor / "__main__.py").write_text("print('impostor')")
    become = "from schemas.serving import replace_with_service as r; r('hub', '--role', 'x')"
    done = subprocess.run([sys.executable, "-c", become], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert "impostor" not in done.stdout
    assert done.returncode == 2 and "argument --role: invalid choice: 'x'" in done.stderr


def test_ctrl_c_stops_a_service_quietly_with_status_130() -> None:
    interrupted = (
        "from schemas.serving import run_service\n"
        "async def work() -> None:\n"
        "    raise KeyboardInterrupt\n"
        "run_service(work, 'hub', 'LIENTHONG_')\n"
    )
    done = subprocess.run([sys.executable, "-c", interrupted], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 130 and done.stderr == ""
