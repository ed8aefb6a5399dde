"""lienthong's own XMLDSig verification against signatures signxml wrote, as other peers would.

signxml's verifier is the oracle where the two must agree; where XMLDSig says otherwise
(comments are never part of URI="") the test says so.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.verifier import VerifyResult, XMLVerifier

from schemas.keys import Algorithm, SigningIdentity
from schemas.namespaces import DSIG as DS_NS
from schemas.reader import read_package
from schemas.signature_shape import ALLOWED_CANONICALIZATIONS
from schemas.signing import SignatureState, read_verified, sign_package, verify_package
from schemas.xmldsig import canonical_signed_info
from tests.schemas.factories import agency, fresh_ca, package, parse, serialize, sign_by_hand

_DS = {"ds": DS_NS}
_HEADER_OPENS = b"<edXML:edXMLHeader>"


@pytest.fixture(scope="module")
def district() -> SigningIdentity:
    return agency(fresh_ca())


@pytest.fixture(scope="module")
def district_ec() -> SigningIdentity:
    return agency(fresh_ca(algorithm="ec"), algorithm="ec")


_ACCEPTED = [CanonicalizationMethod(uri) for uri in sorted(ALLOWED_CANONICALIZATIONS)]


@pytest.mark.parametrize("c14n", _ACCEPTED, ids=lambda c: c.name)
def test_every_accepted_canonicalization_verifies_as_signxml_verifies_it(
    district: SigningIdentity, c14n: CanonicalizationMethod
) -> None:
    # An unused namespace on the root: inclusive canonicalization renders it in SignedInfo.
    unsigned = package().replace(b"<edXML ", b'<edXML xmlns:x="urn:example:unused" ', 1)
    signed = sign_by_hand(unsigned, district, c14n=c14n)
    oracle = XMLVerifier().verify(signed, x509_cert=district.certificate)
    result = verify_package(signed)
    assert isinstance(oracle, VerifyResult)
    assert result.state is SignatureState.VALID, result.reason
    assert result.verified_xml == oracle.signed_data


@pytest.mark.parametrize("algorithm", ["rsa", "ec"])
def test_what_lienthong_signs_verifies_with_signxml(algorithm: Algorithm) -> None:
    signer = agency(fresh_ca(algorithm=algorithm), algorithm=algorithm)
    signed = sign_package(package(), signer)
    oracle = XMLVerifier().verify(signed, x509_cert=signer.certificate)
    assert isinstance(oracle, VerifyResult)
    assert oracle.signed_data == verify_package(signed).verified_xml


@pytest.mark.parametrize("method", [SignatureMethod.ECDSA_SHA384, SignatureMethod.ECDSA_SHA512])
def test_ecdsa_with_longer_hashes_verifies(
    district_ec: SigningIdentity, method: SignatureMethod
) -> None:
    signed = sign_by_hand(package(), district_ec, method=method, digest=DigestAlgorithm.SHA384)
    result = verify_package(signed)
    assert result.state is SignatureState.VALID, result.reason
    assert result.algorithm == method.value.rsplit("#", 1)[-1]


def _edited(signed: bytes, path: str, change: str, attribute: str | None = None) -> bytes:
    root = parse(signed)
    node = root.find(f".//{path}", _DS)
    assert node is not None
    if attribute is None:
        node.text = change
    else:
        node.set(attribute, change)
    return serialize(root)


def test_a_signature_method_that_is_not_the_keys_is_refused(
    district_ec: SigningIdentity,
) -> None:
    signed = sign_package(package(), district_ec)
    relabelled = _edited(
        signed, "ds:SignatureMethod", SignatureMethod.RSA_SHA256.value, attribute="Algorithm"
    )
    result = verify_package(relabelled)
    assert result.state is SignatureState.INVALID
    assert result.reason == "the signature method does not match the signer's key type"


def test_an_ecdsa_value_of_the_wrong_length_does_not_verify(
    district_ec: SigningIdentity,
) -> None:
    signed = sign_package(package(), district_ec)
    value = parse(signed).findtext(".//ds:SignatureValue", None, _DS)
    assert value is not None
    shortened = base64.b64encode(base64.b64decode(value)[:-1]).decode()
    result = verify_package(_edited(signed, "ds:SignatureValue", shortened))
    assert result.state is SignatureState.INVALID
    assert result.reason is not None and "does not verify" in result.reason


@pytest.mark.parametrize(
    "c14n",
    [
        CanonicalizationMethod.CANONICAL_XML_1_0_WITH_COMMENTS,
        CanonicalizationMethod.CANONICAL_XML_1_0,
    ],
    ids=lambda c: c.name,
)
def test_comments_are_outside_what_a_whole_document_reference_covers(
    district: SigningIdentity, c14n: CanonicalizationMethod
) -> None:
    signed = sign_by_hand(package(), district, c14n=c14n)
    commented = signed.replace(_HEADER_OPENS, _HEADER_OPENS + b"<!-- added on the way -->", 1)
    assert commented != signed
    result = verify_package(commented)
    assert result.state is SignatureState.VALID, result.reason
    assert result.verified_xml is not None and b"added on the way" not in result.verified_xml
    assert read_verified(result) == read_package(result.verified_xml)
    tree = result.verified_tree
    assert tree is not None and not list(tree.iter(etree.Comment))


def test_processing_instructions_beside_the_root_are_signed_and_kept(
    district: SigningIdentity,
) -> None:
    instruction = b'<?xml-stylesheet type="text/xsl" href="edxml.xsl"?>\n'
    unsigned = package().replace(b"<edXML ", instruction + b"<edXML ", 1)
    signed = sign_package(unsigned, district)
    assert instruction.strip() in signed
    assert verify_package(signed).state is SignatureState.VALID


def test_signed_info_carries_what_it_inherits_under_c14n(district: SigningIdentity) -> None:
    signed = sign_package(package().replace(b"<edXML ", b'<edXML xml:lang="vi" ', 1), district)
    assert verify_package(signed).state is SignatureState.VALID
    signed_info = parse(signed).find(".//ds:SignedInfo", _DS)
    assert signed_info is not None
    # C14N 1.0 of a subset: the ancestors' xml:* attributes and namespaces on its apex, as Java
    # renders them (tests/schemas/java_signed/xml-lang-on-root.xml).
    canonical = canonical_signed_info(signed_info)
    assert canonical.startswith(b"<ds:SignedInfo xmlns=")
    assert b'xml:lang="vi"' in canonical.split(b">", 1)[0]


def _with_certificate(signed: bytes, der: bytes) -> bytes:
    return _edited(signed, "ds:X509Certificate", base64.b64encode(der).decode())


def test_a_certificate_of_an_unknown_version_is_refused(district: SigningIdentity) -> None:
    signed = sign_package(package(), district)
    der = bytearray(district.certificate.public_bytes(Encoding.DER))
    version = der.index(b"\xa0\x03\x02\x01\x02")  # [0] EXPLICIT INTEGER 2, i.e. v3
    der[version + 4] = 0x52
    result = verify_package(_with_certificate(signed, bytes(der)))
    assert result.state is SignatureState.INVALID
    assert result.reason == "X509Certificate number 1 is not a readable certificate"


def _duplicate_extension_certificate() -> tuple[bytes, SigningIdentity]:
    """A self-signed certificate whose KeyUsage was renamed BasicConstraints after it was built
    (and signed again): cryptography finds the duplicate only when asked for extensions."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stranger")])
    now = datetime.now(UTC)
    built = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(7)
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, *[False] * 8), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    tbs = built.tbs_certificate_bytes.replace(
        bytes.fromhex("0603551d0f"), bytes.fromhex("0603551d13")
    )
    der = built.public_bytes(Encoding.DER).replace(built.tbs_certificate_bytes, tbs)
    der = der.replace(built.signature, key.sign(tbs, padding.PKCS1v15(), hashes.SHA256()))
    return der, SigningIdentity(key, built)


def test_a_certificate_with_a_duplicate_extension_is_refused_not_a_crash(
    district: SigningIdentity,
) -> None:
    der, stranger = _duplicate_extension_certificate()
    signed = _with_certificate(sign_package(package(), stranger), der)
    result = verify_package(signed, trust=list(district.chain))
    assert result.state is SignatureState.INVALID and not result.accepted
    assert result.reason is not None and "cannot be processed" in result.reason


def test_a_signature_value_outside_ascii_is_named(district: SigningIdentity) -> None:
    result = verify_package(_edited(sign_package(package(), district), "ds:SignatureValue", "é"))
    assert result.state is SignatureState.INVALID
    assert result.reason == "the SignatureValue is missing or not canonical base64"
