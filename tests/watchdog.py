"""A test that hangs stops the run within minutes, showing where everything waits.

Without it a hang (a lock never released, a message never confirmed) would hold the run until
CI's own limit and say nothing. When a test phase outlives `LIMIT_S`, every thread's stack and
every asyncio task's stack are printed, and the run is interrupted by SIGINT, as by Ctrl-C.
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import signal
import sys
import threading
from collections.abc import Generator

import pytest

LIMIT_S = 240.0  # the slowest test takes under a minute on the development machine
_loops: list[asyncio.AbstractEventLoop] = []  # the one the tests run on


@pytest.fixture(autouse=True)
async def _remember_the_loop() -> None:
    """The tests' event loop, so that a stuck one can be shown from another thread."""
    if not _loops:
        _loops.append(asyncio.get_running_loop())


def _show_tasks() -> None:
    for task in asyncio.all_tasks(_loops[0]) if _loops else ():
        print(f"\n--- {task!r}", file=sys.stderr)
        task.print_stack(limit=12, file=sys.stderr)


def _give_up(where: str, config: pytest.Config) -> None:
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:  # show it on the terminal, not in the test's captured output
        capture.suspend_global_capture(in_=False)
    print(f"\n!!! {where} still running after {LIMIT_S:.0f} s; stacks follow", file=sys.stderr)
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    _show_tasks()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGINT)  # a real signal also wakes a waiting select()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    timer = threading.Timer(LIMIT_S, _give_up, args=(item.nodeid, item.config))
    timer.daemon = True
    timer.start()
    try:
        return (yield)
    finally:
        timer.cancel()
