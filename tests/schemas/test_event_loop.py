from __future__ import annotations

import asyncio

import pytest
import uvloop

from schemas.event_loop import run_on_uvloop


def test_a_service_coroutine_runs_on_uvloop_and_returns_its_result() -> None:
    async def which_loop() -> str:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()).__module__

    assert run_on_uvloop(which_loop()) == uvloop.Loop.__module__


def test_an_error_in_the_coroutine_reaches_the_caller() -> None:
    async def failing() -> None:
        raise ValueError("bad setting")

    with pytest.raises(ValueError, match="bad setting"):
        run_on_uvloop(failing())
