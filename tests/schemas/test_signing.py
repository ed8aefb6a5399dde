"""Signing and verifying whole packages, and every way a signature must be refused."""

from __future__ import annotations

import base64
import copy
import string
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod

from schemas.errors import EnvelopeError, SignatureError
from schemas.keys import Algorithm, SigningIdentity, create_ca
from schemas.model import DocumentPackage
from schemas.namespaces import DSIG as DS_NS
from schemas.namespaces import EDXML as EDXML_NS
from schemas.reader import read_package
from schemas.signing import (
    SignatureState,
    read_verified,
    sign_package,
    sign_tree,
    verify_package,
)
from schemas.writer import package_tree, write_package
from tests.schemas.factories import (
    DS_SIGNATURE,
    HEADER_PATH,
    agency,
    expired_agency,
    fresh_ca,
    package,
    parse,
    serialize,
    sign_by_hand,
)
from tests.schemas.packages import document
from tests.sdk_fixtures import sdk_package

E = f"{{{EDXML_NS}}}"


@pytest.fixture(scope="module")
def ca() -> SigningIdentity:
    return fresh_ca()


@pytest.fixture(scope="module")
def district(ca: SigningIdentity) -> SigningIdentity:
    return agency(ca)


@pytest.fixture(scope="module")
def signed(district: SigningIdentity) -> bytes:
    return sign_package(package(), district)


def _attachment(root: etree._Element) -> etree._Element:
    node = root.find(f"{E}AttachmentEncoded/{E}Attachment/{E}ContentTransferEncoded")
    assert node is not None
    return node


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["rsa", "ec"])
def test_signed_package_verifies(algorithm: Algorithm) -> None:
    ca = fresh_ca(algorithm=algorithm)
    signer = agency(ca, algorithm=algorithm)
    result = verify_package(sign_package(package(), signer), trust=[ca.certificate])
    assert result.state is SignatureState.VALID
    assert result.accepted and result.trusted is True and result.reason is None
    assert result.algorithm == f"{'rsa' if algorithm == 'rsa' else 'ecdsa'}-sha256"
    assert result.certificate is not None and result.certificate.agency_code == "000.00.05.H40"


def test_signature_is_the_last_child_of_the_header_and_namespaced(signed: bytes) -> None:
    assert signed.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = parse(signed)
    header = root.find(HEADER_PATH)
    assert header is not None
    signature = header[-1]
    assert signature.tag == DS_SIGNATURE and signature.prefix == "ds"
    assert signature.get("Id") is None
    assert len(list(root.iter(DS_SIGNATURE))) == 1
    references = signature.findall("ds:SignedInfo/ds:Reference", {"ds": DS_NS})
    assert [ref.get("URI") for ref in references] == [""]


def test_verified_xml_is_the_package_without_its_signature(signed: bytes) -> None:
    result = verify_package(signed)
    assert result.verified_xml is not None
    verified = parse(result.verified_xml)
    assert not list(verified.iter(DS_SIGNATURE))
    assert _attachment(verified).text == _attachment(parse(signed)).text


def test_signing_replaces_earlier_and_legacy_signatures(district: SigningIdentity) -> None:
    legacy = sdk_package("edoc_revocation.edxml")
    resigned = sign_package(sign_package(legacy, district), district)
    root = parse(resigned)
    header = root.find(HEADER_PATH)
    assert header is not None
    signatures = [child for child in header if etree.QName(child).localname == "Signature"]
    assert [etree.QName(child).namespace for child in signatures] == [DS_NS]
    assert len(list(root.iter(DS_SIGNATURE))) == 1
    assert verify_package(resigned).state is SignatureState.VALID


def test_signing_something_that_is_not_a_package_fails(district: SigningIdentity) -> None:
    with pytest.raises(SignatureError, match="not an edXML package"):
        sign_package(b"<edXML/>", district)
    with pytest.raises(EnvelopeError):
        sign_package(b"<edXML", district)


# --- tampering --------------------------------------------------------------------------------


def test_changed_attachment_is_detected(signed: bytes) -> None:
    root = parse(signed)
    _attachment(root).text = base64.b64encode(b"a different file").decode()
    result = verify_package(serialize(root))
    assert result.state is SignatureState.INVALID
    assert result.reason is not None and "changed after it was signed" in result.reason
    assert result.verified_xml is None


