"""lienthong's own modules, compiled whole in a service that runs with -OO.

A serving process runs with -OO (see `schemas.serving`): its libraries' docstrings, 4.6 MB of
a hub's memory (half of it SQLAlchemy's), are never loaded. lienthong's own modules keep
theirs, because the API's documentation at /docs is made of them, and their asserts, so that
the code that serves is the code the tests ran. A service's `__main__` calls
`compile_own_modules_whole` first; only what is loaded before it (the `hub` or
`agency_adapter` package, `__main__` itself, `schemas` and this module) is compiled at -OO.
"""

from __future__ import annotations

import marshal
import os
import struct
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec, SourceFileLoader
from importlib.util import MAGIC_NUMBER, cache_from_source
from pathlib import Path
from types import CodeType, ModuleType

OWN_PACKAGES = frozenset({"hub", "agency_adapter", "schemas"})


class WholeSourceLoader(SourceFileLoader):
    """Loads the level-0 bytecode file (what `python` without -O writes, and installing does)
    when it matches the source, else compiles the source at level 0, whatever -O says; never
    the file named for -OO, which may hold a copy compiled without docstrings."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        cached = matching_bytecode(path, cache_from_source(path, optimization=""))
        if cached is not None:
            return cached
        return compile(self.get_data(path), path, "exec", dont_inherit=True, optimize=0)


def matching_bytecode(source: str, bytecode: str) -> CodeType | None:
    """The code in the file `bytecode` if it was compiled from `source` as it is now: the
    header (PEP 552) of this Python's magic number, flags 0, the source's mtime and size.
    Compiling at each start instead leaves about 5 KB per module in the process's memory
    (0.45 MB in the hub), besides the CPU."""
    try:
        data, stat = Path(bytecode).read_bytes(), os.stat(source)
    except OSError:
        return None
    stamp = (int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF)
    if data[:16] != MAGIC_NUMBER + struct.pack("<III", 0, *stamp):
        return None
    code = marshal.loads(memoryview(data)[16:])  # noqa: S302 (trusted as Python trusts its .pyc)
    return code if isinstance(code, CodeType) else None


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
            spec.cached = cache_from_source(spec.origin, optimization="")
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
