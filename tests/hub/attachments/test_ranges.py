"""Serving a stored file: a read that fails midway ends the answer, never with a trace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.attachments.errors import StoreUnavailable
from hub.attachments.ranges import FileStream
from tests.hub.attachments.transfer import answer_messages


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
