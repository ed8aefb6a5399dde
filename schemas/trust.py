"""Certificate paths: the chain a signature carries, and whether it leads to a trust anchor.

KeyInfo is not covered by an XML signature, so anything in it may have been tampered with.
The certificates it carries must therefore form exactly one path from the signing certificate
upwards, each one verifiably issued by the next: a certificate that does not fit is refused
rather than ignored, so that an altered certificate can never pass unnoticed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes


class CertificatePathError(Exception):
    """The carried certificates do not form one verifiable path; the message says why."""


def describe(cert: x509.Certificate) -> str:
    """A short human name for a certificate in messages."""
    return f"'{cert.subject.rfc4514_string()}'"


def validity_problem(cert: x509.Certificate, at: datetime) -> str | None:
    """Why the certificate is not valid at that instant, or None when it is."""
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if start <= at <= end:
        return None
    return (
        f"certificate {describe(cert)} is valid from {start:%Y-%m-%d %H:%M:%S} UTC "
        f"to {end:%Y-%m-%d %H:%M:%S} UTC, not at {at:%Y-%m-%d %H:%M:%S} UTC"
    )


# Every package carries the same few certificates: a verdict depends on their bytes only
# (a Certificate hashes and compares by its DER), so it is kept rather than computed again.
@lru_cache(maxsize=1024)
def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer` signed `cert` (names match and the signature verifies)."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


def _distinct(certs: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    seen: dict[bytes, x509.Certificate] = {}
    for cert in certs:
        seen.setdefault(_fingerprint(cert), cert)
    return list(seen.values())


def _self_issued(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


def _signing_certificate(certs: list[x509.Certificate]) -> x509.Certificate:
    """The first certificate that issued none of the others (the end of the path)."""
    for cert in certs:
        if not any(other.issuer == cert.subject for other in certs if other is not cert):
            return cert
    return certs[0]


def _extend(path: list[x509.Certificate], remaining: list[x509.Certificate]) -> bool:
    """Add the issuer of the path's last certificate; False when the path ends there."""
    current = path[-1]
    if _self_issued(current):
        if not issued_by(current, current):
            raise CertificatePathError(
                f"the self-signed certificate {describe(current)} in KeyInfo has a signature "
                "that does not verify (altered or corrupt)"
            )
        return False
    issuer = next((cert for cert in remaining if cert.subject == current.issuer), None)
    if issuer is None:
        return False
    if not issued_by(current, issuer):
        raise CertificatePathError(
            f"certificate {describe(current)} in KeyInfo does not verify as issued by "
            f"{describe(issuer)} (altered or corrupt)"
        )
    path.append(issuer)
    remaining.remove(issuer)
    return True


def signing_path(carried: Sequence[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """The carried certificates ordered from the signing certificate up to the last issuer."""
    if not carried:
        raise CertificatePathError("the signature carries no certificate")
    remaining = _distinct(carried)
    path = [_signing_certificate(remaining)]
    remaining.remove(path[0])
    while _extend(path, remaining):
        pass
    if remaining:
        raise CertificatePathError(
            f"certificate {describe(remaining[0])} in KeyInfo is not part of the signing "
            f"certificate's chain"
        )
    return tuple(path)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _may_sign_documents(cert: x509.Certificate) -> bool:
    """A key usage extension, when present, must allow signatures (or non-repudiation)."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return bool(usage.digital_signature or usage.content_commitment)


def _anchored_at(cert: x509.Certificate, anchors: Sequence[x509.Certificate], at: datetime) -> bool:
    """Whether the certificate is an anchor, or is issued by one valid at that instant."""
    if any(_fingerprint(anchor) == _fingerprint(cert) for anchor in anchors):
        return True
    return any(
        issued_by(cert, anchor) and validity_problem(anchor, at) is None for anchor in anchors
    )


def trust_problem(
    path: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate], at: datetime
) -> str | None:
    """Why the path does not lead to one of the anchors at that instant, or None when it does.

    Every certificate up to the anchor must be valid at `at`, and every one above the signing
    certificate must be a CA.
    """
    if not _may_sign_documents(path[0]):
        return f"certificate {describe(path[0])} is not meant for signing (its key usage)"
    for index, cert in enumerate(path):
        problem = validity_problem(cert, at)
        if problem is not None:
            return problem
        if index > 0 and not _is_ca(cert):
            return f"certificate {describe(cert)} issued another but is not a CA"
        if _anchored_at(cert, anchors, at):
            return None
    return (
        f"the certificate chain ends at {describe(path[-1])}, issued by "
        f"'{path[-1].issuer.rfc4514_string()}', which is not a trusted root"
    )
