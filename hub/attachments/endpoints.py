"""Attachment store routes: resumable uploads and ranged downloads, for signed agencies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.requests import ClientDisconnect

from hub.api.dependencies import CurrentRuntime, SignedAgency
from hub.attachments import service
from hub.attachments.payloads import Chunk, UploadProgress, UploadStatus
from hub.attachments.ranges import respond

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/attachments", tags=["attachments"])


@router.get("/{sha256}/upload")
async def upload_status(sha256: str, agency: SignedAgency, rt: CurrentRuntime) -> UploadStatus:
    """Whether this agency may count on the stored file, else how much of its upload arrived."""
    return await service.upload_status(rt, agency, sha256)


_BYTES = {
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
}
_CONTENT_RANGE = {
    "name": "Content-Range", "in": "header", "required": True,
    "schema": {"type": "string", "examples": ["bytes 0-8388607/1073741824", "bytes */0"]},
}  # fmt: skip


@router.put("/{sha256}", openapi_extra={"requestBody": _BYTES, "parameters": [_CONTENT_RANGE]})
async def upload_chunk(
    sha256: str, request: Request, agency: SignedAgency, rt: CurrentRuntime
) -> UploadProgress:
    """Append the body (the bytes its Content-Range names) to this agency's upload."""
    body = _arriving(request, rt.settings.attachment_body_idle_s)
    chunk = Chunk(sha256, request.headers.get("content-range"), body)
    return await service.receive(rt, agency, chunk)


@router.get("/{sha256}", response_class=StreamingResponse)
async def download(sha256: str, request: Request, agency: SignedAgency,
                   rt: CurrentRuntime) -> Response:  # fmt: skip
    """The file, to its documents' sender and recipients; HTTP Range resumes a download."""
    opened = await service.download(rt, agency, sha256)
    return await respond(opened, request.headers.get("range"), request.headers.get("if-range"))


async def _arriving(request: Request, idle_s: float) -> AsyncIterator[bytes]:
    """The body as it arrives. A dropped connection only ends it early (what came is kept), and
    so does one silent for `idle_s`: a cut that never reached the hub (no FIN, no RST) would
    otherwise hold the upload, and its lock, for as long as the process lives."""
    pieces = request.stream()
    try:
        while True:
            async with asyncio.timeout(idle_s):
                piece = await anext(pieces)
            yield piece
    except (StopAsyncIteration, ClientDisconnect):
        return
    except TimeoutError:
        log.warning("upload to %s: no byte for %ss, ended there", request.url.path, idle_s)
    finally:
        await pieces.aclose()
