"""The TLS context every outgoing HTTP client shares."""

from __future__ import annotations

import asyncio
import socket
import ssl

import httpx
import pytest

from schemas.http_tls import client_tls, outgoing_client, plain_http_tls


def test_one_context_per_process_and_it_verifies_servers() -> None:
    context = client_tls()
    assert client_tls() is context
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # the CA bundle is loaded


async def test_a_client_for_plain_http_loads_no_ca_bundle_and_trusts_no_certificate() -> None:
    context = plain_http_tls()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0  # any TLS connection through it fails
    server = await asyncio.start_server(_answer_ok, "127.0.0.1", 0)
    async with server, outgoing_client(base_url=f"http://127.0.0.1:{_port(server)}") as client:
        assert (await client.get("/v1/trust-bundle")).text == "ok"


@pytest.mark.parametrize(
    ("base_url", "loads_the_bundle"),
    [("http://127.0.0.1:15672/api", False), ("HTTP://hub.lienthong.invalid", False),
     (httpx.URL("http://127.0.0.1:8400"), False), ("https://hub.lienthong.invalid", True),
     ("", True)],
)  # fmt: skip
async def test_only_a_client_that_may_speak_tls_loads_the_ca_bundle(
    base_url: str | httpx.URL, loads_the_bundle: bool
) -> None:
    client_tls.cache_clear()
    async with outgoing_client(base_url=base_url):
        assert (client_tls.cache_info().currsize == 1) is loads_the_bundle


def _port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


async def _receive_buffer_of(client: httpx.AsyncClient, url: str) -> int:
    """SO_RCVBUF of the connection `client` opens to `url`."""
    async with client, client.stream("GET", url) as answer:
        sock: socket.socket = answer.extensions["network_stream"].get_extra_info("socket")
        return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


async def _answer_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A server (or proxy) that answers 'ok', noting each request line in `REQUESTS`."""
    head = await reader.readuntil(b"\r\n\r\n")
    REQUESTS.append(head.split(b"\r\n")[0].decode())
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    await writer.drain()
    writer.close()


REQUESTS: list[str] = []


async def test_a_bounded_receive_buffer_is_set_on_the_connection() -> None:
    server = await asyncio.start_server(_answer_ok, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    async with server:
        bounded = await _receive_buffer_of(outgoing_client(receive_buffer=20 * 1024), url)
        kernels = await _receive_buffer_of(outgoing_client(), url)
    assert bounded == 2 * 20 * 1024  # Linux doubles what it is given, for its bookkeeping
    assert kernels != bounded


async def test_a_bounded_client_goes_through_the_proxy_of_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy = await asyncio.start_server(_answer_ok, "127.0.0.1", 0)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.sockets[0].getsockname()[1]}")
    REQUESTS.clear()
    async with proxy, outgoing_client(receive_buffer=20 * 1024) as client:
        answer = await client.get("http://hub.lienthong.invalid/v1/attachments/abc")
    assert answer.text == "ok"
    assert REQUESTS == ["GET http://hub.lienthong.invalid/v1/attachments/abc HTTP/1.1"]
