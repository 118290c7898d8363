"""The reverse plan: from a revenue target to the count needed at every stage.

The rule, in exact rational arithmetic (35% is 7/20, never 0.35000000000000003):

* ``deals_needed = ceil(target / deal_value)``
* ``needed[i] = ceil(deals_needed / (conversion[i] x ... x conversion[last - 1]))``: the
  smallest count at stage i whose *expected* yield reaches ``deals_needed``.

``--confidence P`` replaces "expected" by "with probability at least P": the smallest
N with P(Binomial(N, p) >= deals_needed) >= P, p being the cumulative conversion to
won from that stage. Pacing spreads the leads over the days that can still close in
time; budget prices them; sensitivity shows which stage's rate is the best lever.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from funnelcli.definition import Funnel
from funnelcli.errors import UsageError
from funnelcli.stats import smallest_trials

SENSITIVITY_STEP = Fraction(5, 100)
"""How much a stage's rate is raised in the sensitivity table: 5 percentage points."""

DAYS_PER_MONTH = Fraction(146097, 4800)  # the Gregorian mean month, 30.436875 days


@dataclass(frozen=True)
class StagePlan:
    name: str
    needed: int
    conversion_to_next: Fraction | None
    cumulative_to_won: Fraction
    enter_by: dt.date | None = None


@dataclass(frozen=True)
class ConfidencePlan:
    level: Fraction
    needed: tuple[int, ...]  # aligned with Plan.stages

    @property
    def leads_needed(self) -> int:
        return self.needed[0]


@dataclass(frozen=True)
class Budget:
    cost_per_lead: Decimal
    lead_budget: Fraction
    cost_per_won_deal: Fraction
    lead_budget_at_confidence: Fraction | None


@dataclass(frozen=True)
class PacingPeriod:
    label: str
    start: dt.date
    end: dt.date
    leads: int


@dataclass(frozen=True)
class Pacing:
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


@dataclass(frozen=True)
class Sensitivity:
    stage: str
    current_rate: Fraction
    raised_rate: Fraction
    leads_needed: int
    leads_saved: int
    budget_saved: Fraction | None


@dataclass(frozen=True)
class Plan:
    funnel: str
    funnel_is_default: bool
    currency: str
    target_revenue: Decimal
    average_deal_value: Decimal
    deals_needed: int
    stages: tuple[StagePlan, ...]
    confidence: ConfidencePlan | None
    budget: Budget | None
    pacing: Pacing | None
    sensitivity: tuple[Sensitivity, ...]

    @property
    def leads_needed(self) -> int:
        return self.stages[0].needed

    @property
    def lever(self) -> Sensitivity | None:
        """The stage whose 5-point rise saves the most leads (the first such stage on a tie)."""
        best = max(self.sensitivity, key=lambda row: row.leads_saved, default=None)
        return best if best is not None and best.leads_saved > 0 else None


@dataclass(frozen=True)
class PacingRequest:
    """When the revenue must be booked: a deadline, or a period (whose end is the deadline)."""

    deadline: dt.date
    as_of: dt.date
    period_start: dt.date | None = None
    per: str = "month"


def needed_per_stage(deals_needed: int, rates: list[Fraction]) -> list[int]:
    """``needed[i] = ceil(deals_needed / product(rates[i:]))``, exactly; the won stage needs deals_needed."""
    needed = [deals_needed]
    cumulative = Fraction(1)
    for rate in reversed(rates):
        cumulative *= rate
        needed.append(math.ceil(deals_needed / cumulative))
    return needed[::-1]


def cumulative_rates(rates: list[Fraction]) -> list[Fraction]:
    """The probability of reaching won from each stage: products of the rates below it."""
    cumulative = [Fraction(1)]
    for rate in reversed(rates):
        cumulative.append(cumulative[-1] * rate)
    return cumulative[::-1]


def make_plan(
    funnel: Funnel,
    target: Decimal,
    *,
    deal_value: Decimal | None = None,
    confidence: Fraction | None = None,
    cost_per_lead: Decimal | None = None,
    pacing: PacingRequest | None = None,
) -> Plan:
    """The whole plan for a target; raises :class:`UsageError` for values it cannot plan with."""
    value = checked_deal_value(funnel, target, deal_value)
    if not funnel.has_rates:
        raise UsageError(
            f"{_funnel_file(funnel)}: the stages have no conversion: rates; "
            "give each stage but the last a rate like 0.35 or 35% to plan with it"
        )
    rates = [stage.conversion for stage in funnel.stages[:-1] if stage.conversion is not None]
    deals_needed = math.ceil(Fraction(target) / Fraction(value))
    needed = needed_per_stage(deals_needed, rates)
    cumulative = cumulative_rates(rates)
    pacing_result = _pacing(funnel, needed[0], pacing) if pacing is not None else None
    enter_by = _enter_by_dates(funnel, pacing.deadline) if pacing is not None else None
    stages = tuple(
        StagePlan(
            name=stage.name,
            needed=needed[index],
            conversion_to_next=stage.conversion if index < len(rates) else None,
            cumulative_to_won=cumulative[index],
            enter_by=enter_by[index] if enter_by else None,
        )
        for index, stage in enumerate(funnel.stages)
    )
    if confidence is not None:
        _check_confidence_plannable(deals_needed, cumulative, funnel)
    confidence_plan = (
        ConfidencePlan(
            confidence, tuple(smallest_trials(deals_needed, p, confidence) for p in cumulative)
        )
        if confidence is not None
        else None
    )
    price = cost_per_lead if cost_per_lead is not None else funnel.cost_per_lead
    budget = _budget(price, needed[0], deals_needed, confidence_plan) if price is not None else None
    return Plan(
        funnel=funnel.name,
        funnel_is_default=funnel.is_default,
        currency=funnel.currency,
        target_revenue=target,
        average_deal_value=value,
        deals_needed=deals_needed,
        stages=stages,
        confidence=confidence_plan,
        budget=budget,
        pacing=pacing_result,
        sensitivity=_sensitivity(deals_needed, rates, funnel, needed[0], price),
    )


