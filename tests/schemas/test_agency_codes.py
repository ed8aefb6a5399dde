from __future__ import annotations

import pytest

from schemas.agency_codes import AgencyLevel, is_standard, parse_agency_code
from schemas.errors import AgencyCodeError


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("000.00.00.H40", AgencyLevel.CENTRAL_OR_PROVINCE),
        ("000.00.05.H40", AgencyLevel.DEPARTMENT_OR_DISTRICT),
        ("000.12.05.H40", AgencyLevel.COMMUNE),
        ("001.12.05.H40", AgencyLevel.UNIT),
        ("000.00.00.G22", AgencyLevel.CENTRAL_OR_PROVINCE),
    ],
)
def test_standard_codes_are_read_right_to_left(code: str, level: AgencyLevel) -> None:
    parsed = parse_agency_code(code)
    assert (parsed.legacy, parsed.level, parsed.warning) == (False, level, None)
    assert parsed.group == code[-3]


@pytest.mark.parametrize("code", ["28.22.H17", "vxp.saas.03", "01.02.G22", "000.00.00.h40"])
def test_legacy_codes_are_accepted_and_flagged(code: str) -> None:
    parsed = parse_agency_code(code)
    assert parsed.legacy
    assert parsed.level is None
    assert parsed.warning is not None and code in parsed.warning
    assert not is_standard(code)


@pytest.mark.parametrize("code", ["", "  ", "null", "a b", "x" * 65, "../etc", "ủy-ban"])
def test_unusable_strings_are_refused(code: str) -> None:
    with pytest.raises(AgencyCodeError, match="is not an agency code"):
        parse_agency_code(code)


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_agency_code(" 000.12.05.H40\n").value == "000.12.05.H40"
