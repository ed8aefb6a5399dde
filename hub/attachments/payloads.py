"""What the attachment store's HTTP API reads and answers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterable
from dataclasses import dataclass

from pydantic import BaseModel

from hub.errors import BadRequest

_SPAN = re.compile(r"bytes (\d{1,19})-(\d{1,19})/(\d{1,19})")
_NOTHING = re.compile(r"bytes \*/(\d{1,19})")


class UploadStatus(BaseModel):
    """Where an agency's upload of one file stands."""

    sha256: str
    offset: int  # the file's size when complete, else the bytes of this agency's upload so far
    complete: bool


class UploadProgress(BaseModel):
    """Where the upload stands after one chunk."""

    offset: int
    complete: bool


@dataclass(frozen=True)
class ContentRange:
    """The bytes one PUT carries: [start, start + length) of a file of `total` bytes."""

    start: int
    length: int
    total: int

    @classmethod
    def parse(cls, header: str | None) -> ContentRange:
        """`bytes {start}-{end}/{total}` (end inclusive), or `bytes */{total}` for no bytes
        (an empty file, or finishing an upload whose bytes all arrived already)."""
        value = (header or "").strip()
        if nothing := _NOTHING.fullmatch(value):
            total = int(nothing.group(1))
            return cls(start=total, length=0, total=total)
        span = _SPAN.fullmatch(value)
        if span is None:
            raise BadRequest(
                f"the Content-Range header must read 'bytes START-END/TOTAL' (END inclusive) or "
                f"'bytes */TOTAL', not {value[:80]!r}"
            )
        start, end, total = (int(part) for part in span.groups())
        if not start <= end < total:
            raise BadRequest(
                f"Content-Range 'bytes {start}-{end}/{total}' needs START <= END < TOTAL"
            )
        return cls(start=start, length=end - start + 1, total=total)


@dataclass(frozen=True)
class Chunk:
    """One PUT: the file it is for, its Content-Range header and its body as it arrives."""

    sha256: str
    content_range: str | None
    body: AsyncIterable[bytes]
