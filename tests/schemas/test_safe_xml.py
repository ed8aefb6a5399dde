"""Hostile XML is refused with a clear error, never expanded, fetched or read from disk."""

from __future__ import annotations

import pytest

from schemas.errors import MalformedXmlError, UnsafeXmlError
from schemas.hostile import (
    EXTERNAL_DTD,
    XXE,
    billion_laughs,
    deep_nesting,
    oversized,
    time_refusals,
)
from schemas.safe_xml import ParseLimits, parse_xml


def deep(levels: int) -> bytes:
    return deep_nesting(levels)


@pytest.mark.parametrize(
    "hostile", [XXE, billion_laughs(), EXTERNAL_DTD], ids=["xxe", "laughs", "dtd"]
)
def test_dtds_are_refused_before_parsing(hostile: bytes) -> None:
    with pytest.raises(UnsafeXmlError, match="DTDs\\) are not allowed") as caught:
        parse_xml(hostile, ParseLimits(lenient=True))
    assert caught.value.where is not None
    assert caught.value.where.line == 2


def test_a_dtd_in_utf16_is_refused_too() -> None:
    encoded = (
        XXE.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16")
    )
    with pytest.raises(UnsafeXmlError, match="not allowed"):
        parse_xml(encoded, ParseLimits())


def test_oversized_input_is_refused_unparsed() -> None:
    huge = oversized(200 * 1024 * 1024)
    with pytest.raises(UnsafeXmlError, match="above the limit of 67,108,864 bytes"):
        parse_xml(huge, ParseLimits())


def test_ten_thousand_levels_are_refused() -> None:
    with pytest.raises(UnsafeXmlError, match="nested too deeply"):
        parse_xml(deep(10_000), ParseLimits())


def test_depth_limit_is_a_setting() -> None:
    parse_xml(deep(30), ParseLimits(max_depth=30))
    with pytest.raises(UnsafeXmlError, match="deeper than 30 levels"):
        parse_xml(deep(31), ParseLimits(max_depth=30))
    with pytest.raises(UnsafeXmlError, match="deeper than 0 levels"):
        parse_xml(deep(1), ParseLimits(max_depth=0))


def test_not_well_formed_input_names_line_and_column() -> None:
    with pytest.raises(MalformedXmlError) as caught:
        parse_xml(b"<edXML>\n  <a></b>\n</edXML>", ParseLimits())
    assert caught.value.where is not None
    assert (caught.value.where.line, caught.value.where.column) == (2, 10)
    assert "mismatch" in caught.value.message


def test_empty_input_is_refused() -> None:
    with pytest.raises(MalformedXmlError, match="empty"):
        parse_xml(b"  \n", ParseLimits())


def test_undeclared_prefix_is_repaired_only_in_lenient_mode() -> None:
    data = b'<edXML xmlns="urn:x"><r xlink:href="a"/><edXML:b/></edXML>'
    with pytest.raises(MalformedXmlError, match="xlink"):
        parse_xml(data, ParseLimits())
    parsed = parse_xml(data, ParseLimits(lenient=True))
    assert [r.split(":")[0] for r in parsed.repairs] == [
        "declared namespace prefix 'xlink' as http",
        "declared namespace prefix 'edXML' as http",
    ]
    assert parsed.root[1].tag == "{http://www.mic.gov.vn/TBT/QCVN_102_2016}b"


def test_lenient_mode_does_not_excuse_other_faults() -> None:
    with pytest.raises(MalformedXmlError, match="mismatch"):
        parse_xml(b"<a><b xlink:x='1'></a>", ParseLimits(lenient=True))


def test_a_text_node_above_ten_megabytes_is_refused_as_unsafe() -> None:
    data = b"<edXML>" + b"QUJD" * (3 * 1024 * 1024) + b"</edXML>"
    with pytest.raises(UnsafeXmlError, match="10 MB limit"):
        parse_xml(data, ParseLimits())


def test_every_hostile_sample_is_refused_as_unsafe_in_lenient_mode_too() -> None:
    refusals = time_refusals(ParseLimits(lenient=True))
    assert [r.sample for r in refusals] == [
        "xxe",
        "billion-laughs",
        "external-dtd",
        "200-MB input",
        "10,000-deep nesting",
    ]
    assert {r.error for r in refusals} == {"UnsafeXmlError"}


def test_a_dtd_hidden_in_utf32_is_refused_after_parsing() -> None:
    data = ('<!DOCTYPE edXML [<!ENTITY x "000">]><edXML xmlns="urn:x">&x;</edXML>').encode(
        "utf-32-le"
    )
    with pytest.raises(UnsafeXmlError, match="DTDs\\) are not allowed"):
        parse_xml(data, ParseLimits())


def test_encodings_other_than_utf8_and_utf16_are_refused() -> None:
    data = '<?xml version="1.0" encoding="ISO-8859-1"?><edXML>Hà</edXML>'.encode("latin-1")
    with pytest.raises(UnsafeXmlError, match="ISO-8859-1 encoding is not accepted"):
        parse_xml(data, ParseLimits())
    utf7 = b'<?xml version="1.0" encoding="UTF-7"?>+ADwAIQ-DOCTYPE a +AFs-+AF0-+AD4-<a/>'
    with pytest.raises(UnsafeXmlError):
        parse_xml(utf7, ParseLimits())
