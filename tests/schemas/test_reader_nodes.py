"""The reader's own parsing of dates, timestamps and tag names against what it stands for."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime

import pytest
from lxml import etree

from schemas.model import VIETNAM_TIME
from schemas.reader_nodes import (
    DATE_FORMAT,
    TIMESTAMP_FORMAT,
    _parse_date,
    _parse_timestamp,
    split_tag,
)

DATES = ["2026/12/07", "2026/1/5", "2026/01/ 5", "2026/02/30", "2026/13/01", "26/12/07",
         "2026-12-07", "", "2026/12/07x", " 2026/12/07", "٢٠٢٦/١٢/٠٧", "2024/02/29"]  # fmt: skip
TIMES = ["2026/12/07 07:05:03", "2026/12/07 7:5:3", "2026/12/07  07:05:03",
         "2026/12/07\t07:05:03", "2026/12/07 24:00:00", "2026/12/07 23:59:60",
         "2026/12/0707:05:03", "2026/12/07 07:05", "2026/12/07 07:05:03 ",
         "2026/12/07 23:59:61"]  # fmt: skip


def outcome(parse: Callable[[str], object], raw: str) -> object:
    try:
        return parse(raw)
    except ValueError:
        return ValueError


def by_strptime_date(raw: str) -> date:
    return datetime.strptime(raw, DATE_FORMAT).date()


def by_strptime_timestamp(raw: str) -> datetime:
    return datetime.strptime(raw, TIMESTAMP_FORMAT).replace(tzinfo=VIETNAM_TIME)


@pytest.mark.parametrize("raw", DATES)
def test_a_date_is_read_as_strptime_reads_it(raw: str) -> None:
    assert outcome(_parse_date, raw) == outcome(by_strptime_date, raw)


@pytest.mark.parametrize("raw", TIMES)
def test_a_timestamp_is_read_as_strptime_reads_it(raw: str) -> None:
    assert outcome(_parse_timestamp, raw) == outcome(by_strptime_timestamp, raw)


# Pieces of timestamps, valid and not, put together at random below.
YEARS, MONTHS = ("2026", "2024", "026", "20266"), ("1", "01", "12", "13", "0", "00", " 1", "")
DAYS = ("1", "01", "29", "30", "31", "32", " 5", "0", "٧")
GAPS = (" ", "  ", "\t", "", "x", " \n ")
HOURS, MINUTES = ("0", "00", "7", "23", "24", " 7"), ("0", "05", "59", "60", "")
SECONDS = ("0", "5", "59", "60", "61", "5 ")


def test_timestamps_put_together_at_random_fare_as_under_strptime() -> None:
    pick = random.Random(102).choice  # noqa: S311 (a fixed seed for a repeatable run, no secret)
    accepted = 0
    for _ in range(5_000):
        day = f"{pick(YEARS)}/{pick(MONTHS)}/{pick(DAYS)}"
        raw = f"{day}{pick(GAPS)}{pick(HOURS)}:{pick(MINUTES)}:{pick(SECONDS)}"
        expected = outcome(by_strptime_timestamp, raw)
        assert outcome(_parse_timestamp, raw) == expected, raw
        assert outcome(_parse_date, day) == outcome(by_strptime_date, day), day
        accepted += expected is not ValueError
    assert accepted > 50  # the comparison saw timestamps read, not only refusals


def test_tags_split_as_lxml_names_them() -> None:
    for tag in ("{http://www.mic.gov.vn/TBT/QCVN_102_2016}Subject", "Subject"):
        name = etree.QName(tag)
        assert split_tag(tag) == (name.namespace, name.localname)
