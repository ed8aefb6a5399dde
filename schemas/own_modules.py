"""lienthong's own modules, compiled whole in a service that runs with -OO.

A serving process runs with -OO (see `schemas.serving`): its libraries' docstrings, 4.6 MB of
a hub's memory (half of it SQLAlchemy's), are never loaded. lienthong's own modules keep
theirs, because the API's documentation at /docs is made of them, and their asserts, so that
the code that serves is the code the tests ran. A service's `__main__` calls
`compile_own_modules_whole` first; only what is loaded before it (the `hub` or
`agency_adapter` package, `__main__` itself, `schemas` and this module) is compiled at -OO.
Each start compiles lienthong's own modules from source (about 60 ms of CPU).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec, SourceFileLoader
from types import CodeType, ModuleType

OWN_PACKAGES = frozenset({"hub", "agency_adapter", "schemas"})


class WholeSourceLoader(SourceFileLoader):
    """Compiles from source at optimization level 0, whatever -O says. No bytecode cache: the
    interpreter's (named for -OO) could hold a copy compiled without docstrings."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        return compile(self.get_data(path), path, "exec", dont_inherit=True, optimize=0)


class OwnModulesFinder(MetaPathFinder):
    """Finds lienthong's modules as the other finders would, then loads them whole."""

    # Marks every such finder, even one of a reloaded copy of this module: each skips the
    # others when it asks around, instead of asking them back without end.
    loads_own_modules_whole = True

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:  # fmt: skip
        if fullname.partition(".")[0] not in OWN_PACKAGES:
            return None
        spec = _found_by_the_others(fullname, path, target)
        if spec is not None and type(spec.loader) is SourceFileLoader and spec.origin:
            spec.loader = WholeSourceLoader(fullname, spec.origin)
            spec.cached = None  # no bytecode file is read or written for it
        return spec


def _ours(finder: object) -> bool:
    return bool(getattr(finder, "loads_own_modules_whole", False))


def _found_by_the_others(fullname: str, path: Sequence[str] | None,
                         target: ModuleType | None) -> ModuleSpec | None:  # fmt: skip
    for other in sys.meta_path:
        if not _ours(other) and hasattr(other, "find_spec"):
            spec: ModuleSpec | None = other.find_spec(fullname, path, target)
            if spec is not None:
                return spec
    return None


def compile_own_modules_whole() -> None:
    """From now on, lienthong's modules are compiled with docstrings and asserts (once)."""
    if sys.flags.optimize and not any(_ours(finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, OwnModulesFinder())