def _mutation_offsets(data: bytes) -> list[int]:
    """Offsets spread over the root element, plus some in the attachment and signature value."""
    start, end = data.index(b"<edXML"), data.rindex(b"</edXML>") + len(b"</edXML>")
    spread = list(range(start, end, max(1, (end - start) // 400)))
    spread.append(end - 1)
    for marker in (b"<ContentTransferEncoded>", b"<ds:SignatureValue>", b"<ds:X509Certificate>"):
        at = data.index(marker) + len(marker)
        spread.extend(range(at, at + 40, 3))
    value_end = data.index(b"</ds:SignatureValue>")
    spread.extend(range(value_end - 4, value_end))  # the base64 tail, padding included
    return sorted(set(spread))


def _mutant(data: bytes, offset: int, index: int) -> bytes:
    choices = [c for c in string.printable.strip() if ord(c) != data[offset]]
    return data[:offset] + choices[index % len(choices)].encode() + data[offset + 1 :]


def test_any_one_byte_change_breaks_the_signature(signed: bytes) -> None:
    offsets = _mutation_offsets(signed)
    assert len(offsets) > 400
    survivors = []
    for index, offset in enumerate(offsets):
        try:
            state = verify_package(_mutant(signed, offset, index)).state
        except EnvelopeError:
            continue
        if state is SignatureState.VALID:
            survivors.append(offset)
    assert survivors == []


# --- signature wrapping and other shapes that must be refused ---------------------------------


def test_two_signatures_are_refused(signed: bytes) -> None:
    root = parse(signed)
    signature = next(root.iter(DS_SIGNATURE))
    root.append(copy.deepcopy(signature))
    result = verify_package(serialize(root))
    assert result.state is SignatureState.INVALID and not result.accepted
    assert result.reason is not None and "2 XMLDSig signatures" in result.reason


def test_reference_to_part_of_the_package_is_refused(district: SigningIdentity) -> None:
    root = parse(package())
    envelope = root.find(f"{E}edXMLEnvelope")
    assert envelope is not None
    envelope.set("Id", "envelope")
    partial = sign_by_hand(serialize(root), district, reference_uri="#envelope")
    result = verify_package(partial)
    assert result.state is SignatureState.INVALID
    assert result.reason is not None and "URI='#envelope'" in result.reason


def test_a_second_reference_is_refused(signed: bytes) -> None:
    root = parse(signed)
    reference = next(root.iter(f"{{{DS_NS}}}Reference"))
    reference.addnext(copy.deepcopy(reference))
    result = verify_package(serialize(root))
    assert result.state is SignatureState.INVALID
    assert result.reason is not None and "2 references" in result.reason


def _forged_header(root: etree._Element) -> None:
    from_id = root.find(f"{HEADER_PATH}/{E}MessageHeader/{E}From/{E}OrganId")
    assert from_id is not None
    from_id.text = "000.00.00.H40"


def test_signed_original_hidden_inside_a_forged_package_is_refused(signed: bytes) -> None:
    original = parse(signed)
    forged = parse(signed)
    _forged_header(forged)
    header = forged.find(HEADER_PATH)
    assert header is not None
    header.remove(next(forged.iter(DS_SIGNATURE)))
    attachment = forged.find(f"{E}AttachmentEncoded/{E}Attachment")
    assert attachment is not None
    attachment.append(original)  # the signed original rides along, its signature deep inside
    result = verify_package(serialize(forged))
    assert result.state is SignatureState.INVALID and result.verified_xml is None
    assert result.reason is not None and "must be a child of edXMLHeader" in result.reason


def test_signature_moved_onto_a_forged_header_is_refused(signed: bytes) -> None:
    original = parse(signed)
    forged = parse(signed)
    _forged_header(forged)
    stash = etree.SubElement(forged, f"{E}Hidden")
    signed_envelope = original.find(f"{E}edXMLEnvelope")
    assert signed_envelope is not None
    stash.append(signed_envelope)
    stashed_header = signed_envelope.find(f"{E}edXMLHeader")
    assert stashed_header is not None
    stashed_header.remove(next(stashed_header.iter(DS_SIGNATURE)))  # one signature only
    result = verify_package(serialize(forged))
    assert result.state is SignatureState.INVALID and not result.accepted
    assert result.reason is not None and "changed after it was signed" in result.reason
    assert result.verified_xml is None


def test_signature_anywhere_else_is_refused(signed: bytes) -> None:
    root = parse(signed)
    signature = next(root.iter(DS_SIGNATURE))
    body = root.find(f"{E}edXMLEnvelope/{E}edXMLBody")
    assert body is not None
    body.append(signature)
    result = verify_package(serialize(root))
    assert result.reason is not None and "/edXML/edXMLEnvelope/edXMLBody/Signature" in result.reason


# --- legacy SHA-1, certificates and trust -----------------------------------------------------


@pytest.fixture(scope="module")
def legacy(district: SigningIdentity) -> bytes:
    return sign_by_hand(
        package(), district, method=SignatureMethod.RSA_SHA1, digest=DigestAlgorithm.SHA1
    )


def test_legacy_sha1_is_recognised_but_accepted_only_when_allowed(legacy: bytes) -> None:
    refused = verify_package(legacy)
    assert refused.state is SignatureState.LEGACY_SHA1 and not refused.accepted
    assert refused.algorithm == "rsa-sha1" and refused.verified_xml is None
    assert refused.reason is not None and "not allowed" in refused.reason
    allowed = verify_package(legacy, allow_legacy_sha1=True)
    assert allowed.state is SignatureState.LEGACY_SHA1 and allowed.accepted
    assert allowed.verified_xml is not None


def test_broken_legacy_sha1_signature_is_invalid(legacy: bytes) -> None:
    tampered = legacy.replace("lúa mùa".encode(), "lúa chiêm".encode())
    assert tampered != legacy
    result = verify_package(tampered, allow_legacy_sha1=True)
    assert result.state is SignatureState.INVALID and not result.accepted


def test_expired_certificate_is_refused_with_its_dates() -> None:
    ca = create_ca("Old CA", algorithm="ec", not_before=datetime.now(UTC) - timedelta(days=1000))
    signer = expired_agency(ca)
    data = sign_package(package(), signer)
    result = verify_package(data, trust=[ca.certificate])
    assert result.state is SignatureState.INVALID and not result.accepted
    start = signer.certificate.not_valid_before_utc
    assert result.reason is not None and f"valid from {start:%Y-%m-%d}" in result.reason
    assert result.certificate is not None
    back_then = verify_package(data, trust=[ca.certificate], at=start + timedelta(days=1))
    assert back_then.state is SignatureState.VALID and back_then.accepted


def test_untrusted_ca_is_refused(signed: bytes) -> None:
    stranger = create_ca("Some other CA", algorithm="ec")
    result = verify_package(signed, trust=[stranger.certificate])
    assert result.state is SignatureState.VALID
    assert result.trusted is False and not result.accepted and result.verified_xml is None
    assert result.reason is not None and "not a trusted root" in result.reason


def test_without_anchors_trust_is_not_judged(signed: bytes) -> None:
    assert verify_package(signed).trusted is None


def test_chain_through_an_intermediate_is_trusted() -> None:
    root = create_ca("Root CA", algorithm="ec")
    intermediate = create_ca("Issuing CA", algorithm="ec", issuer=root)
    signer = agency(intermediate, algorithm="ec")
    data = sign_package(package(), signer)
    assert verify_package(data, trust=[root.certificate]).trusted is True
    assert verify_package(data, trust=[intermediate.certificate]).trusted is True
    at_expiry = root.certificate.not_valid_after_utc + timedelta(days=1)
    assert verify_package(data, trust=[root.certificate], at=at_expiry).accepted is False


def test_a_certificate_that_does_not_belong_to_the_chain_is_refused(
    signed: bytes, ca: SigningIdentity
) -> None:
    root = parse(signed)
    x509_data = next(root.iter(f"{{{DS_NS}}}X509Data"))
    extra = etree.SubElement(x509_data, f"{{{DS_NS}}}X509Certificate")
    stranger = create_ca("Stranger", algorithm="ec").certificate
    extra.text = base64.b64encode(stranger.public_bytes(Encoding.DER)).decode()
    result = verify_package(serialize(root), trust=[ca.certificate])
    assert result.state is SignatureState.INVALID
    assert (
        result.reason is not None and "not part of the signing certificate's chain" in result.reason
    )


def test_a_signers_path_kept_from_before_is_judged_again_at_each_verification(
    signed: bytes, ca: SigningIdentity, district: SigningIdentity
) -> None:
    """Certificate paths are kept between verifications; validity and trust are not."""
    assert verify_package(signed, trust=[ca.certificate]).accepted
    after_expiry = district.certificate.not_valid_after_utc + timedelta(days=1)
    expired = verify_package(signed, trust=[ca.certificate], at=after_expiry)
    assert not expired.accepted and expired.reason is not None and "valid" in expired.reason
    stranger = create_ca("Another CA", algorithm="ec")
    assert verify_package(signed, trust=[stranger.certificate]).accepted is False
    assert verify_package(signed, trust=[ca.certificate]).accepted


def test_an_unreadable_certificate_is_refused_every_time(signed: bytes) -> None:
    root = parse(signed)
    next(root.iter(f"{{{DS_NS}}}X509Certificate")).text = base64.b64encode(b"not DER").decode()
    for _ in range(2):  # a refusal is not kept: the same bytes are refused again
        result = verify_package(serialize(root))
        assert result.state is SignatureState.INVALID
        assert result.reason == "X509Certificate number 1 is not a readable certificate"


# --- real SDK packages ------------------------------------------------------------------------


def test_sdk_signature_outside_the_xmldsig_namespace_is_invalid() -> None:
    result = verify_package(sdk_package("edoc_revocation.edxml"))
    assert result.state is SignatureState.INVALID and not result.accepted
    assert result.reason is not None and "not in the XMLDSig namespace" in result.reason


def test_unsigned_sdk_status_package_is_absent() -> None:
    result = verify_package(sdk_package("status_inbox_01.edxml"))
    assert result.state is SignatureState.ABSENT and not result.accepted


def test_unsafe_input_raises_envelope_error() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    with pytest.raises(EnvelopeError):
        verify_package(bomb)


def test_naive_time_is_read_as_utc(signed: bytes) -> None:
    now = datetime.now(UTC)
    assert verify_package(signed, at=now.replace(tzinfo=None)).state is SignatureState.VALID


def test_comment_tricks_inside_signed_text_change_nothing_that_is_read() -> None:
    ca = fresh_ca("Comment CA", algorithm="ec")
    signed = sign_package(package(b"hello world attachment"), agency(ca, algorithm="ec"))
    encoded = b"aGVsbG8gd29ybGQgYXR0YWNobWVudA=="
    tricked = signed.replace(encoded, encoded[:8] + b"<!-- x -->" + encoded[8:])
    assert tricked != signed
    verification = verify_package(tricked, trust=[ca.certificate])
    assert verification.state is SignatureState.VALID and verification.verified_xml is not None
    shown = read_package(tricked).package
    assert shown == read_package(verification.verified_xml).package
    assert isinstance(shown, DocumentPackage)
    assert shown.attachments[0].content == b"hello world attachment"


@pytest.mark.parametrize("local", ["Object", "RetrievalMethod"])
def test_unsigned_parts_inside_the_signature_are_refused(signed: bytes, local: str) -> None:
    root = parse(signed)
    signature = next(root.iter(DS_SIGNATURE))
    etree.SubElement(signature, f"{{{DS_NS}}}{local}").text = "payload"
    result = verify_package(serialize(root))
    assert result.state is SignatureState.INVALID
    assert result.reason is not None and f"ds:{local}" in result.reason


def test_a_certificate_not_meant_for_signing_is_not_trusted(ca: SigningIdentity) -> None:
    signer = agency(ca)
    usage = x509.KeyUsage(
        digital_signature=False, content_commitment=False, key_encipherment=True,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip
    builder = (
        x509.CertificateBuilder()
        .subject_name(signer.certificate.subject)
        .issuer_name(ca.certificate.subject)
        .public_key(signer.private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(signer.certificate.not_valid_before_utc)
        .not_valid_after(signer.certificate.not_valid_after_utc)
        .add_extension(usage, critical=True)
    )
    encrypt_only = builder.sign(ca.private_key, hashes.SHA256())
    identity = SigningIdentity(signer.private_key, encrypt_only, (ca.certificate,))
    result = verify_package(sign_package(package(), identity), trust=[ca.certificate])
    assert not result.accepted
    assert result.reason is not None and "not meant for signing" in result.reason


def test_a_tree_built_here_is_signed_as_its_bytes_would_be(
    ca: SigningIdentity, district: SigningIdentity
) -> None:
    """Signing the tree the writer built, without writing and parsing it first, gives the
    very bytes signing the written package gives (RSA PKCS#1 v1.5 signatures are
    deterministic), whatever awkward text the fields hold."""
    awkward = document(
        subject='V/v "kiểm tra" <nhanh> & gọn\r\ndòng hai\tcột',
        content="  Kính gửi:\n\tUBND huyện ]]> 'Hải Hậu'  ",
    )
    from_tree = sign_tree(package_tree(awkward), district)
    assert from_tree == sign_package(write_package(awkward), district)
    verification = verify_package(from_tree, trust=[ca.certificate])
    assert verification.accepted, verification.reason


def test_what_a_signature_covers_is_read_from_the_verifiers_own_parse(
    ca: SigningIdentity, signed: bytes
) -> None:
    verification = verify_package(signed, trust=[ca.certificate])
    assert verification.verified_xml is not None and verification.verified_tree is not None
    assert read_verified(verification) == read_package(verification.verified_xml)
    untrusted = verify_package(signed, trust=[fresh_ca("Another CA").certificate])
    assert untrusted.verified_tree is None
    with pytest.raises(SignatureError, match="only what an accepted signature covers"):
        read_verified(untrusted)
