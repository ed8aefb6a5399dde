"""The shape of an edXML package's signature, checked before any cryptography.

An enveloped signature can only be trusted to cover the whole package when there is exactly
one, where lienthong expects it, with one reference to the whole document (URI="") and no
transform that could select less. These checks refuse everything else with a sentence an
operator can act on; :mod:`schemas.signing` then does the cryptography.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache

from cryptography import x509
from lxml import etree

from schemas.dsig_algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from schemas.namespaces import DSIG as DS_NS
from schemas.namespaces import EDXML as EDXML_NS
from schemas.reader_nodes import element_path
from schemas.trust import CertificatePathError, signing_path

DS_SIGNATURE = f"{{{DS_NS}}}Signature"
EDXML_ROOT = f"{{{EDXML_NS}}}edXML"
HEADER_PATH = f"{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader"
_DS = {"ds": DS_NS}
_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
ALLOWED_CANONICALIZATIONS = frozenset(
    method.value
    for method in (
        CanonicalizationMethod.CANONICAL_XML_1_0,
        CanonicalizationMethod.CANONICAL_XML_1_0_WITH_COMMENTS,
        CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0_WITH_COMMENTS,
    )
)
XML_SPACE = re.compile(r"[ \t\r\n]")
# Signers whose certificate paths are kept (a province's agencies, each with a path of a
# few KB).
PATHS_KEPT = 512


class SignatureRefused(Exception):
    """A signature refused before or during verification; the message says why."""


def is_signature_element(element: etree._Element) -> bool:
    """Whether this is an element named Signature, in whatever namespace."""
    return isinstance(element.tag, str) and etree.QName(element).localname == "Signature"


def header_of(root: etree._Element) -> etree._Element | None:
    """The package's edXMLEnvelope/edXMLHeader, if it has one."""
    return root.find(HEADER_PATH)


def _signature_parents(root: etree._Element) -> list[etree._Element]:
    header = header_of(root)
    return [root] if header is None else [root, header]


def find_signature(root: etree._Element) -> etree._Element | None:
    """The package's one XMLDSig signature, None when unsigned; refused when ambiguous."""
    signatures = list(root.iter(DS_SIGNATURE))
    parents = _signature_parents(root)
    foreign = [child for p in parents for child in p if is_signature_element(child)]
    foreign = [child for child in foreign if etree.QName(child).namespace != DS_NS]
    if len(signatures) > 1:
        raise SignatureRefused(
            f"the package carries {len(signatures)} XMLDSig signatures; exactly one is allowed "
            "(extra signatures are how signature-wrapping attacks work)"
        )
    if foreign:
        beside = "beside the XMLDSig signature, " if signatures else ""
        raise SignatureRefused(
            f"{beside}the Signature element at {element_path(foreign[0])} is not in the XMLDSig "
            f"namespace ({DS_NS}), so it cannot be verified"
        )
    if not signatures:
        return None
    _refuse_unsigned_parts(signatures[0])
    parent = signatures[0].getparent()
    if not any(parent is allowed for allowed in parents):
        raise SignatureRefused(
            f"the signature sits at {element_path(signatures[0])}; it must be a child of "
            "edXMLHeader or of the root element"
        )
    return signatures[0]


def _refuse_unsigned_parts(signature: etree._Element) -> None:
    """ds:Object, ds:Manifest and RetrievalMethod would travel unsigned or fetch things: none."""
    for local in ("Object", "Manifest", "RetrievalMethod"):
        found = signature.find(f".//ds:{local}", _DS)
        if found is not None:
            raise SignatureRefused(
                f"the signature carries a ds:{local} element, which lienthong does not accept "
                "(it is not covered by the signature or points elsewhere)"
            )


def _algorithm_of(element: etree._Element | None, what: str) -> str:
    algorithm = None if element is None else element.get("Algorithm")
    if not algorithm:
        raise SignatureRefused(f"the signature has no {what} algorithm")
    return algorithm


