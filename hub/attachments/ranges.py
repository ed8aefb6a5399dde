"""Serving a stored file whole or one byte range of it (RFC 9110), whichever backend holds it.

One range per request is what resuming a download needs; a request for several ranges gets
the whole file (a server may ignore Range). The digest is the file's strong validator, so
If-Range compares it with the ETag; the file's time is not sent (it changes when an agency
claims the file for a package).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import Response, StreamingResponse
from starlette.types import Send

from hub.attachments.store import OpenedFile
from hub.errors import HubError
from schemas.byte_ranges import Unsatisfiable, requested_range

log = logging.getLogger(__name__)


async def respond(opened: OpenedFile, range_header: str | None, if_range: str | None) -> Response:
    """200 with the whole file, 206 with the range asked for, or 416; the file is let go of
    when the answer ends (or cannot start)."""
    try:
        return await _answer(opened, range_header, if_range)
    except BaseException:
        opened.close()
        raise


async def _answer(opened: OpenedFile, range_header: str | None, if_range: str | None) -> Response:
    file = opened.file
    etag = f'"{file.sha256}"'
    headers = {"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": "private, no-cache"}
    if if_range is not None and if_range != etag:
        range_header = None  # the client holds another version: start again
    try:
        span = requested_range(range_header, file.size)
    except Unsatisfiable:
        opened.close()
        headers["Content-Range"] = f"bytes */{file.size}"
        return Response(status_code=416, headers=headers)
    start, end = span or (0, file.size - 1)
    headers["Content-Length"] = str(end - start + 1)
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{file.size}"
    body = await opened.stream(start, end) if file.size else _nothing()
    return FileStream(body, opened.close, status_code=206 if span else 200, headers=headers,
                      media_type="application/octet-stream")  # fmt: skip


class FileStream(StreamingResponse):
    """A stored file's bytes. A read failing midway (a disk error, the object store gone) can
    no longer change the status: the answer is cut short, logged in one line, and the client
    resumes with a Range, rather than ending in a trace."""

    def __init__(self, body: AsyncIterator[bytes], release: Callable[[], None],
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(body, **kwargs)
        self.release = release

    async def stream_response(self, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})  # fmt: skip
            try:
                async for chunk in self.body_iterator:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except (HubError, OSError) as error:
                log.warning("attachment answer cut short: %s", error)
                return  # without the closing message: the server drops the connection
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.release()


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator that yields nothing
