"""Tests for funnelcli.dates: accepted forms, refusals, and the column's day order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelcli.dates import DateOrderEvidence, DayOrder, parse_date

MONTH_FIRST = DayOrder.MONTH_FIRST
DAY_FIRST = DayOrder.DAY_FIRST
AUG_27 = dt.date(2024, 8, 27)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2024-08-27", AUG_27),
        ("  2024-08-27  ", AUG_27),
        ("2024-08-27 14:03", AUG_27),
        ("2024-08-27T14:03:00Z", AUG_27),
        ("2024-08-27T14:03:00+02:00", AUG_27),
        ("2024-08-27T23:30:00-05:00", AUG_27),
        ("2024-08-27T14:03:00.123-0500", AUG_27),
        ("2024-08-27 14:03:00 UTC", AUG_27),
        ("2026-03-01 10:00:00", dt.date(2026, 3, 1)),
        ("2024-9-9", dt.date(2024, 9, 9)),
        ("2024/08/27", AUG_27),
        ("8/27/2024", AUG_27),
        ("27/8/2024", AUG_27),
        ("8/27/24 14:03", AUG_27),
        ("8/27/24 2:03 PM", AUG_27),
        ("16/10/2025", dt.date(2025, 10, 16)),
        ("10/16/2025", dt.date(2025, 10, 16)),
        ("27.08.2024", AUG_27),
        ("1.2.2024", dt.date(2024, 2, 1)),
        ("27.08.24", AUG_27),
        ("27.08.2024 14:03", AUG_27),
        ("2024-02-29", dt.date(2024, 2, 29)),
        ("1900-01-01", dt.date(1900, 1, 1)),
        ("2199-12-31", dt.date(2199, 12, 31)),
        (dt.datetime(2024, 8, 27, 14, 3), AUG_27),
        (dt.date(2024, 8, 27), AUG_27),
        (45531, AUG_27),
        (45531.75, AUG_27),
        (Decimal("45531"), AUG_27),
        (61, dt.date(1900, 3, 1)),
    ],
)
def test_accepted_forms(cell: object, expected: dt.date) -> None:
    assert parse_date(cell) == expected


@pytest.mark.parametrize(
    ("cell", "order", "expected"),
    [
        ("1/2/2024", MONTH_FIRST, dt.date(2024, 1, 2)),
        ("1/2/2024", DAY_FIRST, dt.date(2024, 2, 1)),
        ("01/02/2024 09:15", DAY_FIRST, dt.date(2024, 2, 1)),
        ("8/27/2024", MONTH_FIRST, AUG_27),
        ("27/8/2024", DAY_FIRST, AUG_27),
        ("2024-08-27", DAY_FIRST, AUG_27),
        ("27.08.2024", MONTH_FIRST, AUG_27),
    ],
)
def test_order_reads_slash_dates_only(cell: str, order: DayOrder, expected: dt.date) -> None:
    assert parse_date(cell, order) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1/2/00", dt.date(2000, 1, 2)),
        ("1/2/68", dt.date(2068, 1, 2)),
        ("1/2/69", dt.date(1969, 1, 2)),
        ("1/2/99", dt.date(1999, 1, 2)),
        ("2.1.68", dt.date(2068, 1, 2)),
        ("2.1.69", dt.date(1969, 1, 2)),
    ],
)
def test_two_digit_years_pivot_like_strptime(cell: str, expected: dt.date) -> None:
    assert parse_date(cell, MONTH_FIRST) == expected


@pytest.mark.parametrize(
    ("cell", "date_format", "expected"),
    [
        ("1/2/2024", "%d/%m/%Y", dt.date(2024, 2, 1)),
        ("1/2/2024", "%m/%d/%Y", dt.date(2024, 1, 2)),
        ("8/27/24 14:03", "%m/%d/%y", AUG_27),
        ("27-08-2024", "%d-%m-%Y", AUG_27),
        ("2024-07-08", "%Y-%d-%m", dt.date(2024, 8, 7)),
        ("2024-08-27 14:03", "%d/%m/%Y", AUG_27),
        ("27.08.2024", "%m/%d/%Y", AUG_27),
    ],
)
def test_date_format_wins(cell: str, date_format: str, expected: dt.date) -> None:
    assert parse_date(cell, MONTH_FIRST, date_format) == expected


@pytest.mark.parametrize("cell", [None, "", "   ", "\u00a0"])
def test_empty_cells_have_no_date(cell: str | None) -> None:
    assert parse_date(cell) is None


@pytest.mark.parametrize(
    ("cell", "order", "date_format", "reason"),
    [
        ("1/2/2024", None, None, "day and month order unknown; pass --date-format"),
        ("12/12/24 10:00", None, None, "day and month order unknown; pass --date-format"),
        ("2025-02-30", None, None, "impossible date: February 2025 has 28 days"),
        ("2023-02-29", None, None, "impossible date: February 2023 has 28 days"),
        ("2024-04-31", None, None, "impossible date: April 2024 has 30 days"),
        ("2024-08-00", None, None, "impossible date: no day 0"),
        ("0000-00-00", None, None, "impossible date: no month 0"),
        ("13/13/2024", None, None, "impossible date: no month 13"),
        ("13/13/2024", DAY_FIRST, None, "impossible date: no month 13"),
        ("27/8/2024", MONTH_FIRST, None, "impossible date: no month 27"),
        ("8/27/2024", DAY_FIRST, None, "impossible date: no month 27"),
        ("31.02.2024", None, None, "impossible date: February 2024 has 29 days"),
        ("2024-08-27 25:00", None, None, "impossible time"),
        ("2024-08-27 14:60", None, None, "impossible time"),
        ("8/27/24 13:03 PM", None, None, "impossible time"),
        ("9999-12-31", None, None, "placeholder date 9999-12-31"),
        ("9999-12-31 00:00:00", None, None, "placeholder date 9999-12-31"),
        (dt.date(9999, 12, 31), None, None, "placeholder date 9999-12-31"),
        (dt.datetime(9999, 12, 31, 23, 59), None, None, "placeholder date 9999-12-31"),
        (2958465, None, None, "placeholder date 9999-12-31"),
        ("9999-01-01", None, None, "year out of range"),
        ("1899-12-31", None, None, "year out of range"),
        ("2200-01-01", None, None, "year out of range"),
        ("0000-01-01", None, None, "year out of range"),
        ("1/2/1899", MONTH_FIRST, None, "year out of range"),
        (dt.date(1066, 10, 14), None, None, "year out of range"),
        (1, None, None, "year out of range"),
        ("tomorrow", None, None, "not a recognised date"),
        ("8/27", None, None, "not a recognised date"),
        ("2024-W35-2", None, None, "not a recognised date"),
        ("20240827", None, None, "not a recognised date"),
        ("1/2/2024", None, "%Y-%m-%d", "does not match --date-format %Y-%m-%d"),
        ("31/02/2024", None, "%d/%m/%Y", "impossible date"),
        (0, None, None, "number out of range for an Excel date"),
        (0.5, None, None, "number out of range for an Excel date"),
        (-1, None, None, "number out of range for an Excel date"),
        (2958466, None, None, "number out of range for an Excel date"),
        (float("nan"), None, None, "not a date"),
        (float("inf"), None, None, "not a date"),
        (Decimal("sNaN"), None, None, "not a date"),
        (True, None, None, "not a date"),
        ([2024, 8, 27], None, None, "not a date"),
    ],
)
def test_refused_forms_say_why(
    cell: object, order: DayOrder | None, date_format: str | None, reason: str
) -> None:
    with pytest.raises(ValueError) as raised:
        parse_date(cell, order, date_format)
    assert str(raised.value) == reason


def _evidence(*cells: object) -> DateOrderEvidence:
    evidence = DateOrderEvidence()
    for cell in cells:
        evidence.observe(cell)
    return evidence


def test_a_first_number_above_12_means_day_first() -> None:
    evidence = _evidence("1/2/2024", "27/8/2024", "3/4/2024")
    assert evidence.order is DAY_FIRST
    assert evidence.needs_order is False
    assert evidence.conflict is None
    assert (evidence.slash_count, evidence.day_first_count, evidence.ambiguous_count) == (3, 1, 2)


def test_a_second_number_above_12_means_month_first() -> None:
    evidence = _evidence("1/2/2024", "8/27/24 14:03")
    assert evidence.order is MONTH_FIRST
    assert evidence.needs_order is False
    assert evidence.conflict is None
    assert evidence.month_first_count == 1


def test_both_orders_seen_is_a_conflict() -> None:
    evidence = _evidence("1/2/2024", "8/27/2024", "27/8/2024", "9/28/2024", "28/9/2024")
    assert evidence.order is None
    assert evidence.needs_order is False
    assert evidence.conflict == ("8/27/2024", "27/8/2024")
    assert (evidence.month_first_count, evidence.day_first_count) == (2, 2)


def test_nothing_decides() -> None:
    evidence = _evidence(" 1/2/2024 ", "3/4/2024", None, "")
    assert evidence.order is None
    assert evidence.needs_order is True
    assert evidence.conflict is None
    assert evidence.ambiguous_count == 2
    assert evidence.first_ambiguous == "1/2/2024"


def test_an_iso_only_column_has_and_needs_no_order() -> None:
    evidence = _evidence("2024-08-27", "2024-08-27 14:03", AUG_27, 45531, None, "", "27.08.2024")
    assert evidence.order is None
    assert evidence.needs_order is False
    assert evidence.conflict is None
    assert evidence.slash_count == 0
    assert evidence.first_ambiguous is None


def test_an_impossible_slash_date_decides_nothing() -> None:
    evidence = _evidence("13/13/2024", "1/2/2024")
    assert evidence.order is None
    assert evidence.needs_order is True
    assert evidence.slash_count == 2


_DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31))


@given(_DATES)
def test_month_first_dates_parse_back_with_the_columns_order(date: dt.date) -> None:
    cell = f"{date.month}/{date.day}/{date.year}"
    evidence = _evidence(cell, "12/31/2024")
    assert evidence.order is MONTH_FIRST
    assert parse_date(cell, evidence.order) == date


@given(_DATES)
def test_day_first_dates_parse_back_with_the_columns_order(date: dt.date) -> None:
    cell = f"{date.day}/{date.month}/{date.year}"
    evidence = _evidence("31/12/2024", cell)
    assert evidence.order is DAY_FIRST
    assert parse_date(cell, evidence.order) == date


@given(_DATES)
def test_iso_and_dotted_dates_parse_back(date: dt.date) -> None:
    assert parse_date(date.isoformat()) == date
    assert parse_date(f"{date.isoformat()}T12:00:00Z") == date
    assert parse_date(f"{date.day:02}.{date.month:02}.{date.year}") == date


@given(st.dates(min_value=dt.date(1969, 1, 1), max_value=dt.date(2068, 12, 31)))
def test_two_digit_years_parse_back(date: dt.date) -> None:
    assert parse_date(date.strftime("%m/%d/%y"), MONTH_FIRST) == date


@given(_DATES)
def test_excel_serials_parse_back(date: dt.date) -> None:
    serial = (date - dt.date(1899, 12, 30)).days
    if serial >= 61:  # Excel's serials before 61 count a 1900-02-29 that never was
        assert parse_date(serial) == date
        assert parse_date(serial + 0.999) == date


def test_dates_impossible_either_way_need_no_order() -> None:
    """13/13/2025 is no date in either order: each row says so, no order question is asked."""
    evidence = DateOrderEvidence()
    for cell in ("13/13/2025", "31/31/2024"):
        evidence.observe(cell)
    assert (evidence.slash_count, evidence.needs_order, evidence.order) == (2, False, None)
    evidence.observe("01/02/2025")
    assert evidence.needs_order is True
