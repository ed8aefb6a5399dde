"""The writer emits one canonical order, its output matches the XSD, and models round-trip."""

from __future__ import annotations

from datetime import datetime

import pytest
from lxml import etree

from schemas.errors import SchemaViolation
from schemas.model import ExternalAttachment, LienthongInfo, Package, StatusCode, TraceHeader
from schemas.reader import read_package
from schemas.safe_xml import ParseLimits
from schemas.writer import build_tree, write_package
from schemas.xml_schema import validate_against_xsd
from tests.schemas.packages import document, status
from tests.sdk_fixtures import WELL_FORMED, sdk_package

LENIENT = ParseLimits(lenient=True)


def round_trip(package: Package) -> Package:
    return read_package(write_package(package)).package


@pytest.mark.parametrize("name", [*WELL_FORMED, "edoc.edxml"])
def test_real_packages_round_trip_and_match_the_xsd(name: str) -> None:
    package = read_package(sdk_package(name), LENIENT).package
    written = write_package(package)
    validate_against_xsd(etree.fromstring(written))
    assert read_package(written).package == package


def test_written_packages_read_back_without_problems() -> None:
    result = read_package(write_package(document()))
    assert result.acceptable
    assert result.problems == ()


@pytest.mark.parametrize(
    "package",
    [
        document(),
        document(lienthong=LienthongInfo(envelope_id="9b0c", delete_on_mistake=True)),
        document(attachments=()),
        status(),
        status(StatusCode.TAKE_BACK_REQUESTED, lienthong=LienthongInfo(envelope_id="e1")),
        status(StatusCode.CHANGE_AGREED, lienthong=LienthongInfo(envelope_id="e2", answers="r1")),
        document(
            lienthong=LienthongInfo(
                envelope_id="e3",
                external_attachments=(
                    ExternalAttachment(
                        name="bản đồ.tif",
                        content_type="image/tiff",
                        size=10**9,
                        sha256="ab" * 32,
                        description="Bản đồ quy hoạch",
                    ),
                    ExternalAttachment(name="annex.pdf", size=0, sha256="0" * 64),
                ),
            )
        ),
    ],
    ids=[
        "document",
        "with-extension",
        "no-attachments",
        "status",
        "take-back",
        "answer",
        "external-attachments",
    ],
)
def test_factory_packages_round_trip_and_match_the_xsd(package: Package) -> None:
    validate_against_xsd(build_tree(package))
    assert round_trip(package) == package


def test_element_order_of_the_input_does_not_change_the_output() -> None:
    original = sdk_package("edoc_update.edxml")
    # Move DocumentId and SteeringType: the SDK's producers disagree on where they go.
    shuffled = original.replace(b"<edXML:SteeringType>1</edXML:SteeringType>", b"").replace(
        b"<edXML:Code>", b"<edXML:SteeringType>1</edXML:SteeringType><edXML:Code>", 1
    )
    assert shuffled != original
    first = write_package(read_package(original).package)
    assert write_package(read_package(shuffled).package) == first


def test_the_xsd_refuses_a_package_out_of_order() -> None:
    tree = build_tree(document())
    message = tree.find(".//{*}MessageHeader")
    assert message is not None
    subject = message.find("{*}Subject")
    assert subject is not None
    message.remove(subject)
    message.insert(0, subject)
    with pytest.raises(SchemaViolation, match="Subject"):
        validate_against_xsd(tree)


def test_content_ids_are_written_with_the_cid_prefix_sdk_peers_expect() -> None:
    tree = build_tree(document())
    ids = [e.text for e in tree.iter("{*}ContentId")]
    assert ids == ["cid:quyet-dinh.pdf-id", "cid:quyet-dinh.pdf-id"]


def test_naive_timestamps_are_refused_by_the_model() -> None:
    with pytest.raises(ValueError, match="timezone"):
        TraceHeader(organ_id="000.12.05.H40", timestamp=datetime(2026, 1, 1, 10, 0))


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("Size", "12kB", "Size must be a whole number"),
        ("Size", "\u00b2", "Size must be a whole"),
        ("Size", "9" * 5000, "Size must be a whole"),
        ("Sha256", "xyz", "Sha256 must be 64"),
    ],
)
def test_a_malformed_external_attachment_is_refused_with_its_path(
    field: str, bad: str, message: str
) -> None:
    external = ExternalAttachment(name="a", size=5, sha256="c" * 64)
    info = LienthongInfo(external_attachments=(external,))
    written = write_package(document(lienthong=info))
    good = {"Size": b"<lt:Size>5</lt:Size>", "Sha256": b"<lt:Sha256>" + b"c" * 64 + b"</lt:Sha256>"}
    tampered = written.replace(good[field], f"<lt:{field}>{bad}</lt:{field}>".encode())
    assert tampered != written
    with pytest.raises(SchemaViolation, match=message) as raised:
        read_package(tampered)
    assert "ExternalAttachments/Attachment[1]" in str(raised.value)
