"""The reverse plan: from a revenue target to the count needed at every stage.

The rule, in exact rational arithmetic (35% is 7/20, never 0.35000000000000003):

* ``deals_needed = ceil(target / deal_value)``
* ``needed[i] = ceil(deals_needed / (conversion[i] x ... x conversion[last - 1]))``: the
  smallest count at stage i whose *expected* yield reaches ``deals_needed``.

``--confidence P`` replaces "expected" by "with probability at least P": the smallest
N with P(Binomial(N, p) >= deals_needed) >= P, p being the cumulative conversion to
won from that stage. Pacing spreads the leads over the days that can still close in
time (``pacing.py``); budget prices them; sensitivity shows which stage's rate is the
best lever.
"""

# No `from __future__ import annotations`: typing compiles each string annotation of a
# named tuple into a ForwardRef when the class is made, on every start-up.
import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, NamedTuple

from funnelcli.definition import Funnel
from funnelcli.errors import InvalidValue, MissingValue, NotComputable, UsageError

if TYPE_CHECKING:  # pacing is imported only when a plan is paced (--by, --period)
    from funnelcli.history_plan import PipelineCredit, StageRate
    from funnelcli.pacing import Pacing, PacingRequest

SENSITIVITY_STEP = Fraction(5, 100)
"""How much a stage's rate is raised in the sensitivity table: 5 percentage points."""

# The plan's records are named tuples, not frozen dataclasses: a dataclass costs about
# 0.4 ms to create at start-up, and `funnel plan` is held to 1.3x typer's import time.
# They keep what callers use: fields by name and keyword, immutability, == and the repr.


class StagePlan(NamedTuple):
    """One stage of a plan: the count needed there, and its rates to the next stage and to won."""

    name: str
    needed: int
    conversion_to_next: Fraction | None
    cumulative_to_won: Fraction
    enter_by: dt.date | None = None


class ConfidencePlan(NamedTuple):
    """--confidence: the count needed at each stage to reach the deals with that probability."""

    level: Fraction
    needed: tuple[int, ...]  # aligned with Plan.stages

    @property
    def leads_needed(self) -> int:
        return self.needed[0]


class Budget(NamedTuple):
    """What the leads cost, in all and per won deal (and at --confidence, when asked)."""

    cost_per_lead: Decimal
    lead_budget: Fraction
    cost_per_won_deal: Fraction
    lead_budget_at_confidence: Fraction | None


class Sensitivity(NamedTuple):
    """What raising one stage's rate by SENSITIVITY_STEP would save in leads (and budget)."""

    stage: str
    current_rate: Fraction
    raised_rate: Fraction
    leads_needed: int
    leads_saved: int
    budget_saved: Fraction | None


class Plan(NamedTuple):
    """The whole reverse plan for a revenue target; see the module docstring for the rule."""

    funnel: str
    funnel_is_default: bool
    currency: str
    target_revenue: Decimal
    average_deal_value: Decimal
    deals_needed: int
    stages: tuple[StagePlan, ...]
    confidence: ConfidencePlan | None
    budget: Budget | None
    pacing: "Pacing | None"
    sensitivity: tuple[Sensitivity, ...]

    @property
    def leads_needed(self) -> int:
        return self.stages[0].needed

    @property
    def lever(self) -> Sensitivity | None:
        """The stage whose 5-point rise saves the most leads (the first such stage on a tie)."""
        best = max(self.sensitivity, key=lambda row: row.leads_saved, default=None)
        return best if best is not None and best.leads_saved > 0 else None


class PlanContext(NamedTuple):
    """Where a plan's rates came from, and the open pipeline it credits (plan from history).

    Made by the plan use case (planning.py), read by the renderers beside the plan."""

    rates_from: str | None = None
    notes: tuple[str, ...] = ()
    credit: "PipelineCredit | None" = None
    credit_from: str | None = None
    rates: "tuple[StageRate, ...]" = ()  # each rate from the export and what it rests on


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
    pacing: "PacingRequest | None" = None,
) -> Plan:
    """The whole plan for a target; raises :class:`InvalidValue` (or :class:`UsageError`, for
    a funnel without rates) for values it cannot plan with."""
    value = checked_deal_value(funnel, target, deal_value)
    if not funnel.has_rates:
        raise UsageError(
            f"{funnel.file_label}: the stages have no conversion: rates; "
            "give each stage but the last a rate like 0.35 or 35% to plan with it"
        )
    rates = [stage.conversion for stage in funnel.stages[:-1] if stage.conversion is not None]
    deals_needed = math.ceil(Fraction(target) / Fraction(value))
    needed = needed_per_stage(deals_needed, rates)
    cumulative = cumulative_rates(rates)
    confidence_plan: ConfidencePlan | None = None
    if confidence is not None:
        from funnelcli.stats import smallest_trials  # lazy: --confidence only (start-up)

        _check_confidence_plannable(deals_needed, cumulative, funnel)
        confidence_plan = ConfidencePlan(
            confidence, tuple(smallest_trials(deals_needed, p, confidence) for p in cumulative)
        )
    pacing_result, enter_by = None, None
    if pacing is not None:
        from funnelcli.pacing import enter_by_dates, plan_pacing

        # Pace the count the plan asks for: at --confidence, its leads at that level.
        leads, level = (
            (confidence_plan.leads_needed, confidence_plan.level)
            if confidence_plan is not None
            else (needed[0], None)
        )
        pacing_result = plan_pacing(funnel, leads, pacing, level)
        enter_by = enter_by_dates(funnel, pacing.deadline)
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
        raise NotComputable(
            "confidence",
            f"{deals_needed:,} won deals is more than the {MAX_CONFIDENCE_DEALS:,} it plans for",
            "at this size the plan without {name} is already within 0.1%",
        )
    for stage, probability in zip(funnel.stages, cumulative, strict=True):
        if float(probability) == 0.0:
            raise NotComputable(
                "confidence",
                f"the chance of winning from {stage.name} ({float(probability):.1e}) "
                "is too small to compute",
                "check the rates",
            )


DEAL_VALUE_EXAMPLE = "24k"
"""How a deal value is written, in the fix for a missing one."""


def checked_deal_value(funnel: Funnel, target: Decimal, deal_value: Decimal | None) -> Decimal:
    """The deal value to plan with (the caller's, else the file's), with the target checked."""
    value = deal_value if deal_value is not None else funnel.average_deal_value
    if value is None:
        raise MissingValue(
            "deal_value",
            "no average deal value",
            example=DEAL_VALUE_EXAMPLE,
            file_key="average_deal_value",
            file_label=funnel.file_label,
        )
    if target <= 0:
        raise InvalidValue("target", target, "must be above 0")
    if value <= 0:
        raise InvalidValue("deal_value", value, "must be above 0")
    return value


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
