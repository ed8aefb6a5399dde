"""Enveloped XMLDSig over a whole edXML package: signing as an agency, verifying as a receiver.

lienthong signs with one namespaced ``ds:Signature``, last child of ``edXMLHeader``, whose one
reference (URI="") covers the whole package, attachments included; canonicalization is C14N 1.0
because the national axis' Java SDK uses it. The verifier refuses anything else that could
let a signature cover less than the package (signature wrapping), and hands back only the
bytes it verified: callers must process those, never the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

from schemas.dsig_algorithms import DigestAlgorithm, SignatureMethod
from schemas.errors import SignatureError
from schemas.keys import CertificateInfo, SigningIdentity, certificate_info, key_matches_certificate
from schemas.namespaces import DSIG as DS_NS
from schemas.reader import ReadResult, read_package, read_parsed
from schemas.safe_xml import ParseLimits, parse_canonical, parse_xml
from schemas.signature_shape import (
    DS_SIGNATURE,
    EDXML_ROOT,
    PATHS_KEPT,
    SignatureRefused,
    check_signature_value,
    check_signed_info,
    find_signature,
    header_of,
    is_signature_element,
    signer_path,
)
from schemas.trust import trust_problem, validity_problem
from schemas.xmldsig import InvalidDigest, SigningKey, sign_enveloped, verify_enveloped

__all__ = [
    "SignatureState",
    "Verification",
    "read_verified",
    "sign_package",
    "sign_tree",
    "verify_package",
]

_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_ACCEPTED_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)
_MIN_RSA_BITS = 2048
# Everything lxml or cryptography may raise on hostile signature content (cryptography reads
# parts of a certificate, such as its extensions, only when they are asked for).
_PROCESSING_FAILURES = (
    InvalidSignature,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    InvalidDigest,
    UnsupportedAlgorithm,
    etree.LxmlError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    NotImplementedError,
)


class SignatureState(StrEnum):
    """What a package's signature turned out to be (accepted or not is a separate question)."""

    VALID = "valid"
    INVALID = "invalid"
    ABSENT = "absent"
    LEGACY_SHA1 = "legacy-sha1"


@dataclass(frozen=True)
class Verification:
    """The outcome of verifying a package's signature.

    `verified_xml` is the canonical form of what the signature covers (the package without the
    signature); it is set only when the signature is accepted, and is the only thing a caller
    may go on to process (`read_verified`). `verified_tree` is the verifier's parse of it.
    """

    state: SignatureState
    accepted: bool
    reason: str | None = None
    algorithm: str | None = None
    certificate: CertificateInfo | None = None
    trusted: bool | None = None
    verified_xml: bytes | None = None
    verified_tree: etree._Element | None = field(default=None, repr=False, compare=False)


# --- signing ----------------------------------------------------------------------------------


def _detach(element: etree._Element) -> None:
    """Remove an element but keep the text after it, so the surrounding layout survives."""
    parent = element.getparent()
    if parent is None:
        return
    previous = element.getprevious()
    if element.tail:
        before = parent.text if previous is None else previous.tail
        # Layout whitespace is replaced rather than piled up; real text is kept whole.
        kept = element.tail if _blank(before) and _blank(element.tail) else None
        joined = kept or (before or "") + element.tail
        if previous is None:
            parent.text = joined
        else:
            previous.tail = joined
    parent.remove(element)


def _blank(text: str | None) -> bool:
    return not text or not text.strip()


def _remove_signatures(root: etree._Element, header: etree._Element) -> None:
    """Drop every XMLDSig signature and the legacy un-namespaced ones old SDKs put in the header."""
    old = [*root.iter(DS_SIGNATURE), *(child for child in header if is_signature_element(child))]
    for element in dict.fromkeys(old):
        _detach(element)


