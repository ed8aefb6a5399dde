from __future__ import annotations

import pytest

from schemas.retrying import with_pauses


async def test_a_step_that_succeeds_late_is_waited_for() -> None:
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OSError("not yet")
        return "up"

    assert await with_pauses(flaky, (OSError,), "test", pauses=(0, 0, 0)) == "up"
    assert len(calls) == 3


async def test_after_the_last_pause_the_error_propagates_and_others_at_once() -> None:
    async def down() -> None:
        raise OSError("still down")

    with pytest.raises(OSError, match="still down"):
        await with_pauses(down, (OSError,), "test", pauses=(0, 0))

    async def broken() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        await with_pauses(broken, (OSError,), "test", pauses=(60,))
