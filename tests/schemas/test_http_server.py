"""Responses in one write: the transport that holds small writes (plain asyncio), and uvicorn
serving real HTTP through it on a local port."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from uvicorn.server import ServerState

from schemas.http_server import (
    HOLD_BYTES,
    JOIN_BYTES,
    OneWriteHttp,
    OneWriteTransport,
    http_server,
)
from tests.hub.served import free_port

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\n"


class Recording(asyncio.Transport):
    """A transport that keeps what was written to it, each write apart."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


async def test_a_head_and_a_small_body_go_out_in_one_write() -> None:
    recording = Recording()
    transport = OneWriteTransport(recording)
    transport.write(HEAD)
    transport.write(b'{"ok": true}\n')
    assert recording.writes == []  # held until the loop's next turn
    await asyncio.sleep(0)
    assert recording.writes == [HEAD + b'{"ok": true}\n']


async def test_a_body_too_large_to_hold_is_joined_to_the_head() -> None:
    recording, body = Recording(), b"x" * (HOLD_BYTES + 1)
    transport = OneWriteTransport(recording)
    transport.write(HEAD)
    transport.write(body)
    assert recording.writes == [HEAD + body]  # at once: nothing is held any more
    await asyncio.sleep(0)
    assert len(recording.writes) == 1


async def test_a_large_chunk_goes_out_after_what_is_held_and_is_not_copied() -> None:
    recording, chunk = Recording(), b"y" * (JOIN_BYTES + 1)
    transport = OneWriteTransport(recording)
    transport.write(HEAD)
    transport.write(chunk)
    transport.write(chunk)
    assert recording.writes == [HEAD, chunk, chunk]
    assert recording.writes[1] is chunk and recording.writes[2] is chunk


async def test_closing_sends_what_is_held_first() -> None:
    recording = Recording()
    transport = OneWriteTransport(recording)
    transport.write(b"the end")
    transport.close()
    assert recording.writes == [b"the end"] and recording.closed
    await asyncio.sleep(0)
    assert recording.writes == [b"the end"]  # not twice


async def test_what_is_held_for_a_connection_gone_or_aborted_is_dropped() -> None:
    gone, aborted = Recording(), Recording()
    OneWriteTransport(gone).write(HEAD)
    gone.closed = True  # the peer went away before the loop's next turn
    transport = OneWriteTransport(aborted)
    transport.write(HEAD)
    transport.abort()
    await asyncio.sleep(0)
    assert gone.writes == [] and aborted.writes == [] and aborted.closed


async def test_a_complete_response_goes_out_at_once_not_at_the_loops_next_turn() -> None:
    config = uvicorn.Config(Starlette())
    config.load()
    protocol, recording = OneWriteHttp(config, ServerState(), app_state={}), Recording()
    protocol.connection_made(recording)
    protocol.transport.write(HEAD)
    protocol.transport.write(b'{"ok": true}\n')
    assert recording.writes == []
    protocol.on_response_complete()  # what uvicorn calls once the body's last part is written
    assert recording.writes == [HEAD + b'{"ok": true}\n']
    protocol.connection_lost(None)


# --- uvicorn serving through it --------------------------------------------------------------

BIG = bytes(range(256)) * 20_000  # 5 MB, streamed in chunks of several sizes


async def _small(request: Request) -> Response:
    return JSONResponse({"path": request.url.path, "query": request.url.query})


async def _streamed(_: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for start, size in _chunking():
            yield BIG[start : start + size]

    return StreamingResponse(chunks(), media_type="application/octet-stream")


def _chunking() -> list[tuple[int, int]]:
    sizes, spans, start = (10, HOLD_BYTES, JOIN_BYTES + 7, 1), list[tuple[int, int]](), 0
    while start < len(BIG):
        size = sizes[len(spans) % len(sizes)]
        spans.append((start, size))
        start += size
    return spans


async def _empty(_: Request) -> Response:
    return Response(status_code=204)


APP = Starlette(routes=[Route("/small", _small), Route("/big", _streamed),
                        Route("/empty", _empty, methods=["DELETE"])])  # fmt: skip


@asynccontextmanager
async def _served() -> AsyncIterator[int]:
    port = free_port()
    server = http_server(APP, "127.0.0.1", port, log_level="warning")
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # the server failed to start: say why
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def _response(reader: asyncio.StreamReader) -> tuple[bytes, dict[bytes, bytes], bytes]:
    status = await reader.readline()
    headers = {}
    while (line := await reader.readline()) != b"\r\n":
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding") == b"chunked":
        body = b""
        while size := int((await reader.readline()).strip(), 16):
            body += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()
    else:
        body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, headers, body


async def test_uvicorn_answers_requests_on_one_connection_in_order() -> None:
    async with _served() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        # Three requests at once on one keep-alive connection, answered in order.
        writer.write(
            b"GET /small?a=1 HTTP/1.1\r\nhost: x\r\n\r\n"
            b"GET /big HTTP/1.1\r\nhost: x\r\n\r\n"
            b"DELETE /empty HTTP/1.1\r\nhost: x\r\n\r\n"
            b"GET /small?b=2 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        )
        first, big, empty, last = [await _response(reader) for _ in range(4)]
        assert first[0].startswith(b"HTTP/1.1 200")
        assert first[2] == b'{"path":"/small","query":"a=1"}'
        assert big[0].startswith(b"HTTP/1.1 200")
        assert hashlib.sha256(big[2]).digest() == hashlib.sha256(BIG).digest()
        assert empty[0].startswith(b"HTTP/1.1 204") and empty[2] == b""
        assert last[2] == b'{"path":"/small","query":"b=2"}'
        assert await reader.read() == b""  # and then the server closed the connection
        writer.close()
