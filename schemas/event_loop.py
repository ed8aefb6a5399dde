"""Running a service's coroutine on uvloop.

uvloop's event loop and socket transports are written in C: the hub and the adapters spend
much of their time in the loop (AMQP frames, HTTP requests, database replies), and on uvloop
that time shrinks. Behaviour is asyncio's; only the machinery under it changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def run_on_uvloop(work: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(work)`, on a uvloop event loop."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(work)
