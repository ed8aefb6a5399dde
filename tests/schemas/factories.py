"""Small factories for signing tests: packages, identities, and signatures made by hand."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.signer import XMLSigner

from schemas.benchmarks import sample_package
from schemas.keys import Algorithm, SigningIdentity, create_ca, issue_agency_certificate
from schemas.namespaces import DSIG as DS_NS
from schemas.namespaces import EDXML as EDXML_NS

HEADER_PATH = f"{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader"
DS_SIGNATURE = f"{{{DS_NS}}}Signature"
DISTRICT = "000.00.05.H40"
COMMUNE = "000.12.05.H40"


def package(attachment: bytes | None = None) -> bytes:
    """An unsigned document package from the district to a commune, one attachment."""
    return sample_package(os.urandom(600) if attachment is None else attachment)


def agency(
    ca: SigningIdentity, code: str = DISTRICT, *, algorithm: Algorithm = "rsa"
) -> SigningIdentity:
    """An agency identity issued by `ca`, its chain holding the CA's certificate."""
    return issue_agency_certificate(ca, code, f"Agency {code}", algorithm=algorithm)


def expired_agency(ca: SigningIdentity) -> SigningIdentity:
    """An agency whose certificate ran out a year ago (valid for 30 days, two years ago)."""
    start = datetime.now(UTC) - timedelta(days=730)
    return issue_agency_certificate(ca, DISTRICT, "Expired agency", valid_days=30, not_before=start)


def fresh_ca(name: str = "Test CA", algorithm: Algorithm = "rsa") -> SigningIdentity:
    return create_ca(name, algorithm=algorithm)


class _LegacySigner(XMLSigner):
    """signxml refuses SHA-1 on purpose; old SDK peers still sign with it."""

    def check_deprecated_methods(self) -> None:
        return None


def parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


def _with_placeholder(data: bytes) -> etree._Element:
    root = parse(data)
    header = root.find(HEADER_PATH)
    assert header is not None
    etree.SubElement(header, DS_SIGNATURE, {"Id": "placeholder"}, nsmap={"ds": DS_NS})
    return root


def sign_by_hand(
    data: bytes,
    identity: SigningIdentity,
    *,
    method: SignatureMethod = SignatureMethod.RSA_SHA256,
    digest: DigestAlgorithm = DigestAlgorithm.SHA256,
    reference_uri: str | None = None,
    c14n: CanonicalizationMethod = CanonicalizationMethod.CANONICAL_XML_1_0,
) -> bytes:
    """Sign directly with signxml (no lienthong checks), e.g. with SHA-1, another URI or
    another canonicalization (for SignedInfo and as the reference's transform)."""
    signer = _LegacySigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=method,
        digest_algorithm=digest,
        c14n_algorithm=c14n,
    )
    signed = signer.sign(
        _with_placeholder(data),
        key=identity.private_key,
        cert=[identity.certificate, *identity.chain],
        reference_uri=reference_uri,
    )
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
