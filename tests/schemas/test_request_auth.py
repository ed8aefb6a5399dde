"""Agencies sign HTTP requests with their package-signing key; the hub verifies them."""

from __future__ import annotations

import pytest

from schemas.keys import Algorithm
from schemas.request_auth import (
    MAX_SKEW_S,
    RequestAuthError,
    authorization,
    parse_authorization,
    verify_authorization,
)
from tests.schemas.factories import COMMUNE, DISTRICT, agency, fresh_ca

NOW = 1_800_000_000
PATH = "/v1/attachments/" + "a" * 64


@pytest.mark.parametrize("algorithm", ["rsa", "ec"])
def test_a_signed_request_verifies_as_its_agency(algorithm: Algorithm) -> None:
    identity = agency(fresh_ca(), DISTRICT, algorithm=algorithm)
    header = authorization(identity, DISTRICT, "get", PATH, at=NOW)
    signed = parse_authorization(header)
    certificates = [identity.certificate]
    assert verify_authorization(signed, "GET", PATH, certificates, now=NOW + 5) == DISTRICT


@pytest.mark.parametrize(
    ("method", "path", "claimed", "now", "message"),
    [
        ("PUT", PATH, DISTRICT, NOW, "does not verify"),
        ("GET", PATH + "x", DISTRICT, NOW, "does not verify"),
        ("GET", PATH, COMMUNE, NOW, "does not verify"),
        ("GET", PATH, DISTRICT, NOW + MAX_SKEW_S + 1, "check the adapter's clock"),
    ],
    ids=["other-method", "other-path", "other-agency", "stale"],
)
def test_a_signature_moved_to_another_request_fails(
    method: str, path: str, claimed: str, now: int, message: str
) -> None:
    identity = agency(fresh_ca(), DISTRICT)
    header = authorization(identity, DISTRICT, "GET", PATH, at=NOW).replace(DISTRICT, claimed)
    with pytest.raises(RequestAuthError, match=message):
        verify_authorization(parse_authorization(header), method, path, [identity.certificate],
                             now=now)  # fmt: skip


def test_another_agencys_certificate_does_not_verify() -> None:
    ca = fresh_ca()
    district, commune = agency(ca, DISTRICT), agency(ca, COMMUNE)
    signed = parse_authorization(authorization(district, DISTRICT, "GET", PATH, at=NOW))
    with pytest.raises(RequestAuthError, match=f"certificate of '{DISTRICT}'"):
        verify_authorization(signed, "GET", PATH, [commune.certificate], now=NOW)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "is required"),
        ("Bearer abc", "scheme must be Lienthong-Signature, not 'Bearer'"),
        ('Lienthong-Signature agency="x", time="1"', "lacks signature"),
        ('Lienthong-Signature agency="x", time="soon", signature="AA=="', "Unix seconds"),
        ('Lienthong-Signature agency="x", time="\u00b2", signature="AA=="', "Unix seconds"),
        (
            'Lienthong-Signature agency="x", time="' + "9" * 5000 + '", signature="AA=="',
            "Unix seconds",
        ),
        ('Lienthong-Signature agency="x", time="1", signature="%%%"', "not base64"),
    ],
)
def test_malformed_headers_say_what_is_wrong(header: str | None, message: str) -> None:
    with pytest.raises(RequestAuthError, match=message):
        parse_authorization(header)
