"""What an app's routes run per request: every endpoint and dependency, and whether it is a
coroutine. FastAPI runs a plain function in a worker thread: a hop per call, and anything it
touches on the event loop (an asyncio.Event, say) is then touched from another thread."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute


def _runs_on_the_loop(call: Callable[..., Any]) -> bool:
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else call.__call__  # type: ignore[operator]
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
    for below in dependant.dependencies:
        yield from _calls(below)


def api_routes(routes: list[BaseRoute]) -> Iterator[APIRoute]:
    """The API routes, those of included routers too (FastAPI keeps those apart)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from api_routes(included.routes)


def run_in_threads(routes: list[BaseRoute]) -> set[str]:
    """'path: name' of every endpoint or dependency that is not a coroutine."""
    found = set()
    for route in api_routes(routes):
        for call in _calls(route.dependant):
            if not _runs_on_the_loop(call):
                found.add(f"{route.path}: {getattr(call, '__qualname__', call)}")
    return found
