"""How a serving process starts: lean, without the command line's libraries.

`lienthong hub serve` and `lienthong adapter serve` check their settings, then replace
themselves (same pid, same environment but for glibc's mmap threshold) with `python -OO -P
-m hub` / `python -OO -P -m agency_adapter`. A service runs for months; the command line
(typer, and the rich and pygments it installs) would hold about 4 MB in it that serving never
uses, and httpx would hold 5 MB more by importing its own command-line client because those
libraries are installed. (click stays: uvicorn imports it.) -OO leaves out the libraries'
docstrings, 5 MB more; lienthong's own modules keep theirs (`schemas.own_modules`).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from pydantic import ValidationError
from pydantic_settings.exceptions import SettingsError

from schemas.errors import LienthongError
from schemas.event_loop import run_on_uvloop

# glibc serves a block larger than its mmap threshold with a mapping of its own, returned to
# the system when freed, but raises the threshold (up to 32 MB) each time such a block is
# freed: after the first attachment, its MiB chunks come from the heap, which keeps them.
# Setting the threshold fixes it (and the trim threshold with it) for the process's life. The
# price: a fresh mapping, and its page faults, for each such block (6 ms of CPU per 8 MiB here,
# against 0.4 ms from the heap); documents of ordinary size never allocate that much at once.
SERVING_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}


def replace_with_service(module: str, *args: str) -> NoReturn:
    """Become `python -OO -m module args` in this same process (its pid is what was started).

    With -P: `python -m` would otherwise look in the working directory first, where a folder
    that happens to be called `hub` would run instead of the installed service. With -OO the
    libraries' bytecode comes from their `.opt-2.pyc` files, which installing writes.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable, "-OO", "-P", "-m", module, *args]
    environment = {**SERVING_MALLOC, **os.environ}  # what the operator set comes first
    os.execve(sys.executable, argv, environment)  # noqa: S606 (no shell: argv as is)


# Modules a library imports only to find out whether it may use them, and does without when
# the import fails: httpx its command-line client (rich, pygments, click) whenever those are
# installed, FastAPI pydantic's v1 compatibility layer, to tell whether a route's model is a
# v1 one (lienthong has none). A None entry in sys.modules is that failed import.
NEVER_USED = ("httpx._main", "pydantic.v1")


def without_unused_modules() -> None:
    """Keep `NEVER_USED` out of this process; call before anything imports httpx or FastAPI."""
    for name in NEVER_USED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def run_service(
    start: Callable[[], Coroutine[Any, Any, None]],
    name: str,
    settings_prefix: str,
    explain: Callable[[Exception], str | None] = lambda _: None,
) -> NoReturn:
    """Log to stderr, run what `start` returns on uvloop until it stops. A deliberate error, a
    bad setting (its variables named by `settings_prefix`) or an error `explain` puts into
    words is one line naming the service, and exit status 1."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        run_on_uvloop(start())
    except KeyboardInterrupt:  # Ctrl-C: stopped as asked, with the shell's status for it
        raise SystemExit(130) from None
    except LienthongError as error:
        _fail(name, str(error))
    except (SettingsError, ValidationError) as error:
        _fail(name, f"bad {settings_prefix} settings: {_faults(error, settings_prefix)}")
    except Exception as error:
        if (said := explain(error)) is None:
            raise
        _fail(name, said)
    raise SystemExit(0)


def _faults(error: SettingsError | ValidationError, prefix: str) -> str:
    """pydantic's faults on one line, each named by its environment variable."""
    if isinstance(error, SettingsError):
        return str(error)
    named = (f"{prefix}{'.'.join(map(str, fault['loc'])).upper()}: {fault['msg']}"
             for fault in error.errors())  # fmt: skip
    return "; ".join(named)


def _fail(name: str, reason: str) -> NoReturn:
    print(f"lienthong {name}: {reason}", file=sys.stderr)
    raise SystemExit(1)
