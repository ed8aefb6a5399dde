"""A package in standard edXML form: external attachments inlined again, streamed and signed.

A peer that speaks only plain QCVN 102 expects every file in ``AttachmentEncoded``. The files
may be a gigabyte, so the package is never built in memory: it is written with a marker where
each file's base64 goes, and the bytes are streamed into the markers' places. The enveloped
signature is computed the same way: C14N 1.0 of base64 text is the text itself, so the digest
is the SHA-256 of the canonical package's pieces with each file's base64 streamed between
them; only then is the small ``ds:SignedInfo`` signed. The files are read twice (once for
the digest, once for the output), never held whole.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from schemas.errors import SignatureError
from schemas.keys import SigningIdentity
from schemas.model import Attachment, DocumentPackage, ExternalAttachment
from schemas.namespaces import DSIG
from schemas.signature_shape import HEADER_PATH
from schemas.writer import build_tree

OpenFile = Callable[[ExternalAttachment], BinaryIO]
CHUNK = 3 * 256 * 1024  # a multiple of 3: base64 of the chunks joins into base64 of the file
_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
_METHODS = {
    "rsa": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "ec": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
}


def _marker(index: int) -> bytes:
    """Bytes whose base64 appears nowhere else in a package: where file `index` goes."""
    return f"\x00lienthong-inline-{index:06d}\x00".encode()


def _with_markers(package: DocumentPackage) -> DocumentPackage:
    """The package with each external file as an inline attachment holding only its marker."""
    assert package.lienthong is not None
    inlined = tuple(
        _inline(index, item) for index, item in enumerate(package.lienthong.external_attachments)
    )
    lienthong = package.lienthong.model_copy(update={"external_attachments": ()})
    return package.model_copy(
        update={"attachments": (*package.attachments, *inlined), "lienthong": lienthong}
    )


def _inline(index: int, item: ExternalAttachment) -> Attachment:
    return Attachment(
        content_id=f"inline-{index}-{item.sha256[:16]}", name=item.name,
        content_type=item.content_type, description=item.description, content=_marker(index),
    )  # fmt: skip


def _pieces(text: bytes, count: int) -> list[bytes]:
    """`text` cut at the markers, in order: count + 1 pieces."""
    pieces, rest = [], text
    for index in range(count):
        marker = base64.b64encode(_marker(index))
        before, found, rest = rest.partition(marker)
        if not found:
            raise SignatureError(f"inline marker {index} missing from the written package")
        pieces.append(before)
    return [*pieces, rest]


def _base64_of(stream: BinaryIO, expected: ExternalAttachment) -> Iterator[bytes]:
    seen = 0
    while chunk := stream.read(CHUNK):
        seen += len(chunk)
        yield base64.b64encode(chunk)
    if seen != expected.size:
        raise SignatureError(
            f"attachment '{expected.name}' holds {seen:,} bytes; the package says {expected.size:,}"
        )


def _stream(pieces: list[bytes], files: list[ExternalAttachment], open_file: OpenFile,
            ) -> Iterator[bytes]:  # fmt: skip
    for piece, item in zip(pieces, files, strict=False):
        yield piece
        with open_file(item) as stream:
            yield from _base64_of(stream, item)
    yield pieces[-1]


def _digest(pieces: list[bytes], files: list[ExternalAttachment], open_file: OpenFile) -> str:
    digest = hashlib.sha256()
    for part in _stream(pieces, files, open_file):
        digest.update(part)
    return base64.b64encode(digest.digest()).decode("ascii")


def _child(parent: etree._Element, local: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{DSIG}}}{local}", attributes)


def _signature(header: etree._Element, identity: SigningIdentity, digest: str) -> None:
    """ds:Signature as last child of the header, as schemas.signing places it."""
    signature = etree.SubElement(header, f"{{{DSIG}}}Signature", nsmap={"ds": DSIG})
    signed_info = _child(signature, "SignedInfo")
    _child(signed_info, "CanonicalizationMethod", Algorithm=_C14N)
    _child(signed_info, "SignatureMethod", Algorithm=_METHODS[_kind(identity)])
    reference = _child(signed_info, "Reference", URI="")
    transforms = _child(reference, "Transforms")
    _child(transforms, "Transform", Algorithm=_ENVELOPED)
    _child(transforms, "Transform", Algorithm=_C14N)
    _child(reference, "DigestMethod", Algorithm=_SHA256)
    _child(reference, "DigestValue").text = digest
    value = _sign(identity, etree.tostring(signed_info, method="c14n"))
    _child(signature, "SignatureValue").text = base64.b64encode(value).decode("ascii")
    x509_data = _child(_child(signature, "KeyInfo"), "X509Data")
    for certificate in (identity.certificate, *identity.chain):
        der = certificate.public_bytes(Encoding.DER)
        _child(x509_data, "X509Certificate").text = base64.b64encode(der).decode("ascii")


def _kind(identity: SigningIdentity) -> str:
    key = identity.private_key
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return "ec"
    raise SignatureError("only RSA and EC P-256 keys may sign packages")


def _sign(identity: SigningIdentity, signed_info: bytes) -> bytes:
    key = identity.private_key
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(signed_info, padding.PKCS1v15(), hashes.SHA256())
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    r, s = decode_dss_signature(key.sign(signed_info, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # XMLDSig wants r || s, not DER


def standard_form(
    package: DocumentPackage, open_file: OpenFile, identity: SigningIdentity
) -> Iterator[bytes]:
    """The package with its external attachments in AttachmentEncoded, signed by `identity`,
    as a stream of bytes. `open_file` opens an external attachment's bytes for reading.
    Nothing is read before the first piece is asked for: the digest pass (seconds for a
    gigabyte) then runs wherever the stream is consumed, e.g. in a server's worker thread."""
    files = list(package.lienthong.external_attachments if package.lienthong else ())
    tree = build_tree(_with_markers(package) if files else package)
    digest = _digest(_pieces(etree.tostring(tree, method="c14n"), len(files)), files, open_file)
    header = tree.find(HEADER_PATH)
    assert header is not None
    _signature(header, identity, digest)
    written = _XML_DECLARATION + etree.tostring(tree, encoding="UTF-8", xml_declaration=False)
    yield from _stream(_pieces(written, len(files)), files, open_file)
