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
from funnelcli.errors import UsageError
from funnelcli.plan import funnel_file

DAYS_PER_MONTH = Fraction(146097, 4800)  # the Gregorian mean month, 30.436875 days


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


@dataclass(frozen=True)
class Pacing:
    """When leads must enter to close by the deadline, and how many per period."""

    deadline: dt.date
    as_of: dt.date
    cycle_days: int
    last_lead_entry: dt.date
    window_start: dt.date
    window_days: int
    per: str
    schedule: tuple[PacingPeriod, ...]

    @property
    def feasible(self) -> bool:
        return self.window_days > 0

    @property
    def leads_per_day(self) -> Fraction | None:
        total = sum(period.leads for period in self.schedule)
        return Fraction(total, self.window_days) if self.feasible else None

    @property
    def average_per_period(self) -> int | None:
        """Leads per month (or week) on average over the window, rounded up."""
        per_day = self.leads_per_day
        if per_day is None:
            return None
        period_days = DAYS_PER_MONTH if self.per == "month" else Fraction(7)
        return math.ceil(per_day * period_days)


def _days_from(funnel: Funnel, index: int) -> int:
    """Days from entering stage ``index`` to closing: the sum of the stage days below it, rounded up.

    Rounding up errs on the early side: a lead that enters a day early is never late.
    """
    total = sum((stage.days or Fraction(0) for stage in funnel.stages[index:-1]), Fraction(0))
    return math.ceil(total)


def _require_days(funnel: Funnel) -> None:
    missing = [stage.name for stage in funnel.stages[:-1] if stage.days is None]
    if missing:
        raise UsageError(
            f"{funnel_file(funnel)}: pacing (--by or --period) needs days: on every stage but the last; "
            f"missing on {', '.join(missing)}"
        )


def enter_by_dates(funnel: Funnel, deadline: dt.date) -> list[dt.date]:
    _require_days(funnel)
    return [
        deadline - dt.timedelta(days=_days_from(funnel, index))
        for index in range(len(funnel.stages))
    ]


def plan_pacing(funnel: Funnel, leads_needed: int, request: PacingRequest) -> Pacing:
    _require_days(funnel)
    cycle = _days_from(funnel, 0)
    try:
        last_entry = request.deadline - dt.timedelta(days=cycle)
    except OverflowError:
        raise UsageError(
            f"{funnel_file(funnel)}: the stages' days add up to {cycle:,}, more than the calendar "
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
        periods.append(PacingPeriod(_period_label(start, per), start, end, cumulative - allotted))
        allotted = cumulative
        start = end + dt.timedelta(days=1)
    return tuple(periods)


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