MAX_CONFIDENCE_DEALS = 10_000_000
"""--confidence sums binomial terms over about ten standard deviations: past ten million
won deals that is minutes of work, and the expected-value plan is already within 0.1%."""


def _check_confidence_plannable(
    deals_needed: int, cumulative: list[Fraction], funnel: Funnel
) -> None:
    if deals_needed > MAX_CONFIDENCE_DEALS:
        raise UsageError(
            f"--confidence: {deals_needed:,} won deals is more than the {MAX_CONFIDENCE_DEALS:,} it "
            "plans for; at this size the plan without --confidence is already within 0.1%"
        )
    for stage, probability in zip(funnel.stages, cumulative, strict=True):
        if float(probability) == 0.0:
            raise UsageError(
                f"--confidence: the chance of winning from {stage.name} ({float(probability):.1e}) "
                "is too small to compute; check the rates"
            )


def checked_deal_value(funnel: Funnel, target: Decimal, deal_value: Decimal | None) -> Decimal:
    """The deal value to plan with (--deal-value, else the file's), with the target checked."""
    value = deal_value if deal_value is not None else funnel.average_deal_value
    if value is None:
        raise UsageError(
            "no average deal value: pass --deal-value (like --deal-value 24k) "
            f"or set average_deal_value: in {_funnel_file(funnel)}"
        )
    if target <= 0:
        raise UsageError(f"--target must be above 0, got {target}")
    if value <= 0:
        raise UsageError(f"--deal-value must be above 0, got {value}")
    return value


def _funnel_file(funnel: Funnel) -> str:
    return "funnel.yaml" if funnel.is_default else funnel.source


def _budget(
    cost_per_lead: Decimal, leads_needed: int, deals_needed: int, confidence: ConfidencePlan | None
) -> Budget:
    price = Fraction(cost_per_lead)
    lead_budget = price * leads_needed
    return Budget(
        cost_per_lead=cost_per_lead,
        lead_budget=lead_budget,
        cost_per_won_deal=lead_budget / deals_needed,
        lead_budget_at_confidence=price * confidence.leads_needed if confidence else None,
    )


def _sensitivity(
    deals_needed: int,
    rates: list[Fraction],
    funnel: Funnel,
    leads_needed: int,
    price: Decimal | None,
) -> tuple[Sensitivity, ...]:
    rows = []
    for index, rate in enumerate(rates):
        raised = min(Fraction(1), rate + SENSITIVITY_STEP)
        changed = [*rates[:index], raised, *rates[index + 1 :]]
        leads = needed_per_stage(deals_needed, changed)[0]
        saved = leads_needed - leads
        rows.append(
            Sensitivity(
                stage=funnel.stages[index].name,
                current_rate=rate,
                raised_rate=raised,
                leads_needed=leads,
                leads_saved=saved,
                budget_saved=Fraction(price) * saved if price is not None else None,
            )
        )
    return tuple(rows)


# --- pacing -------------------------------------------------------------------------------


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
            f"{_funnel_file(funnel)}: pacing (--by or --period) needs days: on every stage but the last; "
            f"missing on {', '.join(missing)}"
        )


def _enter_by_dates(funnel: Funnel, deadline: dt.date) -> list[dt.date]:
    _require_days(funnel)
    return [
        deadline - dt.timedelta(days=_days_from(funnel, index))
        for index in range(len(funnel.stages))
    ]


def _pacing(funnel: Funnel, leads_needed: int, request: PacingRequest) -> Pacing:
    _require_days(funnel)
    cycle = _days_from(funnel, 0)
    try:
        last_entry = request.deadline - dt.timedelta(days=cycle)
    except OverflowError:
        raise UsageError(
            f"{_funnel_file(funnel)}: the stages' days add up to {cycle:,}, more than the calendar "
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
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


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


def covered_plan(funnel: Funnel, target: Decimal, deal_value: Decimal) -> Plan:
    """The plan when nothing new is needed (the open pipeline covers the target): all zeros."""
    rates = [stage.conversion for stage in funnel.stages[:-1] if stage.conversion is not None]
    cumulative = cumulative_rates(rates)
    return Plan(
        funnel=funnel.name,
        funnel_is_default=funnel.is_default,
        currency=funnel.currency,
        target_revenue=target,
        average_deal_value=deal_value,
        deals_needed=0,
        stages=tuple(
            StagePlan(
                stage.name, 0, stage.conversion if index < len(rates) else None, cumulative[index]
            )
            for index, stage in enumerate(funnel.stages)
        ),
        confidence=None,
        budget=None,
        pacing=None,
        sensitivity=(),
    )
