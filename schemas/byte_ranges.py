"""Which bytes of a file an HTTP Range header asks for (RFC 9110), for both services' downloads.

One range per request is what resuming a download needs; a request for several ranges, or in
another unit, gets the whole file (a server may ignore Range)."""

from __future__ import annotations

import re

_ONE_RANGE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")


class Unsatisfiable(Exception):
    """The range asks for no byte of the file."""


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte asked for, None for the whole file; Unsatisfiable if none exists."""
    found = _ONE_RANGE.fullmatch((header or "").replace(" ", ""))
    if found is None or found.groups() == ("", ""):
        return None  # absent, several ranges, or another unit: the whole file
    first, last = found.groups()
    if not first:  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start > end or start >= size:
        raise Unsatisfiable
    return start, end
