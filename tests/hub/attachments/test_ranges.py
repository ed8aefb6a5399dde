"""Which bytes a Range header asks for (one range; anything else means the whole file)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.attachments.errors import StoreUnavailable
from hub.attachments.ranges import FileStream, Unsatisfiable, requested_range
from tests.hub.attachments.transfer import answer_messages


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
    ],
)
def test_ranges_of_a_thousand_bytes(header: str | None, expected: tuple[int, int] | None) -> None:
    assert requested_range(header, 1000) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=1000-", 1000), ("bytes=5-2", 1000),
                                              ("bytes=0-", 0), ("bytes=-0", 1000)])  # fmt: skip
def test_ranges_outside_the_file_are_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(Unsatisfiable):
        requested_range(header, size)


async def test_a_read_failing_midway_cuts_the_answer_short_without_a_trace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    released: list[bool] = []

    async def pieces() -> AsyncIterator[bytes]:
        yield b"first"
        raise StoreUnavailable("the hub's object store did not answer: connection reset")

    headers = {"Content-Length": "10"}
    answer = FileStream(pieces(), lambda: released.append(True), headers=headers)
    sent = await answer_messages(answer)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["body"] == b"first" and sent[1]["more_body"] is True  # never finished
    assert released == [True]
    assert "attachment answer cut short: the hub's object store did not answer" in caplog.text
