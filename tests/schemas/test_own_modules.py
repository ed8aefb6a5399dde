"""Services run with -OO; lienthong's own modules are still compiled whole (docstrings, asserts)."""

from __future__ import annotations

import json
import subprocess
import sys

# Run in a fresh interpreter, as `python -OO -P -m hub` runs: what the serving modules hold.
PROBE = """
import dis, json, sys
import {main}
from {app} import _error
import sqlalchemy
asserts = any(step.opname == "LOAD_ASSERTION_ERROR" for step in dis.get_instructions(_error))
print(json.dumps({{
    "optimize": sys.flags.optimize,
    "library_doc": sqlalchemy.select.__doc__,
    "own_doc": sys.modules["{app}"].__doc__,
    "own_asserts": asserts,
}}))
"""


def _probe(*flags: str, main: str, app: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, *flags, "-P", "-c", PROBE.format(main=main, app=app)],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_under_minus_oo_the_hub_drops_library_docstrings_and_keeps_its_own() -> None:
    held = _probe("-OO", main="hub.__main__", app="hub.api.app")
    assert held["optimize"] == 2 and held["library_doc"] is None
    assert held["own_doc"] and held["own_asserts"] is True


def test_under_minus_oo_the_adapter_drops_library_docstrings_and_keeps_its_own() -> None:
    held = _probe("-OO", main="agency_adapter.__main__", app="agency_adapter.api.app")
    assert held["optimize"] == 2 and held["library_doc"] is None
    assert held["own_doc"] and held["own_asserts"] is True


def test_without_minus_o_nothing_changes_how_modules_load() -> None:
    held = _probe(main="hub.__main__", app="hub.api.app")
    assert held["optimize"] == 0 and held["library_doc"] and held["own_asserts"] is True
    listed = subprocess.run(
        [sys.executable, "-P", "-c", "import sys, hub.__main__; "
         "print(any(type(f).__name__ == 'OwnModulesFinder' for f in sys.meta_path))"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert listed.stdout.strip() == "False"
