"""lienthong's own modules, compiled whole in a service that runs with -OO.

A serving process runs with -OO (see `schemas.serving`): its libraries' docstrings, 4.6 MB of
a hub's memory (half of it SQLAlchemy's), are never loaded. lienthong's own modules keep
theirs, because the API's documentation at /docs is made of them, and their asserts, so that
the code that serves is the code the tests ran. Call `compile_own_modules_whole` before
anything else of lienthong is imported.
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

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:  # fmt: skip
        if fullname.partition(".")[0] not in OWN_PACKAGES:
            return None
        spec = _found_by_the_others(self, fullname, path, target)
        if spec is not None and type(spec.loader) is SourceFileLoader and spec.origin:
            spec.loader = WholeSourceLoader(fullname, spec.origin)
        return spec


def _found_by_the_others(finder: MetaPathFinder, fullname: str, path: Sequence[str] | None,
                         target: ModuleType | None) -> ModuleSpec | None:  # fmt: skip
    for other in sys.meta_path:
        if other is not finder and hasattr(other, "find_spec"):
            spec: ModuleSpec | None = other.find_spec(fullname, path, target)
            if spec is not None:
                return spec
    return None


def compile_own_modules_whole() -> None:
    """From now on, lienthong's modules are compiled with docstrings and asserts (once)."""
    if sys.flags.optimize and not any(isinstance(f, OwnModulesFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, OwnModulesFinder())
