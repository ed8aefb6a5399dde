"""The arithmetic of the one kind of XMLDSig signature lienthong makes and accepts.

An enveloped signature with one reference to the whole document (URI=""). Signing writes it
with C14N 1.0 and SHA-256. For verifying, :mod:`schemas.signature_shape` has already refused
every other shape and any canonicalization it does not allow; what is left is canonicalizing
SignedInfo, checking the signature value over it with the signer's key, and checking the
reference's digest over the document without its signature.

This is done here rather than by signxml because signxml serializes and parses the package
again for each step: on a 10 KB document that cost four times as much as all of this when
verifying, and twice as much when signing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from schemas.dsig_algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from schemas.namespaces import DSIG as DS_NS
from schemas.safe_xml import parse_canonical
from schemas.signature_shape import (
    ALLOWED_CANONICALIZATIONS,
    XML_SPACE,
    SignatureRefused,
    strict_base64,
)

__all__ = ["InvalidDigest", "canonical_signed_info", "sign_enveloped", "verify_enveloped"]

_DS = {"ds": DS_NS}
_EXCLUSIVE_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"
_XML_ATTRIBUTE = "{http://www.w3.org/XML/1998/namespace}"
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
_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_SIGNING_DIGEST = DigestAlgorithm.SHA256


SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


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
        prefixes = None if listed is None else _prefixes(listed.get("PrefixList") or "")
        return cls(exclusive, algorithm.endswith("#WithComments"), prefixes)

    def apply(self, node: etree._Element | etree._ElementTree, *, comments: bool) -> bytes:
        return etree.tostring(
            node,
            method="c14n",
            exclusive=self.exclusive,
            with_comments=self.with_comments and comments,
            inclusive_ns_prefixes=self.prefixes,
        )


def _prefixes(prefix_list: str) -> tuple[str, ...]:
    prefixes = tuple(XML_SPACE.split(prefix_list.strip(" \t\r\n")))
    if "#default" in prefixes:
        # lxml's exclusive canonicalization drops it without a word; a signature that relies
        # on it could only fail, and with a misleading reason.
        raise SignatureRefused(
            "the exclusive canonicalization keeps the default namespace (#default in its "
            "InclusiveNamespaces), which lienthong cannot reproduce; sign without it"
        )
    return tuple(prefix for prefix in prefixes if prefix)


def _standalone(signed_info: etree._Element, inherit_xml_attributes: bool) -> etree._Element:
    """SignedInfo as a document of its own, as C14N 1.0 sees it where it sits: every namespace
    in scope declared on it and, unless exclusive, the xml:* attributes of its ancestors
    (nearest first). lxml's canonicalization of a sub-element in place gets both wrong: it
    drops inherited xml:lang or xml:space and renders a default namespace declared above it as
    xmlns="" on its grandchildren (JSR 105 signers write ds unprefixed by default)."""
    copy = parse_canonical(etree.tostring(signed_info, with_tail=False))
    if inherit_xml_attributes:
        for ancestor in signed_info.iterancestors():
            for name, value in ancestor.attrib.items():
                if name.startswith(_XML_ATTRIBUTE) and name not in copy.attrib:
                    copy.set(name, value)
    return copy


def canonical_signed_info(signed_info: etree._Element) -> bytes:
    """SignedInfo's canonical bytes, by its CanonicalizationMethod: what is signed."""
    method = signed_info.find("ds:CanonicalizationMethod", _DS)
    algorithm = "" if method is None else method.get("Algorithm", "")
    if algorithm not in ALLOWED_CANONICALIZATIONS:
        raise SignatureRefused(
            f"the signature's canonicalization method is not allowed: {algorithm}"
        )
    canonicalization = _Canonicalization.of(algorithm, method)
    standalone = _standalone(signed_info, not canonicalization.exclusive)
    return canonicalization.apply(standalone.getroottree(), comments=True)


def verify_enveloped(
    root: etree._Element,
    signature: etree._Element,
    key: object,
    algorithms: tuple[SignatureMethod, DigestAlgorithm],
) -> bytes:
    """Check `signature` (of the shape signature_shape accepts) with the signer's `key`; the
    canonical document without it, which is what it covers.

    The signature is taken out of `root`'s tree. Raises InvalidSignature when the value does
    not verify, InvalidDigest when the document was changed, SignatureRefused for what
    lienthong does not accept; lxml's and cryptography's errors on hostile input pass through
    (`signing` turns each into a verdict).
    """
    method, digest = algorithms
    canonical = canonical_signed_info(_only(signature, "ds:SignedInfo"))
    value = strict_base64(_text(signature, "ds:SignatureValue"))
    _check_value(canonical, value or b"", method, key)
    # The reference is read from the bytes the signature value covers, not the received tree.
    reference = _only(parse_canonical(canonical), "ds:Reference")
    expected = strict_base64(_text(reference, "ds:DigestValue"))
    if expected is None:
        raise SignatureRefused("the reference's DigestValue is missing or not canonical base64")
    name = _DIGESTS.get(digest)
    if name is None:
        raise SignatureRefused(f"the digest method is not accepted: {digest.value}")
    content = _without_signature(root, signature, _reference_canonicalization(reference))
    if not hmac.compare_digest(hashlib.new(name, content).digest(), expected):
        raise InvalidDigest
    return content


