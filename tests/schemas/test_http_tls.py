"""The TLS context every outgoing HTTP client shares."""

from __future__ import annotations

import ssl

from schemas.http_tls import client_tls


def test_one_context_per_process_and_it_verifies_servers() -> None:
    context = client_tls()
    assert client_tls() is context
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # the CA bundle is loaded
