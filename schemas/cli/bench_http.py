"""The bench's HTTP client for its hot calls: a POST per document and the feed's long-polls.

The clients share the machine with what they measure. Through httpx they cost about 3 ms of
CPU per document, nearly all of it httpx's own machinery (its connection pool, anyio's
streams, URL and header models), which is more than some of the services' steps. A local
system runs on a machine of its own; here its stand-in keeps out of their way. This client
speaks only what the bench needs of HTTP/1.1 to one adapter: requests with a body of known
length, answers with a Content-Length, connections kept alive and reused.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

# uvicorn closes a connection idle for 5 s; one idle for less is reused without a race.
REUSE_IDLE_S = 2.0


class HttpFailure(RuntimeError):
    """The server's answer could not be read: a clear message instead of a parser's error."""


@dataclass
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = field(default_factory=time.monotonic)


class LeanClient:
    """Keep-alive HTTP/1.1 to one base URL (`http://host:port`), with fixed extra headers."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout_s: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"the bench's client speaks plain http to a host, not '{base_url}'")
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout_s = timeout_s
        fixed = {"Host": f"{self.host}:{self.port}", **headers}
        self._fixed = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self._idle: list[_Connection] = []

    async def get(self, path: str, params: dict[str, Any]) -> Answer:
        return await self.request("GET", f"{path}?{urlencode(params)}")

    async def post_json(self, path: str, body: object) -> Answer:
        return await self.request("POST", path, json.dumps(body).encode(), "application/json")

    async def request(self, method: str, target: str, body: bytes = b"",
                      content_type: str | None = None) -> Answer:  # fmt: skip
        connection = await self._connection()
        try:
            head = self._head(method, target, len(body), content_type)
            answer, keep = await asyncio.wait_for(
                self._exchange(connection, head + body), self.timeout_s
            )
        except BaseException:
            connection.writer.close()
            raise
        if keep:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.writer.close()
        return answer

    async def close(self) -> None:
        while self._idle:
            self._idle.pop().writer.close()

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if time.monotonic() - connection.idle_since < REUSE_IDLE_S:
                return connection
            connection.writer.close()
        opening = asyncio.open_connection(self.host, self.port)
        reader, writer = await asyncio.wait_for(opening, self.timeout_s)
        return _Connection(reader, writer)

    def _head(self, method: str, target: str, length: int, content_type: str | None) -> bytes:
        typed = f"Content-Type: {content_type}\r\n" if content_type else ""
        return (f"{method} {target} HTTP/1.1\r\n{self._fixed}{typed}"
                f"Content-Length: {length}\r\n\r\n").encode("latin-1")  # fmt: skip

    @staticmethod
    async def _exchange(connection: _Connection, request: bytes) -> tuple[Answer, bool]:
        """Send one request, read its answer; whether the connection may carry another."""
        connection.writer.write(request)
        status_line = await connection.reader.readline()
        words = status_line.split()
        if len(words) < 2 or not words[1].isdigit():
            raise HttpFailure(f"not an HTTP answer: {status_line[:80]!r}")
        headers = await _headers(connection.reader)
        length = headers.get("content-length", "")
        if not length.isdigit():
            raise HttpFailure(f"the answer has no Content-Length this client can read: '{length}'")
        body = await connection.reader.readexactly(int(length))
        keep = headers.get("connection", "").lower() != "close"
        return Answer(int(words[1]), body), keep


async def _headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers
