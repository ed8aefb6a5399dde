"""Services run with -OO; lienthong's own modules are still compiled whole (docstrings, asserts)."""

from __future__ import annotations

import json
import os
import py_compile
import subprocess
import sys
from importlib.util import cache_from_source
from pathlib import Path
from typing import Any

from schemas.own_modules import WholeSourceLoader

# Run in a fresh interpreter, as `python -OO -P -m hub` runs: what the serving modules hold.
PROBE = """
import dis, json, sys
import {main}
from {app} import _error
import sqlalchemy
asserts = any(step.opname == "LOAD_ASSERTION_ERROR" for step in dis.get_instructions(_error))
own = {{name: module for name, module in sys.modules.items()
        if name.partition(".")[0] in ("hub", "agency_adapter", "schemas")}}
print(json.dumps({{
    "optimize": sys.flags.optimize,
    "library_doc": sqlalchemy.select.__doc__,
    "own_doc": sys.modules["{app}"].__doc__,
    "own_asserts": asserts,
    "not_whole": sorted(name for name, module in own.items()
                        if type(module.__spec__.loader).__name__ != "WholeSourceLoader"),
}}))
"""
# Loaded before the finder is in place: compiled at -OO like the libraries.
FIRST = ["schemas", "schemas.own_modules"]


def _probe(*flags: str, main: str, app: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, *flags, "-P", "-c", PROBE.format(main=main, app=app)],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    held: dict[str, Any] = json.loads(done.stdout)
    return held


def test_under_minus_oo_the_hub_drops_library_docstrings_and_keeps_its_own() -> None:
    held = _probe("-OO", main="hub.__main__", app="hub.api.app")
    assert held["optimize"] == 2 and held["library_doc"] is None
    assert held["own_doc"] and held["own_asserts"] is True
    assert held["not_whole"] == sorted(["hub", "hub.__main__", *FIRST])


def test_under_minus_oo_the_adapter_drops_library_docstrings_and_keeps_its_own() -> None:
    held = _probe("-OO", main="agency_adapter.__main__", app="agency_adapter.api.app")
    assert held["optimize"] == 2 and held["library_doc"] is None
    assert held["own_doc"] and held["own_asserts"] is True
    assert held["not_whole"] == sorted(["agency_adapter", "agency_adapter.__main__", *FIRST])


def test_without_minus_o_nothing_changes_how_modules_load() -> None:
    held = _probe(main="hub.__main__", app="hub.api.app")
    assert held["optimize"] == 0 and held["library_doc"] and held["own_asserts"] is True
    assert "hub.api.app" in held["not_whole"]  # loaded as Python loads any module


def test_a_second_copy_of_the_finder_does_not_ask_the_first_without_end() -> None:
    probe = ("import importlib, sys, schemas.own_modules as own\n"
             "own.compile_own_modules_whole()\n"
             "sys.meta_path.insert(0, importlib.reload(own).OwnModulesFinder())\n"
             "import hub.settings\n"
             "print(hub.settings.__spec__.loader.__class__.__name__)\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-OO", "-P", "-c", probe], capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "WholeSourceLoader"


def _loaded_value(source: Path) -> object:
    namespace: dict[str, object] = {}
    exec(WholeSourceLoader("probe", str(source)).get_code("probe"), namespace)  # noqa: S102
    return namespace["value"]


def test_the_level_0_bytecode_file_is_read_while_it_matches_the_source(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text("value = 'compiled'\n")
    py_compile.compile(str(source), cfile=cache_from_source(str(source), optimization=""))
    stat = source.stat()
    source.write_text("value = 'source!!'\n")  # same size; the old time put back
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert _loaded_value(source) == "compiled"  # the file was read, not the source
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    assert _loaded_value(source) == "source!!"  # stale: compiled from the source


def test_a_module_is_compiled_whole_when_its_bytecode_file_is_missing_or_for_minus_oo(
    tmp_path: Path,
) -> None:
    source = tmp_path / "probe.py"
    source.write_text('"""Described."""\nvalue = __doc__\n')
    assert _loaded_value(source) == "Described."
    # a file the interpreter wrote for -OO (no docstrings) is never taken
    py_compile.compile(str(source), cfile=cache_from_source(str(source), optimization=2),
                       optimize=2)  # fmt: skip
    assert _loaded_value(source) == "Described."
