"""Packages signed by Java's XML signature API (the national SDK's stack), as lienthong judges
them; see tests/schemas/java_signed/README.md for how they were made."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.reader import read_package
from schemas.signing import SignatureState, read_verified, verify_package

VECTORS = Path(__file__).parent / "java_signed"
SIGNED_AT = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)  # within the test certificates' validity
VALID = [
    "c14n-rsa", "exc-c14n-ec", "enveloped-only", "ds-unprefixed", "xml-lang-on-root",
    "pi-before-root", "with-comments", "default-ns-undeclared", "prefix-rebound",
]  # fmt: skip


@pytest.mark.parametrize("name", VALID)
def test_what_java_signs_verifies(name: str) -> None:
    result = verify_package((VECTORS / f"{name}.xml").read_bytes(), at=SIGNED_AT)
    assert result.state is SignatureState.VALID and result.accepted, result.reason
    assert result.verified_xml is not None
    assert read_verified(result) == read_package(result.verified_xml)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("refused-default-in-prefixlist", "#default in its InclusiveNamespaces"),
        ("refused-two-canonicalizations", "2 canonicalization transforms"),
    ],
)
def test_what_lienthong_cannot_reproduce_is_refused_saying_why(name: str, reason: str) -> None:
    result = verify_package((VECTORS / f"{name}.xml").read_bytes(), at=SIGNED_AT)
    assert result.state is SignatureState.INVALID and not result.accepted
    assert result.reason is not None and reason in result.reason
