"""Turn a date cell of a CRM export into a :class:`datetime.date`.

The rules below are a contract: tests assert each of them.

Accepted cells
    * ISO dates, with or without a time and a zone: ``2024-08-27``,
      ``2024-08-27 14:03``, ``2024-08-27T14:03:00Z``,
      ``2024-08-27T14:03:00+02:00``, ``2026-03-01 10:00:00``; also the
      year-first slash form ``2024/08/27``.
    * Slash dates ``8/27/2024`` (month first) or ``27/8/2024`` (day first),
      optionally followed by a time (``8/27/24 14:03``, ``8/27/24 2:03 PM``),
      as Excel writes them after a re-save. Which number is the month is a
      property of the whole column: see :class:`DateOrderEvidence`.
    * Dotted dates ``27.08.2024``: always day first (no locale writes a dotted
      date month first).
    * Two-digit years, in slash and dotted dates: 00-68 are 2000-2068 and
      69-99 are 1969-1999, the pivot of ``strptime``'s ``%y``.
    * ``datetime.datetime`` and ``datetime.date`` objects (XLSX date cells).
    * Numbers (``int``, ``float``, ``Decimal``) are Excel serial day numbers,
      1 to 2958465, counted from 1899-12-30; the fraction (the time) is
      dropped. A reader passes a numeric cell here only for a column it treats
      as a date column, which is what such a cell means in a date column.
      Excel's fictional 1900-02-29 makes serials below 61 one day early; no
      deal is dated in January or February 1900.

The date as written is the date
    The time and the zone are checked for plausibility and then dropped, never
    converted: CRMs write some dates in the user's local time and some in UTC
    (HubSpot's Close Date), and users read them, and compare them with their
    own records, as written. Converting ``2024-08-27T23:30:00-05:00`` to UTC
    would move the deal to a day nobody sees in the CRM.

Day and month order
    A slash date whose first number is above 12 is day first and one whose
    second number is above 12 is month first; the column's order is decided by
    all its values (:class:`DateOrderEvidence`). When nothing decides, the
    caller must say so and ask for ``--date-format``: the order is never
    guessed. ``parse_date`` with ``order=None`` reads a slash date that decides
    itself and refuses one that does not.

One export, one order
    The date columns of one export were written by one CRM for one user's
    locale: a column whose values leave the order open takes the order its
    export's other date columns decide (Salesforce's ``Created Date`` of
    ``3/01/2025`` is day first when ``Close Date`` holds ``18/02/2025``), see
    :func:`shared_order`. Only when the deciding columns agree: columns that
    decide opposite orders, or a column that mixes both, settle nothing, and
    the undecided column still asks for ``--date-format``. The format it
    suggests is written as its cells are (:func:`slash_formats`: ``%m/%d/%y``
    for ``8/1/24 14:03``; the time is dropped, as the reader drops it).

``date_format``
    A ``strptime`` format given by the user wins: a value that matches it (in
    full, or its part before the first space) is read with it. A value that
    does not match is still read when its form is unambiguous (ISO, dotted,
    year-first, Excel cells); an ambiguous one is refused.

Refusals raise ``ValueError`` with a short reason: ``day and month order
unknown; pass --date-format``, ``impossible date: no month 13``,
``impossible date: no day 0``, ``impossible date: February 2025 has 28 days``
(``impossible date`` alone when a ``--date-format`` matched a day that does
not exist),
``impossible time``, ``year out of range`` (outside 1900..2199),
``placeholder date 9999-12-31`` (CRMs' "never"), ``not a recognised date``,
``does not match --date-format <format>`` (with the same format with ``%y`` for
``%Y`` when the cell is a slash date with a two-digit year),
``number out of range for an Excel date``, ``not a date``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from decimal import Decimal
from enum import Enum

MIN_YEAR = 1900
MAX_YEAR = 2199
PLACEHOLDER_DATE = dt.date(9999, 12, 31)
EXCEL_EPOCH = dt.date(1899, 12, 30)
MAX_EXCEL_SERIAL = 2958465  # 9999-12-31

_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

_TIME = (
    r"(?:(?:T|\s+)(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?P<meridiem>[AaPp]\.?[Mm]\.?)?"
    r"(?:\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?))?)?"
)
_ISO = re.compile(rf"(?P<year>\d{{4}})-(?P<month>\d{{1,2}})-(?P<day>\d{{1,2}}){_TIME}", re.ASCII)
_YEAR_FIRST = re.compile(
    rf"(?P<year>\d{{4}})/(?P<month>\d{{1,2}})/(?P<day>\d{{1,2}}){_TIME}", re.ASCII
)
_DOTTED = re.compile(
    rf"(?P<day>\d{{1,2}})\.(?P<month>\d{{1,2}})\.(?P<year>\d{{4}}|\d{{2}}){_TIME}", re.ASCII
)
_SLASH = re.compile(
    rf"(?P<first>\d{{1,2}})/(?P<next>\d{{1,2}})/(?P<year>\d{{4}}|\d{{2}}){_TIME}", re.ASCII
)

ORDER_UNKNOWN = "day and month order unknown; pass --date-format"


class DayOrder(Enum):
    """Which number of a slash date is the month."""

    MONTH_FIRST = "M/D/Y"
    DAY_FIRST = "D/M/Y"


class DateOrderEvidence:
    """What the slash dates of one column say about their day and month order.

    Feed it every raw value of the column with :meth:`observe`; values that are
    not slash dates are ignored, so an ISO-only column has no order and needs
    none.
    """

    __slots__ = (
        "_ambiguous_count",
        "_day_first_count",
        "_first_ambiguous",
        "_first_day_first",
        "_first_month_first",
        "_month_first_count",
        "_slash_count",
    )

    def __init__(self) -> None:
        self._slash_count = 0
        self._day_first_count = 0
        self._month_first_count = 0
        self._ambiguous_count = 0
        self._first_day_first: str | None = None
        self._first_month_first: str | None = None
        self._first_ambiguous: str | None = None

    def observe(self, cell: object) -> None:
        """Count one raw cell value."""
        if not isinstance(cell, str) or "/" not in cell:
            return
        text = cell.strip()
        match = _SLASH.fullmatch(text)
        if match is None:
            return
        self._slash_count += 1
        first, following = int(match["first"]), int(match["next"])
        if first > 12 and following > 12:
            return  # impossible either way; parse_date says so
        if first > 12:
            self._day_first_count += 1
            self._first_day_first = self._first_day_first or text
        elif following > 12:
            self._month_first_count += 1
            self._first_month_first = self._first_month_first or text
        else:
            self._ambiguous_count += 1
            self._first_ambiguous = self._first_ambiguous or text

    @property
    def order(self) -> DayOrder | None:
        """The column's order; None when no value decides it or values disagree."""
        if self._day_first_count and not self._month_first_count:
            return DayOrder.DAY_FIRST
        if self._month_first_count and not self._day_first_count:
            return DayOrder.MONTH_FIRST
        return None

    @property
    def needs_order(self) -> bool:
        """True when slash dates that could be either order were seen but none decides it.

        Values impossible either way (``13/13/2025``) need no order: each is refused on
        its row as not a date."""
        return (
            self._ambiguous_count > 0 and not self._day_first_count and not self._month_first_count
        )

    @property
    def conflict(self) -> tuple[str, str] | None:
        """``(month_first_example, day_first_example)`` when both orders are seen."""
        if self._first_month_first is None or self._first_day_first is None:
            return None
        return self._first_month_first, self._first_day_first

    @property
    def slash_count(self) -> int:
        """How many values were slash dates."""
        return self._slash_count

    @property
    def day_first_count(self) -> int:
        """How many values had a first number above 12."""
        return self._day_first_count

    @property
    def month_first_count(self) -> int:
        """How many values had a second number above 12."""
        return self._month_first_count

    @property
    def ambiguous_count(self) -> int:
        """How many slash dates had both numbers at most 12."""
        return self._ambiguous_count

    @property
    def first_ambiguous(self) -> str | None:
        """The first slash date that could be read either way, for messages."""
        return self._first_ambiguous