def _text(parent: etree._Element, path: str) -> str:
    """The string value of a child: all its text, comments left out (a comment would end
    `.text` early)."""
    return str(parent.xpath(f"string({path})", namespaces=_DS))


def _only(parent: etree._Element, path: str) -> etree._Element:
    found = parent.find(path, _DS)
    if found is None:
        raise SignatureRefused(f"the signature has no {path.removeprefix('ds:')}")
    return found


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
    """The reference's canonicalization transform (signature_shape lets one at most through),
    else C14N 1.0."""
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


# --- signing ----------------------------------------------------------------------------------


def _child(parent: etree._Element, local: str, algorithm: str | None = None) -> etree._Element:
    attributes = {} if algorithm is None else {"Algorithm": algorithm}
    return etree.SubElement(parent, f"{{{DS_NS}}}{local}", attributes)


def _fill_in(
    signature: etree._Element, method: SignatureMethod, certificates: Sequence[x509.Certificate]
) -> tuple[etree._Element, etree._Element, etree._Element]:
    """Write SignedInfo, SignatureValue and KeyInfo into `signature`; return SignedInfo and
    the DigestValue and SignatureValue elements whose text is still to be written."""
    signed_info = _child(signature, "SignedInfo")
    _child(signed_info, "CanonicalizationMethod", _DEFAULT_C14N)
    _child(signed_info, "SignatureMethod", method.value)
    reference = _child(signed_info, "Reference")
    reference.set("URI", "")
    transforms = _child(reference, "Transforms")
    _child(transforms, "Transform", _ENVELOPED)
    _child(transforms, "Transform", _DEFAULT_C14N)
    _child(reference, "DigestMethod", _SIGNING_DIGEST.value)
    digest_value = _child(reference, "DigestValue")
    signature_value = _child(signature, "SignatureValue")
    x509_data = _child(_child(signature, "KeyInfo"), "X509Data")
    for certificate in certificates:
        der = certificate.public_bytes(Encoding.DER)
        _child(x509_data, "X509Certificate").text = base64.b64encode(der).decode()
    return signed_info, digest_value, signature_value


def _canonical_without(root: etree._Element, signature: etree._Element) -> bytes:
    """What a verifier will digest, the tree left as it was (lxml moves an element's tail
    with it)."""
    parent, previous = signature.getparent(), signature.getprevious()
    if parent is None:
        raise ValueError("the signature must be placed in the document before it is signed")
    index = parent.index(signature)
    text_before = parent.text if previous is None else previous.tail
    content = _without_signature(root, signature, _Canonicalization(False, False, None))
    parent.insert(index, signature)
    if previous is None:
        parent.text = text_before
    else:
        previous.tail = text_before
    return content


def _signature_value(signed_info: bytes, key: SigningKey, method: SignatureMethod) -> bytes:
    algorithm = _HASHES[method]()
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(signed_info, padding.PKCS1v15(), algorithm)
    r, s = decode_dss_signature(key.sign(signed_info, ec.ECDSA(algorithm)))
    size = (key.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def sign_enveloped(
    root: etree._Element,
    signature: etree._Element,
    key: SigningKey,
    certificates: Sequence[x509.Certificate],
) -> None:
    """Sign `root`'s whole document into `signature`, an empty ds:Signature already where it
    belongs in that document; the certificates go into KeyInfo, the signer's first."""
    rsa_key = isinstance(key, rsa.RSAPrivateKey)
    method = SignatureMethod.RSA_SHA256 if rsa_key else SignatureMethod.ECDSA_SHA256
    signed_info, digest_value, signature_value = _fill_in(signature, method, certificates)
    digest = hashlib.sha256(_canonical_without(root, signature)).digest()
    digest_value.text = base64.b64encode(digest).decode()
    canonical = canonical_signed_info(signed_info)
    signature_value.text = base64.b64encode(_signature_value(canonical, key, method)).decode()
