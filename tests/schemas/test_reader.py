"""Every real SDK package is read (or refused with a specific error) in both modes."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from schemas.errors import MalformedXmlError, SchemaViolation
from schemas.model import (
    VIETNAM_TIME,
    BusinessDocType,
    DocumentPackage,
    ReceiverType,
    StatusCode,
    StatusPackage,
)
from schemas.reader import read_package
from schemas.safe_xml import ParseLimits
from tests.sdk_fixtures import MALFORMED, WELL_FORMED, sdk_package

STRICT, LENIENT = ParseLimits(), ParseLimits(lenient=True)

STATUS_FILES = {
    "status.edxml": StatusCode.ARRIVED,
    "status_inbox_01.edxml": StatusCode.ARRIVED,
    "status_rejection_02.edxml": StatusCode.REFUSED,
    "status_acceptance_03.edxml": StatusCode.ACCEPTED,
    "status_assignment_04.edxml": StatusCode.ASSIGNED,
    "status_processing_05.edxml": StatusCode.IN_PROGRESS,
    "status_finish_06.edxml": StatusCode.FINISHED,
    "status_cancellation_13.edxml": StatusCode.TAKE_BACK_REQUESTED,
    "status_change-acceptance_15.edxml": StatusCode.CHANGE_AGREED,
    "status_change-rejection_16.edxml": StatusCode.CHANGE_REFUSED,
}
DOCUMENT_FILES = {
    "edoc_revocation.edxml": BusinessDocType.REVOCATION,
    "edoc_update.edxml": BusinessDocType.UPDATE,
    "edoc_replacement.edxml": BusinessDocType.REPLACEMENT,
    "traffic-2019-5-852e179c-8eca-4502-ac38-0b97321f29c3.edxml": BusinessDocType.NEW,
    "traffic-2025-10-874e0f18-90dc-45fb-989a-65401470ba84.edxml": BusinessDocType.NEW,
    "traffic-2025-10-9e272474-0603-48a2-b525-9cd1af689612.edxml": BusinessDocType.NEW,
}


def test_the_fixture_lists_cover_every_well_formed_file() -> None:
    assert sorted(STATUS_FILES | DOCUMENT_FILES) == WELL_FORMED
    assert len(WELL_FORMED) == 16


@pytest.mark.parametrize("limits", [STRICT, LENIENT], ids=["strict", "lenient"])
@pytest.mark.parametrize("name", sorted(STATUS_FILES))
def test_status_fixtures_are_read(name: str, limits: ParseLimits) -> None:
    result = read_package(sdk_package(name), limits)
    assert isinstance(result.package, StatusPackage)
    assert result.package.status_code is STATUS_FILES[name]
    assert result.package.response_for.document_id
    assert result.acceptable
    assert not [p for p in result.problems if p.severity == "repair"]


@pytest.mark.parametrize("limits", [STRICT, LENIENT], ids=["strict", "lenient"])
@pytest.mark.parametrize("name", sorted(DOCUMENT_FILES))
def test_document_fixtures_are_read(name: str, limits: ParseLimits) -> None:
    result = read_package(sdk_package(name), limits)
    assert isinstance(result.package, DocumentPackage)
    assert result.package.business_type is DOCUMENT_FILES[name]
    assert result.package.recipients and result.package.attachments
    assert all(a.size > 0 for a in result.package.attachments)
    assert result.acceptable


@pytest.mark.parametrize("limits", [STRICT, LENIENT], ids=["strict", "lenient"])
def test_stray_bytes_before_the_declaration_are_refused_in_both_modes(limits: ParseLimits) -> None:
    with pytest.raises(MalformedXmlError, match=re.escape(MALFORMED["edoc_new.edxml"])) as caught:
        read_package(sdk_package("edoc_new.edxml"), limits)
    assert caught.value.where is not None and caught.value.where.line == 1


def test_undeclared_prefix_is_refused_in_strict_mode() -> None:
    with pytest.raises(MalformedXmlError, match=MALFORMED["edoc.edxml"]) as caught:
        read_package(sdk_package("edoc.edxml"), STRICT)
    assert caught.value.where is not None
    assert (caught.value.where.line, caught.value.where.column) == (116, 39)


def test_undeclared_prefix_is_repaired_in_lenient_mode_and_named() -> None:
    result = read_package(sdk_package("edoc.edxml"), LENIENT)
    repairs = [p.message for p in result.problems if p.severity == "repair"]
    assert any("'xlink'" in r and "line 116" in r for r in repairs)
    assert any("'edXML'" in r and "line 125" in r for r in repairs)
    # The SDK test template left a JMeter placeholder where the file's base64 should be.
    assert any("not base64" in r and "StringFromFile" in r for r in repairs)
    assert not result.acceptable
    assert isinstance(result.package, DocumentPackage)
    assert result.package.subject == "Văn bản liên thông chỉ đạo - 190701"


def test_document_fields_are_typed() -> None:
    package = read_package(sdk_package("edoc_update.edxml")).package
    assert isinstance(package, DocumentPackage)
    assert package.sender.organ_id == "000.00.00.G22"
    assert [r.organ_id for r in package.recipients] == [
        "000.00.00.H41",
        "000.00.00.H14",
        "000.00.00.G17",
    ]
    assert package.promulgation is not None
    assert package.promulgation.promulgation_date == date(2018, 9, 28)
    assert package.trace[0].timestamp == datetime(2018, 9, 28, tzinfo=VIETNAM_TIME)
    assert package.other_info is not None and package.other_info.direction is False
    assert package.business is not None and package.business.document_info is not None
    receivers = package.business.document_info.receivers
    assert [(r.organ_id, r.receiver_type) for r in receivers] == [
        ("000.00.00.H41", ReceiverType.REMOVED),
        ("000.00.00.H14", ReceiverType.ADDED),
    ]


def test_replacement_lists_the_documents_it_replaces() -> None:
    package = read_package(sdk_package("edoc_replacement.edxml")).package
    assert isinstance(package, DocumentPackage) and package.business is not None
    assert [r.organ_ids for r in package.business.replacements] == [
        ("000.00.00.H41", "000.00.00.H14")
    ] * 2


def test_zipped_attachments_are_recognised_and_cid_prefixes_dropped() -> None:
    package = read_package(
        sdk_package("traffic-2019-5-852e179c-8eca-4502-ac38-0b97321f29c3.edxml")
    ).package
    assert isinstance(package, DocumentPackage)
    (file,) = package.attachments
    assert file.content_id == "36b8a92e-f054-11e7-842b-005056b672fc"
    assert file.zipped and file.zip_member_names() == ("5c7082fe-4ac3-4b46-961e-e2439bfae484.PDF",)
    assert (file.content_type, file.manifest_content_type) == ("application/zip", "application/pdf")


def test_legacy_codes_and_null_trace_ids_are_flagged_not_refused() -> None:
    result = read_package(sdk_package("traffic-2025-10-874e0f18-90dc-45fb-989a-65401470ba84.edxml"))
    assert isinstance(result.package, DocumentPackage)
    warnings = [p for p in result.problems if p.severity == "warning"]
    assert {p.where.path for p in warnings if p.where} == {
        "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From",
        "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To",
    }
    assert [hop.organ_id for hop in result.package.trace] == [None, None]


def _status_with(code: str) -> bytes:
    return sdk_package("status_finish_06.edxml").replace(b">06<", f">{code}<".encode())


def test_status_14_from_older_peers_is_read_as_15() -> None:
    result = read_package(_status_with("14"))
    assert isinstance(result.package, StatusPackage)
    assert result.package.status_code is StatusCode.CHANGE_AGREED
    assert any("14" in p.message for p in result.problems)


@pytest.mark.parametrize("code", ["07", "12", "99", ""])
def test_other_status_codes_are_refused_with_the_path(code: str) -> None:
    with pytest.raises(SchemaViolation, match="is not one lienthong accepts") as caught:
        read_package(_status_with(code))
    assert caught.value.where is not None
    assert caught.value.where.path == "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/StatusCode"


def test_business_spelled_correctly_is_read_too() -> None:
    data = sdk_package("edoc_revocation.edxml").replace(b"edXML:Bussiness>", b"edXML:Business>")
    package = read_package(data).package
    assert isinstance(package, DocumentPackage)
    assert package.business_type is BusinessDocType.REVOCATION


def test_a_bad_date_names_the_element() -> None:
    data = sdk_package("edoc_update.edxml").replace(
        b"<edXML:DueDate>2018/09/28", b"<edXML:DueDate>28-09-2018"
    )
    with pytest.raises(
        SchemaViolation, match="'DueDate' must be a date yyyy/MM/dd, found '28-09-2018'"
    ) as caught:
        read_package(data)
    assert caught.value.where is not None and caught.value.where.line is not None


def test_a_document_without_recipients_is_refused() -> None:
    data = sdk_package("traffic-2025-10-874e0f18-90dc-45fb-989a-65401470ba84.edxml")
    start, end = data.index(b"<edXML:To>"), data.index(b"</edXML:To>") + len(b"</edXML:To>")
    with pytest.raises(SchemaViolation, match="at least one 'To'"):
        read_package(data[:start] + data[end:])


def test_a_wrong_root_is_refused() -> None:
    with pytest.raises(SchemaViolation, match="root element must be edXML"):
        read_package(b"<edXML><x/></edXML>")


def test_a_missing_attachment_is_an_error_problem() -> None:
    data = sdk_package("traffic-2025-10-874e0f18-90dc-45fb-989a-65401470ba84.edxml")
    start = data.index(b"<AttachmentEncoded>")
    end = data.index(b"</AttachmentEncoded>") + len(b"</AttachmentEncoded>")
    result = read_package(data[:start] + data[end:])
    assert not result.acceptable
    assert any("no file carries it" in p.message for p in result.problems)


def test_markup_inside_a_text_field_is_refused_not_merged() -> None:
    data = sdk_package("edoc_update.edxml").replace(
        b"<edXML:Subject>V/v", b"<edXML:Subject><edXML:X>EVIL</edXML:X>V/v"
    )
    with pytest.raises(SchemaViolation, match="'Subject' must hold text only"):
        read_package(data)


def test_comments_inside_text_are_not_data() -> None:
    data = sdk_package("edoc_update.edxml").replace(
        b"<edXML:Subject>V/v", b"<edXML:Subject>V<!-- x -->/v"
    )
    package = read_package(data).package
    assert isinstance(package, DocumentPackage)
    assert package.subject is not None and package.subject.startswith("V/v kết nối")


def test_both_spellings_of_business_at_once_are_refused() -> None:
    original = sdk_package("edoc_revocation.edxml")
    start, end = original.index(b"<edXML:Bussiness>"), original.index(b"</edXML:Bussiness>") + 18
    twin = original[start:end].replace(b"Bussiness>", b"Business>")
    with pytest.raises(SchemaViolation, match="appears more than once"):
        read_package(original[:end] + twin + original[end:])


def test_two_attachments_with_one_content_id_are_an_error() -> None:
    data = sdk_package("traffic-2025-10-874e0f18-90dc-45fb-989a-65401470ba84.edxml")
    start, end = data.index(b"<Attachment>"), data.index(b"</Attachment>") + len(b"</Attachment>")
    result = read_package(data[:end] + data[start:end] + data[end:])
    assert not result.acceptable
    assert any("share one ContentId" in p.message for p in result.problems)


def test_a_header_with_both_recipients_and_a_status_code_is_refused() -> None:
    data = sdk_package("edoc_update.edxml").replace(
        b"<edXML:Subject>", b"<edXML:StatusCode>03</edXML:StatusCode><edXML:Subject>"
    )
    with pytest.raises(SchemaViolation, match="both 'To'"):
        read_package(data)


def test_unknown_elements_are_reported_not_silently_dropped() -> None:
    data = sdk_package("edoc_update.edxml").replace(b"edXML:Content>", b"edXML:Contnet>")
    result = read_package(data)
    (warning,) = [p for p in result.problems if "unknown element" in p.message]
    assert "'Contnet'" in warning.message
    assert warning.where is not None
    assert warning.where.path == "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Contnet"


def test_the_sdk_packages_use_no_element_the_schema_does_not_know() -> None:
    for name in WELL_FORMED:
        problems = read_package(sdk_package(name)).problems
        assert not [p for p in problems if "unknown element" in p.message], name