def shared_order(evidence: Iterable[DateOrderEvidence]) -> DayOrder | None:
    """The order an export's deciding date columns agree on, for its undecided ones.

    None when no column decides, when two decide opposite orders, or when one mixes
    both (an export whose dates are not one locale's: nothing is settled for it)."""
    orders = set()
    for seen in evidence:
        if seen.conflict is not None:
            return None
        if seen.order is not None:
            orders.add(seen.order)
    return orders.pop() if len(orders) == 1 else None


def slash_formats(example: str) -> tuple[str, str]:
    """``(day first, month first)`` ``--date-format`` patterns written as ``example`` is:
    ``%y`` for a two-digit year; a time after the date is left out (the reader reads a
    format on the cell's part before the first space)."""
    match = _SLASH.fullmatch(example.strip())
    year = "%y" if match is not None and len(match["year"]) == 2 else "%Y"
    return f"%d/%m/{year}", f"%m/%d/{year}"


def parse_date(
    cell: object, order: DayOrder | None = None, date_format: str | None = None
) -> dt.date | None:
    """Read one date cell; ``None`` when it is empty. Raises ``ValueError`` with a reason."""
    if cell is None:
        return None
    if isinstance(cell, str):
        text = cell.strip()
        if not text:
            return None
        if date_format is None and len(text) == 10 and text[4] == "-" and text[7] == "-":
            try:
                return _checked(dt.date.fromisoformat(text))
            except ValueError:
                pass  # the general path finds the reason
        return _parse_text(text, order, date_format)
    if isinstance(cell, dt.datetime):
        return _checked(cell.date())
    if isinstance(cell, dt.date):
        return _checked(cell)
    if isinstance(cell, int | float | Decimal) and not isinstance(cell, bool):
        return _checked(_from_excel_serial(cell))
    raise ValueError("not a date")


