"""Which bytes a Range header asks for (one range; anything else means the whole file)."""

from __future__ import annotations

import pytest

from schemas.byte_ranges import Unsatisfiable, requested_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-1", None),
        ("bytes=-", None),
        ("bytes=" + "9" * 40 + "-", None),  # no number that long: not a range we serve
    ],
)
def test_ranges_of_a_thousand_bytes(header: str | None, expected: tuple[int, int] | None) -> None:
    assert requested_range(header, 1000) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=1000-", 1000), ("bytes=5-2", 1000),
                                              ("bytes=0-", 0), ("bytes=-0", 1000)])  # fmt: skip
def test_ranges_outside_the_file_are_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(Unsatisfiable):
        requested_range(header, size)
