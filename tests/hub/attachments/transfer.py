"""Talking to the hub's attachment store as an agency's adapter would: signed requests,
chunked uploads, packages that list files kept in the store."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.responses import Response
from starlette.types import Message

from schemas.model import DocumentPackage, ExternalAttachment, LienthongInfo
from schemas.request_auth import authorization
from tests.hub.hub_stack import Member

CHUNK = 64 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def signed(member: Member, method: str, path: str, at: float | None = None) -> dict[str, str]:
    return {"Authorization": authorization(member.identity, member.code, method, path, at)}


def path_of(sha256: str) -> str:
    return f"/v1/attachments/{sha256}"


async def status(client: httpx.AsyncClient, member: Member, sha256: str) -> dict[str, Any]:
    path = f"{path_of(sha256)}/upload"
    response = await client.get(path, headers=signed(member, "GET", path))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def put(
    client: httpx.AsyncClient, member: Member, sha256: str, data: bytes, at: tuple[int, int]
) -> httpx.Response:
    """PUT `data` as the bytes from `start` on of a file of `total` bytes (`at`)."""
    start, total = at
    span = f"bytes {start}-{start + len(data) - 1}/{total}" if data else f"bytes */{total}"
    headers = signed(member, "PUT", path_of(sha256)) | {"Content-Range": span}
    return await client.put(path_of(sha256), content=data, headers=headers)


async def upload(client: httpx.AsyncClient, member: Member, data: bytes) -> str:
    """Upload the whole file in chunks; its digest."""
    digest = sha(data)
    for start in range(0, len(data), CHUNK):
        response = await put(
            client, member, digest, data[start : start + CHUNK], (start, len(data))
        )
        assert response.status_code == 200, response.text
    assert (await status(client, member, digest))["complete"] is True
    return digest


async def download(
    client: httpx.AsyncClient, member: Member, sha256: str, **headers: str
) -> httpx.Response:
    return await client.get(
        path_of(sha256), headers=signed(member, "GET", path_of(sha256)) | headers
    )


def carrying(doc: DocumentPackage, *files: tuple[str, bytes]) -> DocumentPackage:
    """The document, listing these (name, bytes) files in lt:ExternalAttachments."""
    listed = tuple(
        ExternalAttachment(name=name, content_type="image/tiff", size=len(data), sha256=sha(data))
        for name, data in files
    )
    info = (doc.lienthong or LienthongInfo()).model_copy(update={"external_attachments": listed})
    return doc.model_copy(update={"lienthong": info})


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait until `check` holds; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.05)


async def answer_messages(response: Response) -> list[Message]:
    """What an answer sends when a server runs it for a client that stays connected."""
    sent: list[Message] = []

    async def receive() -> Message:
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await response({"type": "http", "asgi": {"version": "3.0"}}, receive, send)
    return sent
