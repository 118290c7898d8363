"""Pacing a plan: when leads must enter to close by a deadline, and how many per period.

A lead entering stage i closes after the days of the stages below it, rounded up; the
leads spread over the window from the plan's first day to the last day a lead can
still close in time, per calendar month or ISO week (see :func:`_schedule`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from dataclasses import dataclass
from fractions import Fraction

from funnelcli.definition import Funnel
from funnelcli.errors import MissingStageDays, UsageError


@dataclass(frozen=True)
class PacingRequest:
    """When the revenue must be booked: a deadline, or a period (whose end is the deadline)."""

    deadline: dt.date
    as_of: dt.date
    period_start: dt.date | None = None
    per: str = "month"


@dataclass(frozen=True)
class PacingPeriod:
    """One month (or ISO week) of the pacing schedule and the leads to add in it."""

    label: str
    start: dt.date
    end: dt.date
    leads: int
    whole: bool = True  # the whole calendar month (or ISO week), not the window's cut end


@dataclass(frozen=True)
class Pacing:
    """When leads must enter to close by the deadline, and how many per period.

    ``leads`` is the count paced: the plan's leads, or its leads at --confidence when
    asked (``level``), since that is the count the plan asks for.
    """

    deadline: dt.date
    as_of: dt.date
    cycle_days: int
    last_lead_entry: dt.date
    window_start: dt.date
    window_days: int
    per: str
    schedule: tuple[PacingPeriod, ...]
    leads: int = 0
    level: Fraction | None = None

    @property
    def feasible(self) -> bool:
        return self.window_days > 0

    @property
    def leads_per_day(self) -> Fraction | None:
        total = sum(period.leads for period in self.schedule)
        return Fraction(total, self.window_days) if self.feasible else None

    @property
    def per_period_range(self) -> tuple[int, int] | None:
        """The fewest and most leads of the schedule's whole periods: what the summary says,
        so that it matches the table's rows. None when no period is whole (a window of 17
        days has no monthly rate: the summary gives its total instead)."""
        whole = [period.leads for period in self.schedule if period.whole]
        return (min(whole), max(whole)) if whole else None

    @property
    def has_whole_periods(self) -> bool:
        return self.per_period_range is not None


def _days_from(funnel: Funnel, index: int) -> int:
    """Days from entering stage ``index`` to closing: the sum of the stage days below it, rounded up.

    Rounding up errs on the early side: a lead that enters a day early is never late.
    """
    total = sum((stage.days or Fraction(0) for stage in funnel.stages[index:-1]), Fraction(0))
    return math.ceil(total)


def _require_days(funnel: Funnel) -> None:
    missing = [stage.name for stage in funnel.stages[:-1] if stage.days is None]
    if missing:
        raise MissingStageDays("deadline", funnel.file_label, missing)


def enter_by_dates(funnel: Funnel, deadline: dt.date) -> list[dt.date]:
    _require_days(funnel)
    return [
        deadline - dt.timedelta(days=_days_from(funnel, index))
        for index in range(len(funnel.stages))
    ]


def plan_pacing(
    funnel: Funnel, leads_needed: int, request: PacingRequest, level: Fraction | None = None
) -> Pacing:
    """Pace ``leads_needed`` (the count at confidence ``level`` when the plan has one)."""
    _require_days(funnel)
    cycle = _days_from(funnel, 0)
    try:
        last_entry = request.deadline - dt.timedelta(days=cycle)
    except OverflowError:
        raise UsageError(
            f"{funnel.file_label}: the stages' days add up to {cycle:,}, more than the calendar "
            f"holds before {request.deadline.isoformat()}; check the days: of the stages"
        ) from None
    window_start = request.as_of
    if request.period_start is not None:
        # A lead entering before this would close before the period begins.
        window_start = max(window_start, request.period_start - dt.timedelta(days=cycle))
    window_days = max(0, (last_entry - window_start).days + 1)
    schedule = _schedule(leads_needed, window_start, last_entry, request.per) if window_days else ()
    return Pacing(
        deadline=request.deadline,
        as_of=request.as_of,
        cycle_days=cycle,
        last_lead_entry=last_entry,
        window_start=window_start,
        window_days=window_days,
        per=request.per,
        schedule=schedule,
        leads=leads_needed,
        level=level,
    )


def _schedule(leads: int, first: dt.date, last: dt.date, per: str) -> tuple[PacingPeriod, ...]:
    """Leads per calendar month (or ISO week), in proportion to the window's days in each.

    Cumulative targets are rounded up (ceil(leads x days so far / window days)), so the
    periods sum to exactly ``leads`` and no period is behind the even pace.
    """
    window_days = (last - first).days + 1
    periods = []
    start = first
    elapsed = 0
    allotted = 0
    while start <= last:
        end = min(last, _period_end(start, per))
        elapsed += (end - start).days + 1
        cumulative = math.ceil(Fraction(leads * elapsed, window_days))
        whole = _period_start(start, per) == start and _period_end(start, per) == end
        periods.append(
            PacingPeriod(_period_label(start, per), start, end, cumulative - allotted, whole)
        )
        allotted = cumulative
        start = end + dt.timedelta(days=1)
    return tuple(periods)


def _period_start(day: dt.date, per: str) -> dt.date:
    if per == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def _period_end(day: dt.date, per: str) -> dt.date:
    if per == "week":
        return day + dt.timedelta(days=6 - day.weekday())
    return _month_end(day.year, day.month)


def _period_label(day: dt.date, per: str) -> str:
    if per == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """``2027-Q1``, ``2027-03`` or ``2027`` -> (first day, last day). Raises ValueError."""
    value = text.strip()
    if match := _QUARTER.match(value):
        year, quarter = int(match[1]), int(match[2])
        first_month = 3 * quarter - 2
        return dt.date(year, first_month, 1), _month_end(year, first_month + 2)
    if (match := _MONTH.match(value)) and 1 <= int(match[2]) <= 12:
        year, month = int(match[1]), int(match[2])
        return dt.date(year, month, 1), _month_end(year, month)
    if match := _YEAR.match(value):
        year = int(match[1])
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    raise ValueError(
        f"'{text}' is not a period; use a quarter (2027-Q1), a month (2027-03) or a year (2027)"
    )


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])