def _check_reference(signed_info: etree._Element) -> None:
    references = signed_info.findall("ds:Reference", _DS)
    if len(references) != 1:
        raise SignatureRefused(
            f"the signature has {len(references)} references; exactly one, covering the whole "
            "package, is required"
        )
    uri = references[0].get("URI")
    if uri != "":
        raise SignatureRefused(
            f'the signature\'s reference points at URI={uri!r}; only URI="" (the whole '
            "package) is accepted"
        )
    transforms = [
        _algorithm_of(node, "transform")
        for node in references[0].findall("ds:Transforms/ds:Transform", _DS)
    ]
    unknown = [t for t in transforms if t != _ENVELOPED and t not in ALLOWED_CANONICALIZATIONS]
    if unknown:
        raise SignatureRefused(f"the signature uses a transform that is not allowed: {unknown[0]}")
    if _ENVELOPED not in transforms:
        raise SignatureRefused("the signature's reference lacks the enveloped-signature transform")
    canonicalizations = [t for t in transforms if t in ALLOWED_CANONICALIZATIONS]
    if len(canonicalizations) > 1:
        # One after another they need not give what either gives alone; signers use one.
        raise SignatureRefused(
            f"the signature's reference has {len(canonicalizations)} canonicalization "
            "transforms; at most one is accepted"
        )


def check_signed_info(signature: etree._Element) -> tuple[SignatureMethod, DigestAlgorithm]:
    """Refuse anything but one whole-package reference; return the algorithms it names."""
    signed_info = signature.find("ds:SignedInfo", _DS)
    if signed_info is None:
        raise SignatureRefused("the signature has no SignedInfo")
    c14n = _algorithm_of(signed_info.find("ds:CanonicalizationMethod", _DS), "canonicalization")
    if c14n not in ALLOWED_CANONICALIZATIONS:
        raise SignatureRefused(f"the signature's canonicalization method is not allowed: {c14n}")
    _check_reference(signed_info)
    method = _algorithm_of(signed_info.find("ds:SignatureMethod", _DS), "signature")
    digest = _algorithm_of(signed_info.find("ds:Reference/ds:DigestMethod", _DS), "digest")
    try:
        return SignatureMethod(method), DigestAlgorithm(digest)
    except ValueError:
        raise SignatureRefused(
            f"unsupported signature or digest algorithm: {method}, {digest}"
        ) from None


def strict_base64(text: str | None) -> bytes | None:
    """Decoded bytes, or None unless the text is canonical base64 (one encoding per value)."""
    compact = XML_SPACE.sub("", text or "")
    try:
        raw = base64.b64decode(compact, validate=True)
    except ValueError:  # binascii.Error, or characters outside ASCII
        return None
    return raw if raw and base64.b64encode(raw).decode() == compact else None


def check_signature_value(signature: etree._Element) -> None:
    """Refuse a SignatureValue that is missing or not canonical base64."""
    # Lenient base64 decoding would let several texts stand for one signature value.
    if strict_base64(signature.findtext("ds:SignatureValue", None, _DS)) is None:
        raise SignatureRefused("the SignatureValue is missing or not canonical base64")


def _certificates(texts: tuple[str, ...]) -> list[x509.Certificate]:
    certs = []
    for number, text in enumerate(texts, start=1):
        der = strict_base64(text)
        try:
            certs.append(x509.load_der_x509_certificate(der or b""))
        except (ValueError, x509.InvalidVersion):
            raise SignatureRefused(
                f"X509Certificate number {number} is not a readable certificate"
            ) from None
    return certs


@lru_cache(maxsize=PATHS_KEPT)
def _path(texts: tuple[str, ...]) -> tuple[x509.Certificate, ...]:
    """Kept for the texts it was built from: an agency signs every package with the same
    certificates, and reading them and checking their path anew cost a sixth of verifying a
    status. A path that fails is not kept, and fails again each time."""
    return signing_path(_certificates(texts))


def signer_path(signature: etree._Element) -> tuple[x509.Certificate, ...]:
    """The certificates in KeyInfo as one verified path, signing certificate first."""
    nodes = signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _DS)
    if not nodes:
        raise SignatureRefused("the signature carries no X.509 certificate in KeyInfo/X509Data")
    try:
        return _path(tuple(node.text or "" for node in nodes))
    except CertificatePathError as error:
        raise SignatureRefused(str(error)) from None