def _append_signature(header: etree._Element) -> etree._Element:
    """An empty ds:Signature, last in the header, laid out like the header's other children."""
    last = header[-1] if len(header) else None
    signature = etree.SubElement(header, DS_SIGNATURE, nsmap={"ds": DS_NS})
    if last is not None:
        # Take over the closing indentation; the previous sibling gets the siblings' one.
        signature.tail = last.tail
        if header.text and not header.text.strip():
            last.tail = header.text
    return signature


def _signing_key(identity: SigningIdentity) -> SigningKey:
    key = identity.private_key
    if not key_matches_certificate(key, identity.certificate):
        raise SignatureError("the private key does not match the signing certificate")
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= _MIN_RSA_BITS:
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise SignatureError("only RSA keys of 2048 bits or more and EC P-256 keys may sign packages")


def sign_package(
    data: bytes, identity: SigningIdentity, *, limits: ParseLimits | None = None
) -> bytes:
    """Sign a whole edXML package (attachments included) and return it as UTF-8 bytes.

    Any earlier signature is dropped first: a package carries exactly one signature.
    """
    return sign_tree(parse_xml(data, limits or ParseLimits()).root, identity)


def sign_tree(root: etree._Element, identity: SigningIdentity) -> bytes:
    """`sign_package` for a package this process built itself (``writer.package_tree``),
    which has no need to be serialized and parsed again first. The tree is changed."""
    header = header_of(root)
    if root.tag != EDXML_ROOT or header is None:
        raise SignatureError("not an edXML package: no edXML/edXMLEnvelope/edXMLHeader to sign")
    key = _signing_key(identity)
    _remove_signatures(root, header)
    signature = _append_signature(header)
    try:
        sign_enveloped(root, signature, key, [identity.certificate, *identity.chain])
    except _PROCESSING_FAILURES as error:
        raise SignatureError(f"cannot sign the package: {error}") from error
    # The whole document, as the digest covers it (processing instructions beside the root).
    document = root.getroottree()
    return _XML_DECLARATION + bytes(
        etree.tostring(document, xml_declaration=False, encoding="UTF-8")
    )


# --- verifying: certificate, cryptography, verdict ---------------------------------------------


def _check_signing_certificate(cert: x509.Certificate, at: datetime) -> None:
    problem = validity_problem(cert, at)
    if problem is not None:
        raise SignatureRefused(f"the signing {problem}")
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < _MIN_RSA_BITS:
        raise SignatureRefused(
            f"the signing key is RSA of {key.key_size} bits; at least 2048 are required"
        )
    if isinstance(key, ec.EllipticCurvePublicKey) and not isinstance(key.curve, _ACCEPTED_CURVES):
        raise SignatureRefused(
            f"the signing key is on curve {key.curve.name}, which is not accepted"
        )
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise SignatureRefused("the signing key is neither RSA nor EC")


def _explain(error: Exception) -> str:
    if isinstance(error, InvalidDigest):
        return "the package was changed after it was signed (the digest does not match)"
    if isinstance(error, InvalidSignature):
        return "the signature value does not verify with the signer's certificate"
    return f"the signature cannot be processed ({type(error).__name__}: {error})"


@dataclass(frozen=True)
class _Signed:
    """What a signature covers: its canonical bytes, and a parse of them."""

    xml: bytes
    tree: etree._Element


def _verified_content(
    root: etree._Element,
    signature: etree._Element,
    cert: x509.Certificate,
    algorithms: tuple[SignatureMethod, DigestAlgorithm],
) -> _Signed:
    """Check the signature cryptographically; what it covers, and a parse of that."""
    try:
        content = verify_enveloped(root, signature, cert.public_key(), algorithms)
        # What is read afterwards is a parse of the canonical bytes the digest covered, never
        # the received tree: comments in it, which the digest ignores, could split a text.
        return _Signed(content, parse_canonical(content))
    except _PROCESSING_FAILURES as error:
        raise SignatureRefused(_explain(error)) from None


