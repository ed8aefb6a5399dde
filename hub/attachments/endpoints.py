"""Attachment store routes: resumable uploads and ranged downloads, for signed agencies."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from starlette.requests import ClientDisconnect

from hub.api.dependencies import CurrentRuntime, Settings, SignedAgency, Store
from hub.attachments import service
from hub.attachments.payloads import Chunk, UploadProgress, UploadStatus

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


@router.get("/{sha256}", response_class=FileResponse)
async def download(
    sha256: str, agency: SignedAgency, store: Store, rt: CurrentRuntime
) -> FileResponse:
    """The file, to its documents' sender and recipients; HTTP Range resumes a download."""
    path, stat = await service.download(rt.sessions, store, agency, sha256)
    return _file(path, stat, sha256)


async def _arriving(request: Request) -> AsyncIterator[bytes]:
    """The body as it arrives; a dropped connection only ends it early (what came is kept)."""
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        return


def _file(path: Path, stat: os.stat_result, sha256: str) -> FileResponse:
    """The bytes never change under a digest, so the digest is the strong validator (If-Range).
    The file's time is left out: it changes when an agency claims the file for a package."""
    headers = {"ETag": f'"{sha256}"', "Cache-Control": "private, no-cache"}
    response = FileResponse(path, stat_result=stat, headers=headers,
                            media_type="application/octet-stream")  # fmt: skip
    del response.headers["last-modified"]
    return response
