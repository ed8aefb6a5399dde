"""A TCP proxy that drops one connection halfway, as a commune's link does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Literal

Direction = Literal["up", "down"]  # up: from the adapter to the hub; down: back
NEVER = 1 << 62  # bytes after which a connection is cut: never


@dataclass
class CuttingProxy:
    """Forwards to the hub's port; the first connection to carry more than `cut_after` bytes
    in `direction` is cut there (both sides closed at once). Counts what went up."""

    target_port: int
    direction: Direction
    cut_after: int
    watch: tuple[bytes, ...] = ()  # byte strings to count in what goes up (request lines...)
    cuts: int = 0
    seen: dict[bytes, int] = field(default_factory=dict)
    port: int = 0

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:  # fmt: skip
        hub_reader, hub_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        ends = (writer, hub_writer)
        pumps = [
            asyncio.create_task(self._pump(reader, hub_writer, "up")),
            asyncio.create_task(self._pump(hub_reader, writer, "down")),
        ]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for end in ends:
            end.transport.abort()
        for pump in pumps:
            pump.cancel()
            with suppress(asyncio.CancelledError, ConnectionError):
                await pump

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    direction: Direction) -> None:  # fmt: skip
        moved, tail = 0, b""
        while data := await reader.read(65536):
            if direction == "up":
                tail = self._count(tail, data)
            moved += len(data)
            if direction == self.direction and not self.cuts and moved > self.cut_after:
                self.cuts += 1
                writer.write(data[: len(data) - (moved - self.cut_after)])
                with suppress(ConnectionError):
                    await writer.drain()
                return  # the caller closes both sides
            writer.write(data)
            await writer.drain()

    def _count(self, tail: bytes, data: bytes) -> bytes:
        """Count the watched strings that end in `data` (they may begin in the last read's
        tail); returns the tail to keep for the next read."""
        window = tail + data
        for needle in self.watch:
            start = max(0, len(tail) - len(needle) + 1)
            self.seen[needle] = self.seen.get(needle, 0) + window.count(needle, start)
        keep = max((len(n) for n in self.watch), default=1) - 1
        return window[-keep:] if keep else b""


def forwarding(target: str, port: int) -> AbstractAsyncContextManager[CuttingProxy]:
    """A proxy on `port` that never cuts: the hub, back at an address an adapter was given
    while nothing listened there."""
    return cutting_proxy(target, "down", NEVER, port=port)


@asynccontextmanager
async def cutting_proxy(target: str, direction: Direction, cut_after: int,
                        watch: tuple[bytes, ...] = (), port: int = 0,
                        ) -> AsyncIterator[CuttingProxy]:  # fmt: skip
    """A proxy to the base URL `target` (http://127.0.0.1:PORT) on `port` (0: a free one)."""
    proxy = CuttingProxy(int(target.rsplit(":", 1)[1]), direction, cut_after, watch)
    server = await asyncio.start_server(proxy._connection, "127.0.0.1", port)
    proxy.port = server.sockets[0].getsockname()[1]
    try:
        yield proxy
    finally:
        server.close()
        with suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)
