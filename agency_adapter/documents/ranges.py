"""Serving a file of the attachment store whole or one byte range of it (RFC 9110).

The file is opened before the answer is built, so a purge that removes it meanwhile cannot
turn the answer into an error halfway: the open file stays readable until it is closed. One
range per request is what resuming a download needs; a request for several gets the whole
file (a server may ignore Range). The file's SHA-256 is its strong validator (ETag, If-Range).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from agency_adapter.attachments.store import CHUNK
from schemas.byte_ranges import Unsatisfiable, requested_range


def _read(file: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    """Bytes start..end of the open file, CHUNK at a time (Starlette reads a plain iterator
    in its thread pool, so the disk never blocks the event loop)."""
    with file:
        file.seek(start)
        left = end - start + 1
        while left > 0 and (data := file.read(min(CHUNK, left))):
            left -= len(data)
            yield data


def file_response(file: BinaryIO, size: int, sha256: str, ranges: tuple[str | None, str | None],
                  headers: dict[str, str]) -> Response:  # fmt: skip
    """200 with the whole open file, 206 with the range asked for, or 416; `ranges`: the
    request's Range and If-Range headers; `headers` name the content type. The file is
    closed when the answer is done."""
    range_header, if_range = ranges
    etag = f'"{sha256}"'
    headers = {**headers, "ETag": etag, "Accept-Ranges": "bytes"}
    if if_range is not None and if_range != etag:
        range_header = None  # the client holds other bytes: start again
    try:
        span = requested_range(range_header, size)
    except Unsatisfiable:
        file.close()
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, end = span or (0, size - 1)
    headers["Content-Length"] = str(end - start + 1)
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(
        _read(file, start, end), status_code=206 if span else 200, headers=headers,
        background=BackgroundTask(file.close),
    )  # fmt: skip
