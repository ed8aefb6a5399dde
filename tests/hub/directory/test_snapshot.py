"""Addresses resolved over an in-memory directory: agencies, groups, suspended members."""

from __future__ import annotations

from hub.directory.snapshot import AgencyView, Directory, GroupView
from hub.models import AgencyLevel, AgencyState

PROVINCE, DISTRICT, OTHER_DISTRICT = "000.00.00.H40", "000.00.29.H40", "000.00.30.H40"
COMMUNE_A, COMMUNE_B, COMMUNE_C = "000.04.29.H40", "000.05.29.H40", "000.01.30.H40"


def agency(code: str, level: AgencyLevel, parent: str | None = None,
           state: str = AgencyState.ACTIVE) -> AgencyView:  # fmt: skip
    return AgencyView(code, level, parent, state, f"lt.{code}", certificates=())


def province(*, suspended: tuple[str, ...] = ()) -> Directory:
    """A province, two districts, three communes, and the groups registration makes."""
    rows = [
        agency(PROVINCE, AgencyLevel.PROVINCE),
        agency(DISTRICT, AgencyLevel.DISTRICT, PROVINCE),
        agency(OTHER_DISTRICT, AgencyLevel.DISTRICT, PROVINCE),
        agency(COMMUNE_B, AgencyLevel.COMMUNE, DISTRICT),  # listed out of order on purpose
        agency(COMMUNE_A, AgencyLevel.COMMUNE, DISTRICT),
        agency(COMMUNE_C, AgencyLevel.COMMUNE, OTHER_DISTRICT),
    ]
    rows = [
        agency(a.code, AgencyLevel(a.level), a.parent_code, AgencyState.SUSPENDED)
        if a.code in suspended else a
        for a in rows
    ]  # fmt: skip
    groups = [
        GroupView(f"{DISTRICT}-communes", DISTRICT, "children:commune"),
        GroupView(f"{PROVINCE}-all", PROVINCE, "descendants"),
    ]
    return Directory(7, rows, groups)


def codes(found: list[AgencyView]) -> list[str]:
    return [a.code for a in found]


def test_a_district_group_stands_for_its_communes_in_code_order() -> None:
    resolution = province().resolve([f"{DISTRICT}-communes"])
    assert codes(resolution.agencies) == [COMMUNE_A, COMMUNE_B]
    assert resolution.unknown == [] and resolution.suspended == []


def test_a_province_group_stands_for_everyone_below_it() -> None:
    found = codes(province().resolve([f"{PROVINCE}-all"]).agencies)
    assert sorted(found) == sorted([DISTRICT, OTHER_DISTRICT, COMMUNE_A, COMMUNE_B, COMMUNE_C])
    assert PROVINCE not in found


def test_each_agency_is_named_once_whatever_addresses_overlap() -> None:
    resolution = province().resolve([COMMUNE_A, f"{DISTRICT}-communes", COMMUNE_A])
    assert codes(resolution.agencies) == [COMMUNE_A, COMMUNE_B]


def test_unknown_and_suspended_addresses_are_set_apart_for_the_refusal() -> None:
    resolution = province(suspended=(COMMUNE_B,)).resolve([COMMUNE_B, "000.99.29.H40", DISTRICT])
    assert codes(resolution.agencies) == [DISTRICT]
    assert resolution.unknown == ["000.99.29.H40"]
    assert resolution.suspended == [COMMUNE_B]


def test_a_group_leaves_its_suspended_members_out_without_refusing() -> None:
    resolution = province(suspended=(COMMUNE_A,)).resolve([f"{DISTRICT}-communes"])
    assert codes(resolution.agencies) == [COMMUNE_B]
    assert resolution.suspended == []


def test_the_publisher_is_found_by_its_broker_account_only() -> None:
    directory = province()
    found = directory.by_broker_user(f"lt.{COMMUNE_A}")
    assert found is not None and found.code == COMMUNE_A
    assert directory.by_broker_user(COMMUNE_A) is None
