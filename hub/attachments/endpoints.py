"""Attachment store routes: resumable uploads and ranged downloads, for signed agencies."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.requests import ClientDisconnect

from hub.api.dependencies import CurrentRuntime, Settings, SignedAgency, Store
from hub.attachments import service
from hub.attachments.payloads import Chunk, UploadProgress, UploadStatus
from hub.attachments.ranges import respond

router = APIRouter(prefix="/v1/attachments", tags=["attachments"])


@router.get("/{sha256}/upload")
async def upload_status(sha256: str, agency: SignedAgency, store: Store) -> UploadStatus:
    """Whether the store has the file, else how much of this agency's upload has arrived."""
    return await service.upload_status(store, agency, sha256)


_BYTES = {
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
}
_CONTENT_RANGE = {
    "name": "Content-Range", "in": "header", "required": True,
    "schema": {"type": "string", "examples": ["bytes 0-8388607/1073741824", "bytes */0"]},
}  # fmt: skip


@router.put("/{sha256}", openapi_extra={"requestBody": _BYTES, "parameters": [_CONTENT_RANGE]})
async def upload_chunk(
    sha256: str, request: Request, agency: SignedAgency, store: Store, settings: Settings
) -> UploadProgress:
    """Append the body (the bytes its Content-Range names) to this agency's upload."""
    chunk = Chunk(sha256, request.headers.get("content-range"), _arriving(request))
    return await service.receive(store, settings.max_attachment_bytes, agency, chunk)


@router.get("/{sha256}", response_class=StreamingResponse)
async def download(
    sha256: str, request: Request, agency: SignedAgency, store: Store, rt: CurrentRuntime
) -> Response:
    """The file, to its documents' sender and recipients; HTTP Range resumes a download."""
    file = await service.download(rt.sessions, store, agency, sha256)
    return respond(file, request.headers.get("range"), request.headers.get("if-range"), store.read)


async def _arriving(request: Request) -> AsyncIterator[bytes]:
    """The body as it arrives; a dropped connection only ends it early (what came is kept)."""
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        return
