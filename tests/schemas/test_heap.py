"""Settling a started service's heap: startup garbage freed, the rest set aside."""

from __future__ import annotations

import gc
import weakref

from schemas.heap import settle_heap


class _Node:
    """An object the garbage collector tracks, able to make a reference cycle."""

    partner: _Node | None = None


def test_settling_the_heap_frees_startup_garbage_and_sets_the_rest_aside() -> None:
    kept, cycle = _Node(), _Node()
    cycle.partner = cycle  # garbage only a collection frees
    gone = weakref.ref(cycle)
    del cycle
    try:
        settle_heap()
        assert gone() is None
        assert gc.get_freeze_count() > 0
        assert not any(found is kept for found in gc.get_objects())  # no pass walks it now
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
    assert any(found is kept for found in gc.get_objects())
