"""The arithmetic of verifying the one kind of XMLDSig signature lienthong accepts.

:mod:`schemas.signature_shape` has already refused anything but one enveloped signature with
one reference to the whole document (URI="") and the canonicalizations it allows. What is left
is canonicalizing SignedInfo, checking the signature value over it with the signer's key, and
checking the reference's digest over the document without its signature.

This is done here rather than by signxml's verifier because that one serializes and parses the
package again for each step; on a 10 KB document it cost four times as much as all of this.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

from schemas.namespaces import DSIG as DS_NS
from schemas.signature_shape import ALLOWED_CANONICALIZATIONS, SignatureRefused, strict_base64

__all__ = ["InvalidDigest", "verify_enveloped"]

_DS = {"ds": DS_NS}
_EXCLUSIVE_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"
_HASHES: dict[SignatureMethod, type[hashes.HashAlgorithm]] = {
    SignatureMethod.RSA_SHA1: hashes.SHA1,
    SignatureMethod.RSA_SHA256: hashes.SHA256,
    SignatureMethod.RSA_SHA384: hashes.SHA384,
    SignatureMethod.RSA_SHA512: hashes.SHA512,
    SignatureMethod.ECDSA_SHA256: hashes.SHA256,
    SignatureMethod.ECDSA_SHA384: hashes.SHA384,
    SignatureMethod.ECDSA_SHA512: hashes.SHA512,
}
_DIGESTS = {
    DigestAlgorithm.SHA1: "sha1",
    DigestAlgorithm.SHA256: "sha256",
    DigestAlgorithm.SHA384: "sha384",
    DigestAlgorithm.SHA512: "sha512",
}
# XMLDSig: a reference whose transforms end without a canonicalization is canonicalized with
# C14N 1.0.
_DEFAULT_C14N = CanonicalizationMethod.CANONICAL_XML_1_0.value


class InvalidDigest(Exception):
    """The document's digest differs from the one the signature covers."""


@dataclass(frozen=True)
class _Canonicalization:
    exclusive: bool
    with_comments: bool
    prefixes: tuple[str, ...] | None

    @classmethod
    def of(cls, algorithm: str, method: etree._Element | None) -> _Canonicalization:
        """The canonicalization a CanonicalizationMethod or Transform element names."""
        exclusive = algorithm.startswith(_EXCLUSIVE_NS)
        listed = None
        if exclusive and method is not None:
            listed = method.find(f"{{{_EXCLUSIVE_NS}}}InclusiveNamespaces")
        prefixes = None if listed is None else tuple((listed.get("PrefixList") or "").split())
        return cls(exclusive, algorithm.endswith("#WithComments"), prefixes)

    def apply(self, node: etree._Element | etree._ElementTree, *, comments: bool) -> bytes:
        return etree.tostring(
            node,
            method="c14n",
            exclusive=self.exclusive,
            with_comments=self.with_comments and comments,
            inclusive_ns_prefixes=self.prefixes,
        )


def verify_enveloped(
    root: etree._Element,
    signature: etree._Element,
    key: object,
    algorithms: tuple[SignatureMethod, DigestAlgorithm],
) -> bytes:
    """Check `signature` (of the shape signature_shape accepts) with the signer's `key`; the
    canonical document without it, which is what it covers.

    The signature is taken out of `root`'s tree. Raises InvalidSignature when the value does
    not verify, InvalidDigest when the document was changed, SignatureRefused otherwise.
    """
    method, digest = algorithms
    signed_info = _only(signature, "ds:SignedInfo")
    value = strict_base64(signature.findtext("ds:SignatureValue", None, _DS))
    _check_value(_canonical_signed_info(signed_info), value or b"", method, key)
    reference = _only(signed_info, "ds:Reference")
    expected = strict_base64(reference.findtext("ds:DigestValue", None, _DS))
    if expected is None:
        raise SignatureRefused("the reference's DigestValue is missing or not canonical base64")
    name = _DIGESTS.get(digest)
    if name is None:
        raise SignatureRefused(f"the digest method is not accepted: {digest.value}")
    content = _without_signature(root, signature, _reference_canonicalization(reference))
    if not hmac.compare_digest(hashlib.new(name, content).digest(), expected):
        raise InvalidDigest
    return content


def _only(parent: etree._Element, path: str) -> etree._Element:
    found = parent.find(path, _DS)
    if found is None:
        raise SignatureRefused(f"the signature has no {path.removeprefix('ds:')}")
    return found


def _canonical_signed_info(signed_info: etree._Element) -> bytes:
    """SignedInfo as its CanonicalizationMethod renders it where it sits in the document
    (C14N 1.0 renders the namespaces declared on its ancestors too)."""
    method = signed_info.find("ds:CanonicalizationMethod", _DS)
    algorithm = "" if method is None else method.get("Algorithm", "")
    if algorithm not in ALLOWED_CANONICALIZATIONS:
        raise SignatureRefused(
            f"the signature's canonicalization method is not allowed: {algorithm}"
        )
    return _Canonicalization.of(algorithm, method).apply(signed_info, comments=True)


def _as_dss(raw: bytes, key: ec.EllipticCurvePublicKey) -> bytes:
    """XMLDSig writes an ECDSA value as r and s side by side; cryptography wants DER."""
    size = (key.key_size + 7) // 8
    if len(raw) != 2 * size:
        raise InvalidSignature
    r, s = int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
    return encode_dss_signature(r, s)


def _check_value(signed_info: bytes, value: bytes, method: SignatureMethod, key: object) -> None:
    algorithm = _HASHES.get(method)
    if algorithm is None:
        raise SignatureRefused(f"the signature method is not accepted: {method.value}")
    ecdsa = method.name.startswith("ECDSA")
    if ecdsa and isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(_as_dss(value, key), signed_info, ec.ECDSA(algorithm()))
    elif not ecdsa and isinstance(key, rsa.RSAPublicKey):
        key.verify(value, signed_info, padding.PKCS1v15(), algorithm())
    else:
        raise SignatureRefused("the signature method does not match the signer's key type")


def _reference_canonicalization(reference: etree._Element) -> _Canonicalization:
    """The last canonicalization among the reference's transforms, else C14N 1.0.

    For a reference to the whole document, canonicalizing the output of an earlier
    canonicalization again gives what the last one alone gives.
    """
    chosen, element = _DEFAULT_C14N, None
    for transform in reference.findall("ds:Transforms/ds:Transform", _DS):
        if transform.get("Algorithm") in ALLOWED_CANONICALIZATIONS:
            chosen, element = transform.get("Algorithm", _DEFAULT_C14N), transform
    return _Canonicalization.of(chosen, element)


def _without_signature(
    root: etree._Element, signature: etree._Element, canonicalization: _Canonicalization
) -> bytes:
    """The enveloped-signature transform (the Signature element goes, the text after it
    stays), then the document canonicalized: URI="" means without comments, whatever the
    canonicalization says about them."""
    parent = signature.getparent()
    if parent is not None:
        if signature.tail:
            previous = signature.getprevious()
            if previous is None:
                parent.text = (parent.text or "") + signature.tail
            else:
                previous.tail = (previous.tail or "") + signature.tail
        parent.remove(signature)
    return canonicalization.apply(root.getroottree(), comments=False)
