"""One TLS context per process for the HTTP clients lienthong opens (webhooks, the hub's
attachment store, the trust bundle, RabbitMQ's management API).

httpx builds a new SSL context for every client it makes and loads the CA bundle into it
again: about 18 ms of CPU and a megabyte of memory, paid on every webhook round and every
attachment transfer. The context is the same each time (httpx's own default, which honours
SSL_CERT_FILE / SSL_CERT_DIR), and one SSLContext may serve any number of connections, so it is
built once, when first needed.
"""

from __future__ import annotations

import socket
import ssl
from functools import cache
from typing import Any

import httpx


@cache
def client_tls() -> ssl.SSLContext:
    """The verifying TLS context every outgoing client shares."""
    return httpx.create_ssl_context()


def outgoing_client(*, receive_buffer: int = 0, **options: Any) -> httpx.AsyncClient:
    """An httpx client (`options` as httpx takes them) that verifies with the shared context;
    `receive_buffer` bounds each connection's socket receive buffer (0: the kernel's sizing)."""
    if not receive_buffer:
        return httpx.AsyncClient(verify=client_tls(), **options)
    bounded = [(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)]
    transport = httpx.AsyncHTTPTransport(verify=client_tls(), socket_options=bounded)
    return httpx.AsyncClient(transport=transport, **options)