def _checked(date: dt.date) -> dt.date:
    if date == PLACEHOLDER_DATE:
        raise ValueError("placeholder date 9999-12-31")
    if not MIN_YEAR <= date.year <= MAX_YEAR:
        raise ValueError("year out of range")
    return date


def _from_excel_serial(serial: int | float | Decimal) -> dt.date:
    finite = serial.is_finite() if isinstance(serial, Decimal) else math.isfinite(serial)
    if not finite:
        raise ValueError("not a date")
    days = math.floor(serial)
    if not 1 <= days <= MAX_EXCEL_SERIAL:
        raise ValueError("number out of range for an Excel date")
    return EXCEL_EPOCH + dt.timedelta(days=days)


def _parse_text(text: str, order: DayOrder | None, date_format: str | None) -> dt.date:
    if date_format is not None:
        formatted = _with_format(text, date_format)
        if formatted is not None:
            return _checked(formatted)
    if (match := _ISO.fullmatch(text) or _YEAR_FIRST.fullmatch(text)) is not None:
        return _date_from(match, int(match["year"]), int(match["month"]), int(match["day"]))
    if (match := _DOTTED.fullmatch(text)) is not None:
        year = _full_year(match["year"])
        return _date_from(match, year, int(match["month"]), int(match["day"]))
    if date_format is not None:
        slash = _SLASH.fullmatch(text)
        if slash is not None and len(slash["year"]) == 2 and "%Y" in date_format:
            raise ValueError(
                f"does not match --date-format {date_format}: a two-digit year is %y, "
                f"as in --date-format {date_format.replace('%Y', '%y')}"
            )
        raise ValueError(f"does not match --date-format {date_format}")
    if (match := _SLASH.fullmatch(text)) is not None:
        month, day = _month_and_day(int(match["first"]), int(match["next"]), order)
        return _date_from(match, _full_year(match["year"]), month, day)
    raise ValueError("not a recognised date")


def _with_format(text: str, date_format: str) -> dt.date | None:
    """The date ``text`` (or its part before the first space) has in the user's format."""
    candidates = [text]
    if len(head := text.split(maxsplit=1)[0]) < len(text):
        candidates.append(head)
    for candidate in candidates:
        try:
            return dt.datetime.strptime(candidate, date_format).date()
        except ValueError as error:
            if "out of range" in str(error):  # the format matched, the date does not exist
                raise ValueError("impossible date") from None
    return None


def _month_and_day(first: int, following: int, order: DayOrder | None) -> tuple[int, int]:
    if order is None:
        if first > 12 >= following:
            order = DayOrder.DAY_FIRST
        elif first <= 12:
            if following <= 12:
                raise ValueError(ORDER_UNKNOWN)
            order = DayOrder.MONTH_FIRST
        else:
            order = DayOrder.MONTH_FIRST  # both above 12: impossible either way
    if order is DayOrder.MONTH_FIRST:
        return first, following
    return following, first


def _full_year(digits: str) -> int:
    year = int(digits)
    if len(digits) == 2:
        return 2000 + year if year < 69 else 1900 + year
    return year


def _date_from(match: re.Match[str], year: int, month: int, day: int) -> dt.date:
    if not 1 <= month <= 12:
        raise ValueError(f"impossible date: no month {month}")
    if day < 1:
        raise ValueError(f"impossible date: no day {day}")
    if day > (length := _days_in_month(year, month)):
        raise ValueError(f"impossible date: {_MONTH_NAMES[month - 1]} {year} has {length} days")
    _check_time(match)
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise ValueError("year out of range")
    return _checked(dt.date(year, month, day))


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _check_time(match: re.Match[str]) -> None:
    if match["hour"] is None:
        return
    hour, minute = int(match["hour"]), int(match["minute"])
    second = int(match["second"] or 0)
    hour_ok = 1 <= hour <= 12 if match["meridiem"] else hour <= 23
    if not (hour_ok and minute <= 59 and second <= 59):
        raise ValueError("impossible time")
