"""External attachments inlined again for plain-edXML peers: streamed, signed, readable."""

from __future__ import annotations

import hashlib
import io
import os
from typing import BinaryIO

import pytest

from schemas.errors import SignatureError
from schemas.keys import Algorithm
from schemas.model import DocumentPackage, ExternalAttachment, LienthongInfo
from schemas.reader import read_package
from schemas.signing import SignatureState, verify_package
from schemas.standard_form import CHUNK, OpenFile, standard_form
from tests.schemas.factories import DISTRICT, agency, fresh_ca
from tests.schemas.packages import document


def external(content: bytes, name: str) -> ExternalAttachment:
    digest = hashlib.sha256(content).hexdigest()
    return ExternalAttachment(name=name, content_type="application/pdf", size=len(content),
                              sha256=digest, description=f"Phụ lục {name}")  # fmt: skip


def files_opener(files: dict[str, bytes]) -> tuple[list[str], OpenFile]:
    opened: list[str] = []

    def open_file(item: ExternalAttachment) -> BinaryIO:
        opened.append(item.name)
        return io.BytesIO(files[item.sha256])

    return opened, open_file


@pytest.mark.parametrize("algorithm", ["rsa", "ec"])
def test_inlined_package_verifies_and_carries_every_file(algorithm: Algorithm) -> None:
    ca = fresh_ca()
    identity = agency(ca, DISTRICT, algorithm=algorithm)
    contents = [os.urandom(CHUNK * 2 + 5), os.urandom(7), b""]
    items = [external(c, f"annex-{i}.pdf") for i, c in enumerate(contents)]
    package = document(lienthong=LienthongInfo(envelope_id="e1", external_attachments=tuple(items)))
    opened, open_file = files_opener({i.sha256: c for i, c in zip(items, contents, strict=True)})
    written = b"".join(standard_form(package, open_file, identity))
    verification = verify_package(written, trust=[ca.certificate])
    assert verification.state is SignatureState.VALID, verification.reason
    assert verification.accepted
    read = read_package(written).package
    assert isinstance(read, DocumentPackage)
    assert read.lienthong is not None and read.lienthong.external_attachments == ()
    inline = {a.name: a.content for a in read.attachments}
    for item, content in zip(items, contents, strict=True):
        assert inline[item.name] == content
    assert len(read.attachments) == len(package.attachments) + 3
    assert opened == [i.name for i in items] * 2  # once for the digest, once for the output


def test_a_file_that_changed_size_is_refused_not_written_short() -> None:
    identity = agency(fresh_ca(), DISTRICT)
    item = external(b"12345", "a.pdf")
    package = document(lienthong=LienthongInfo(external_attachments=(item,)))
    with pytest.raises(SignatureError, match="holds 3 bytes; the package says 5"):
        b"".join(standard_form(package, lambda _: io.BytesIO(b"123"), identity))


def test_a_package_without_external_files_is_signed_as_it_is() -> None:
    ca = fresh_ca()
    package = document()
    written = b"".join(standard_form(package, lambda _: io.BytesIO(), agency(ca, DISTRICT)))
    assert verify_package(written, trust=[ca.certificate]).accepted
    read = read_package(written).package
    assert isinstance(read, DocumentPackage)
    assert read.attachments == package.attachments


def test_nothing_is_read_before_the_stream_is_consumed() -> None:
    """A server can hand the whole stream to a worker thread: building it reads no file."""
    item = external(b"12345", "a.pdf")
    package = document(lienthong=LienthongInfo(external_attachments=(item,)))
    opened, open_file = files_opener({item.sha256: b"12345"})
    stream = standard_form(package, open_file, agency(fresh_ca(), DISTRICT))
    assert opened == []
    assert next(iter(stream)).startswith(b"<?xml")
    assert opened == ["a.pdf"]  # the digest pass ran, on the consumer's side