@dataclass(frozen=True)
class _Policy:
    trust: Sequence[x509.Certificate]
    allow_legacy_sha1: bool
    at: datetime


def _fragment(uri: str) -> str:
    return uri.rsplit("#", 1)[-1]


def _verdict(
    algorithms: tuple[SignatureMethod, DigestAlgorithm],
    path: tuple[x509.Certificate, ...],
    signed: _Signed,
    policy: _Policy,
) -> Verification:
    method, digest = algorithms
    legacy = method == SignatureMethod.RSA_SHA1 or digest == DigestAlgorithm.SHA1
    reasons = []
    if legacy:
        allowed = "allowed here" if policy.allow_legacy_sha1 else "not allowed here"
        reasons.append(
            f"the package is signed with legacy SHA-1 ({_fragment(method.value)}, digest "
            f"{_fragment(digest.value)}), which is {allowed}"
        )
    problem = trust_problem(path, policy.trust, policy.at) if policy.trust else None
    if problem is not None:
        reasons.append(f"the signer is not trusted: {problem}")
    accepted = (not legacy or policy.allow_legacy_sha1) and problem is None
    return Verification(
        state=SignatureState.LEGACY_SHA1 if legacy else SignatureState.VALID,
        accepted=accepted,
        reason="; ".join(reasons) or None,
        algorithm=_fragment(method.value),
        certificate=_summary(path[0]),
        trusted=(problem is None) if policy.trust else None,
        verified_xml=signed.xml if accepted else None,
        verified_tree=signed.tree if accepted else None,
    )


# The same few certificates sign everything: their summary is made once each.
_summary = lru_cache(maxsize=PATHS_KEPT)(certificate_info)


def _invalid(reason: str, certificate: CertificateInfo | None = None) -> Verification:
    return Verification(SignatureState.INVALID, False, reason, certificate=certificate)


def _verify_signed(
    root: etree._Element, signature: etree._Element, policy: _Policy
) -> Verification:
    try:
        algorithms = check_signed_info(signature)
        check_signature_value(signature)
        path = signer_path(signature)
    except SignatureRefused as refused:
        return _invalid(str(refused))
    try:
        _check_signing_certificate(path[0], policy.at)
        signed = _verified_content(root, signature, path[0], algorithms)
    except SignatureRefused as refused:
        return _invalid(str(refused), _summary(path[0]))
    return _verdict(algorithms, path, signed, policy)


def _utc(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def verify_package(
    data: bytes,
    *,
    trust: Sequence[x509.Certificate] = (),
    allow_legacy_sha1: bool = False,
    at: datetime | None = None,
    limits: ParseLimits | None = None,
) -> Verification:
    """Verify the package's signature; unsafe or malformed XML raises EnvelopeError.

    With `trust` given, the signer's certificate must also chain to one of those anchors.
    `at` (default now; naive means UTC) is the instant certificates must be valid at.
    """
    root = parse_xml(data, limits or ParseLimits()).root
    policy = _Policy(tuple(trust), allow_legacy_sha1, _utc(at))
    try:
        signature = find_signature(root)
    except SignatureRefused as refused:
        return _invalid(str(refused))
    if signature is None:
        return Verification(SignatureState.ABSENT, False, "the package is not signed")
    try:
        return _verify_signed(root, signature, policy)
    except _PROCESSING_FAILURES as error:
        # cryptography parses parts of a certificate lazily, so a hostile one can fail late.
        return _invalid(f"the signature's certificate cannot be processed ({error})")


def read_verified(verification: Verification, limits: ParseLimits | None = None) -> ReadResult:
    """The package an accepted signature covers, read from the verifier's own parse of it
    when there is one (it is not parsed again); from its canonical bytes otherwise."""
    if verification.verified_xml is None:
        raise SignatureError("only what an accepted signature covers may be read")
    if verification.verified_tree is not None:
        return read_parsed(verification.verified_tree, limits)
    return read_package(verification.verified_xml, limits)
