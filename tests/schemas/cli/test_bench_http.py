"""The bench's lean HTTP client against a real HTTP server on 127.0.0.1 (a scripted one, to
show each answer it must read or refuse); the whole bench test drives it against adapters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from schemas.cli.bench_http import HttpFailure, LeanClient


class Server:
    """Reads HTTP/1.1 requests; answers each with the next scripted bytes (200 {} after)."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.connections = 0
        self.url = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := (await reader.readuntil(b"\r\n\r\n")).decode("latin-1"):
                lines = head.split("\r\n")
                fields = (line.partition(":") for line in lines[1:] if line)
                headers = {name.lower(): value.strip() for name, _, value in fields}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((lines[0], headers, body))
                writer.write(self.answers.pop(0) if self.answers else ok(b"{}"))
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass  # the client hung up
        finally:
            writer.close()


def ok(body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    scripted = Server([])
    listening = await asyncio.start_server(scripted.serve, "127.0.0.1", 0)
    scripted.url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
    yield scripted
    listening.close()


def client(server: Server) -> LeanClient:
    return LeanClient(server.url, {"Authorization": "Bearer k"}, timeout_s=5)


async def test_requests_carry_their_headers_and_body_and_reuse_one_connection(
    server: Server,
) -> None:
    server.answers = [ok(b'{"id": "a"}'), ok(b"[1, 2]")]
    lean = client(server)
    posted = await lean.post_json("/v1/documents", {"subject": "Công văn"})
    polled = await lean.get("/v1/events", {"after": 3, "wait": 5})
    assert (posted.status, posted.json(), polled.json()) == (200, {"id": "a"}, [1, 2])
    (post_line, headers, body), (get_line, _, _) = server.requests
    assert post_line == "POST /v1/documents HTTP/1.1"
    assert headers["authorization"] == "Bearer k"
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"subject": "Công văn"}
    assert get_line == "GET /v1/events?after=3&wait=5 HTTP/1.1"
    assert server.connections == 1
    await lean.close()


async def test_a_connection_the_server_closes_is_not_used_again(server: Server) -> None:
    server.answers = [ok(b"{}", "Connection: close\r\n")]
    lean = client(server)
    await lean.get("/v1/events", {})
    assert (await lean.get("/v1/events", {})).status == 200
    assert server.connections == 2


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "no Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", "no Content-Length .* 'ten'"),
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP answer"),
    ],
)
async def test_an_answer_it_cannot_read_is_a_clear_error(
    server: Server, answer: bytes, message: str
) -> None:
    server.answers = [answer]
    with pytest.raises(HttpFailure, match=message):
        await client(server).get("/v1/events", {})


async def test_a_server_that_hangs_up_without_answering_is_a_clear_error() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    listening = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    lean = LeanClient(f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}", {}, 5)
    with pytest.raises(HttpFailure, match="not an HTTP answer: b''"):
        await lean.get("/v1/events", {})
    listening.close()


def test_only_plain_http_to_a_host() -> None:
    with pytest.raises(ValueError, match="plain http"):
        LeanClient("https://127.0.0.1:8500", {}, timeout_s=5)
