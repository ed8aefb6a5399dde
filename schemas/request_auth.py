"""Agencies authenticate HTTP requests to the hub with the key they sign packages with.

An adapter sends ``Authorization: Lienthong-Signature agency="...", time="...", signature="..."``.
The signature (RSA PKCS#1 v1.5 or ECDSA, SHA-256) covers the method, the path, the agency code
and the time, so a signature for one request cannot be moved to another path or agency, and
is worth nothing after a few minutes. The hub checks it against the agency's certificates in
its directory: no new secret has to be issued, stored or rotated for HTTP.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from schemas.errors import LienthongError
from schemas.keys import SigningIdentity

SCHEME = "Lienthong-Signature"
MAX_SKEW_S = 300
_PARAM = re.compile(r'\s*(agency|time|signature)="([^"]*)"\s*(?:,|$)')


class RequestAuthError(LienthongError):
    """A request's Authorization header is missing, malformed, stale or does not verify."""

    code = "unauthenticated"


@dataclass(frozen=True)
class SignedRequest:
    """The parts of a Lienthong-Signature header."""

    agency: str
    timestamp: int
    signature: bytes


def _message(method: str, path: str, agency: str, timestamp: int) -> bytes:
    return f"{SCHEME}\n{method.upper()}\n{path}\n{agency}\n{timestamp}".encode()


def authorization(
    identity: SigningIdentity, agency: str, method: str, path: str, at: float | None = None
) -> str:
    """The Authorization header value for one request (`path` without the query string)."""
    timestamp = int(time.time() if at is None else at)
    message = _message(method, path, agency, timestamp)
    key = identity.private_key
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = key.sign(message, ec.ECDSA(hashes.SHA256()))
    encoded = base64.b64encode(signature).decode("ascii")
    return f'{SCHEME} agency="{agency}", time="{timestamp}", signature="{encoded}"'


def parse_authorization(header: str | None) -> SignedRequest:
    """The agency, time and signature of a header; RequestAuthError saying what is wrong."""
    if not header:
        raise RequestAuthError(f"an Authorization header with the {SCHEME} scheme is required")
    scheme, _, rest = header.partition(" ")
    if scheme != SCHEME:
        raise RequestAuthError(f"the Authorization scheme must be {SCHEME}, not '{scheme}'")
    params = dict(_PARAM.findall(rest))
    missing = [name for name in ("agency", "time", "signature") if not params.get(name)]
    if missing:
        raise RequestAuthError(f"the Authorization header lacks {', '.join(missing)}")
    if not re.fullmatch(r"[0-9]{1,12}", params["time"]):
        raise RequestAuthError("time in the Authorization header must be Unix seconds")
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise RequestAuthError("the signature in the Authorization header is not base64") from None
    return SignedRequest(params["agency"], int(params["time"]), signature)


def verify_authorization(
    signed: SignedRequest, method: str, path: str,
    certificates: Iterable[x509.Certificate], now: float | None = None,
) -> str:  # fmt: skip
    """The agency code, when one of its certificates verifies the request in time."""
    moment = time.time() if now is None else now
    if abs(moment - signed.timestamp) > MAX_SKEW_S:
        raise RequestAuthError(
            f"the request was signed at {signed.timestamp}, more than {MAX_SKEW_S} s from the "
            "hub's clock; check the adapter's clock"
        )
    message = _message(method, path, signed.agency, signed.timestamp)
    if not any(_verifies(cert, signed.signature, message) for cert in certificates):
        raise RequestAuthError(
            f"the signature does not verify with any current certificate of '{signed.agency}'"
        )
    return signed.agency


def _verifies(certificate: x509.Certificate, signature: bytes, message: bytes) -> bool:
    key = certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except InvalidSignature:
        return False
    return True
