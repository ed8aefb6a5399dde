"""One TLS context per process for the HTTP clients lienthong opens (webhooks, the hub's
attachment store, the trust bundle, RabbitMQ's management API).

httpx builds a new SSL context for every client it makes and loads the CA bundle into it
again: about 18 ms of CPU and a megabyte of memory, paid on every webhook round and every
attachment transfer. The context is the same each time (httpx's own default, which honours
SSL_CERT_FILE / SSL_CERT_DIR), and one SSLContext may serve any number of connections, so it is
built once, when first needed. A client for a plain-http base URL never needs it.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

import httpx


@cache
def client_tls() -> ssl.SSLContext:
    """The verifying TLS context every outgoing client shares."""
    return httpx.create_ssl_context()


@cache
def plain_http_tls() -> ssl.SSLContext:
    """For a client whose base URL is plain http (the hub's RabbitMQ management API, a hub on
    the same host): it verifies like any other but trusts no certificate, so that a TLS
    connection through it fails closed, and loading no CA bundle it leaves its megabyte out."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def outgoing_client(*, receive_buffer: int = 0, **options: Any) -> httpx.AsyncClient:
    """An httpx client (`options` as httpx takes them) that verifies with the shared context
    (with none for a plain-http base URL); `receive_buffer` bounds the socket receive buffer of
    each connection it reads an answer from (0: the kernel sizes it)."""
    plain = httpx.URL(options.get("base_url", "")).scheme == "http"
    client = httpx.AsyncClient(verify=plain_http_tls() if plain else client_tls(), **options)
    if receive_buffer:
        # Set on the connection once it answers, not through a transport of our own: httpx
        # mounts the proxies of the environment (HTTPS_PROXY, NO_PROXY) only for its own.
        client.event_hooks["response"].append(_bounded_to(receive_buffer))
    return client


def _bounded_to(size: int) -> Callable[[httpx.Response], Awaitable[None]]:
    async def bound(answer: httpx.Response) -> None:
        stream = answer.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)

    return bound
