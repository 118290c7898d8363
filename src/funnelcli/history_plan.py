"""Plans from history: the export's measured rates, and credit for the open pipeline.

Three steps on top of :mod:`funnelcli.plan`, all in exact arithmetic (Fraction/Decimal):

1. :func:`measured_funnel`: the funnel with the export's figures in place of the plan's.

   * ``conversion[i] = resolved_conversion[i]`` from the report (deals that moved on over
     deals that left stage i). A stage no deal has left keeps its planned rate, with a
     note. A measured 0% cannot be planned with: :class:`UsageError`.
   * Losses unattributed (lost deals at an unknown stage, report.py): no stage's rate
     can be measured, and none is planned at 100% for want of an attributed loss. With
     the export's probability column (the report's ``win_probabilities``, P_i per open
     stage, P = 1 at won): ``conversion[i] = min(1, P_i / P_{i+1})``, so that the
     product from i down is P_i wherever P does not fall towards won (a stage whose P
     is below the next one's gets 100%, and the product from it is the next one's P).
     Without the column: the overall win rate won / (won + lost) for the last open
     stage and 100% for those above it, so a deal open anywhere is won at the win rate.
     A note says which (:func:`stage_rates`).
   * Each rate says what it rests on (:class:`StageRate`): a measured rate (and the
     win rate) its resolved deals and its 90% Wilson interval; a note warns for each
     resting on fewer than :data:`FEW_RESOLVED` deals.
   * ``average_deal_value`` = the report's average won value, rounded to the cent (half
     to even), so the plan is exact for the value it shows. It must be in the funnel's
     currency (``report.primary_money``; ``fx:`` rates convert others). Without it the
     funnel's own ``average_deal_value`` stands in, with a note, or :class:`UsageError`.

2. :func:`credit_pipeline`: what the open deals are expected to bring.

   * ``win_from[i] = rate[i] x rate[i+1] x ... x rate[last-1]`` (``win_from[won] = 1``),
     with ``rate[i]`` the resolved conversion, or the planned rate where the stage has
     none: the probability that a deal now open in stage i is won. This is the rule the
     report's weighted open value uses.
   * ``remaining_target = target - booked``, at least 0. ``booked`` is revenue already
     booked toward *this* target, given by the caller (0 by default); it is never the
     export's won value, which is the history the rates are measured on.
   * ``deals_needed = ceil(remaining_target / deal_value)``, as in plan.py.
   * ``expected_from_pipeline = sum_i current[i] x win_from[i]`` (expected wins).
   * The gap is counted in deals: ``gap_deals = max(0, ceil(deals_needed -
     expected_from_pipeline))``, so ``gap_deals + expected_from_pipeline >= deals_needed``.
   * ``expected_revenue_from_pipeline = sum_i open_value[i] x win_from[i]``.
   * ``coverage = open_value / remaining_target`` (pipeline coverage; unknown, not 0,
     when no open deal has an amount), shown next to
     ``coverage_needed = 1 / win_rate``, ``win_rate = won / (won + lost)`` from the
     report. Money figures are None when the export's amounts are not in the funnel's
     currency; coverage is None when nothing remains, coverage_needed when the win rate
     is unknown or 0.

3. :func:`plan_with_credit`: the plan for the gap only: ``make_plan`` for a target of
   ``gap_deals x deal_value``, so its ``deals_needed`` is ``gap_deals`` and its leads
   are ``needed_per_stage(gap_deals, rates)[0]``. None when the gap is 0: the pipeline
   is expected to cover the target and no new leads are needed.

:func:`plan_from_history` runs the three steps.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import TYPE_CHECKING

from funnelcli.definition import Funnel
from funnelcli.errors import InvalidValue, MissingValue, UsageError
from funnelcli.plan import (
    DEAL_VALUE_EXAMPLE,
    Plan,
    checked_deal_value,
    cumulative_rates,
    make_plan,
)
from funnelcli.report_figures import WIN_FROM_WIN_RATE, MoneyFigures, Report
from funnelcli.stats import wilson_interval
from funnelcli.values import format_money, format_rate

FEW_RESOLVED = 30
"""A measured rate resting on fewer resolved deals than this is warned about."""

INTERVAL_LEVEL = 0.9
"""The level of the interval shown with each measured rate."""

if TYPE_CHECKING:
    from funnelcli.pacing import PacingRequest


@dataclass(frozen=True)
class PipelineCredit:
    """Target, expected wins from the open pipeline, and the gap left for new leads."""

    currency: str
    target_revenue: Decimal
    booked: Decimal
    remaining_target: Decimal  # target - booked, at least 0
    deal_value: Decimal
    deals_needed: int  # ceil(remaining_target / deal_value)
    open_deals: int
    win_from: tuple[Fraction, ...]  # P(win) for a deal open in each stage; 1 at won
    expected_from_pipeline: Fraction  # sum_i current[i] x win_from[i]
    gap_deals: int  # max(0, ceil(deals_needed - expected_from_pipeline))
    open_value: Decimal | None
    expected_revenue_from_pipeline: Fraction | None  # sum_i open_value[i] x win_from[i]
    coverage: Fraction | None  # open_value / remaining_target
    win_rate: Fraction | None  # won / (won + lost)
    coverage_needed: Fraction | None  # 1 / win_rate

    @property
    def gap_revenue(self) -> Decimal:
        """The revenue the new leads must bring: ``gap_deals x deal_value``, exactly."""
        return _exact_product(self.deal_value, self.gap_deals)

    @property
    def covered(self) -> bool:
        """True when the open pipeline is expected to bring every deal needed."""
        return self.gap_deals == 0


@dataclass(frozen=True)
class HistoryPlan:
    funnel: Funnel  # the measured funnel
    notes: tuple[str, ...]  # what could not be measured, and what stands in
    credit: PipelineCredit
    plan: Plan | None  # for the gap only; None when the pipeline covers the target

    @property
    def new_leads_needed(self) -> int:
        return self.plan.leads_needed if self.plan is not None else 0


def measured_funnel(
    funnel: Funnel, report: Report, *, deal_value: Decimal | None = None
) -> tuple[Funnel, list[str]]:
    """The funnel with the report's resolved conversions and average won value.

    ``deal_value`` (from ``--deal-value``) is used as is when given: nothing is measured
    for it. Returns the funnel and notes on what could not be measured.
    """
    _check_stages(funnel, report)
    notes: list[str] = []
    stages = list(funnel.stages)
    for index, rate in enumerate(_stage_rates(funnel, report, notes)):
        stage = report.stages[index]
        if rate == 0 and report.win_probability_from == WIN_FROM_WIN_RATE:
            raise UsageError(
                f"cannot plan from the export: none of its {report.won + report.lost:,} "
                "closed deals was won, and it does not say where deals were lost; "
                "plan with the funnel file's rates instead"
            )
        if rate == 0 and report.losses_unattributed:
            raise UsageError(
                f"cannot plan from the export: {report.win_probability_from} gives "
                f"{stage.name} a probability of 0%; plan with the funnel file's rates instead"
            )
        if rate == 0:
            raise UsageError(
                f"cannot plan from the export: {stage.name} converts 0% to "
                f"{report.stages[index + 1].name} (0 of {stage.reached - stage.current} "
                "deals that left it moved on); plan with the funnel file's rates instead"
            )
        stages[index] = dataclasses.replace(stages[index], conversion=rate)
    value = deal_value if deal_value is not None else _measured_deal_value(funnel, report, notes)
    return dataclasses.replace(funnel, stages=tuple(stages), average_deal_value=value), notes


def credit_pipeline(
    funnel: Funnel,
    report: Report,
    target: Decimal,
    *,
    deal_value: Decimal | None = None,
    booked: Decimal = Decimal(0),
) -> PipelineCredit:
    """Expected wins from the open deals, and the deals still to find (see the module doc).

    ``deal_value`` defaults to the funnel's ``average_deal_value`` (the measured one for a
    :func:`measured_funnel`).
    """
    _check_stages(funnel, report)
    value = _deal_value(funnel, target, deal_value)
    if booked < 0:
        raise InvalidValue("booked", booked, "must be 0 or more")
    win_from = tuple(cumulative_rates(_stage_rates(funnel, report, [])))
    remaining = max(Decimal(0), target - booked)
    deals_needed = math.ceil(Fraction(remaining) / Fraction(value))
    expected = sum(
        (stage.current * win for stage, win in zip(report.stages, win_from, strict=True)),
        Fraction(0),
    )
    money = _money_in(funnel.currency, report)
    if report.open and report.open_without_amount == report.open:
        money = None  # no open deal has an amount: the pipeline's value is unknown, not 0
    open_value = money.open_value if money is not None else None
    expected_revenue = (
        sum(
            (
                Fraction(stage_value) * win
                for stage_value, win in zip(money.open_by_stage, win_from, strict=True)
            ),
            Fraction(0),
        )
        if money is not None
        else None
    )
    win_rate = report.win_rate
    return PipelineCredit(
        currency=funnel.currency,
        target_revenue=target,
        booked=booked,
        remaining_target=remaining,
        deal_value=value,
        deals_needed=deals_needed,
        open_deals=report.open,
        win_from=win_from,
        expected_from_pipeline=expected,
        gap_deals=max(0, math.ceil(deals_needed - expected)),
        open_value=open_value,
        expected_revenue_from_pipeline=expected_revenue,
        coverage=Fraction(open_value) / Fraction(remaining)
        if open_value is not None and remaining > 0
        else None,
        win_rate=win_rate,
        coverage_needed=1 / win_rate if win_rate else None,
    )


def plan_with_credit(
    funnel: Funnel,
    credit: PipelineCredit,
    *,
    confidence: Fraction | None = None,
    cost_per_lead: Decimal | None = None,
    pacing: PacingRequest | None = None,
) -> Plan | None:
    """The plan for the gap only; None when the pipeline is expected to cover the target.

    ``funnel`` must carry the rates the credit was computed with (the measured funnel).
    """
    rates = [stage.conversion for stage in funnel.stages[:-1] if stage.conversion is not None]
    if len(rates) != len(funnel.stages) - 1 or tuple(cumulative_rates(rates)) != credit.win_from:
        raise ValueError("plan_with_credit needs the funnel whose rates the credit used")
    if credit.covered:
        return None
    return make_plan(
        funnel,
        credit.gap_revenue,
        deal_value=credit.deal_value,
        confidence=confidence,
        cost_per_lead=cost_per_lead,
        pacing=pacing,
    )


def plan_from_history(
    funnel: Funnel,
    report: Report,
    target: Decimal,
    *,
    deal_value: Decimal | None = None,
    booked: Decimal = Decimal(0),
    confidence: Fraction | None = None,
    cost_per_lead: Decimal | None = None,
    pacing: PacingRequest | None = None,
) -> HistoryPlan:
    """Measure the funnel, credit the open pipeline, and plan the new leads for the gap."""
    measured, notes = measured_funnel(funnel, report, deal_value=deal_value)
    credit = credit_pipeline(measured, report, target, booked=booked)
    plan = plan_with_credit(
        measured, credit, confidence=confidence, cost_per_lead=cost_per_lead, pacing=pacing
    )
    return HistoryPlan(measured, tuple(notes), credit, plan)


# --- helpers ------------------------------------------------------------------------------


def _check_stages(funnel: Funnel, report: Report) -> None:
    names = [stage.name for stage in funnel.stages]
    if [stage.name for stage in report.stages] != names:
        raise ValueError(f"the report's stages are not the funnel's ({', '.join(names)})")


@dataclass(frozen=True)
class StageRate:
    """A stage's rate to the next, and what it rests on."""

    stage: str
    next_stage: str
    rate: Fraction
    source: str  # one of the RATE_* names below
    moved_on: int | None = None  # measured: resolved deals that moved on (won, for the win rate)
    resolved: int | None = None  # measured: the resolved deals it rests on
    interval: tuple[float, float] | None = None  # measured: INTERVAL_LEVEL Wilson interval

    @property
    def few(self) -> bool:
        return self.resolved is not None and self.resolved < FEW_RESOLVED


RATE_MEASURED = "measured"  # the stage's resolved conversion
RATE_PLANNED = "planned"  # no deal has left the stage: the funnel file's rate
RATE_PROBABILITY = "probability column"  # P_i / P_{i+1} from the export's column
RATE_WIN_RATE = "win rate"  # the overall win rate, at the last open stage
RATE_NOT_MEASURED = "not measured"  # 100% above the win rate's stage


def stage_rates(funnel: Funnel, report: Report) -> tuple[tuple[StageRate, ...], list[str]]:
    """Each stage's rate to the next with its source, and notes on what stands in.

    See the module doc; with losses unattributed the rates come from the report's
    ``win_probabilities`` (the probability column, else the overall win rate).
    """
    _check_stages(funnel, report)
    notes: list[str] = []
    if report.losses_unattributed:
        rates = _unattributed_rates(report, notes)
    else:
        rates = _measured_rates(funnel, report, notes)
    return tuple(rates), notes


def few_resolved_note(rate: StageRate) -> str:
    """The warning for a rate resting on fewer than FEW_RESOLVED resolved deals."""
    return (
        f"{rate.stage}: {format_rate(rate.rate)} to {rate.next_stage} rests on "
        f"{rate.resolved or 0:,} resolved deals only (fewer than {FEW_RESOLVED}); "
        f"{interval_text(rate)}"
    )


def interval_text(rate: StageRate) -> str:
    """``90% interval 25.1% to 60.0%``, or "" for a rate that was not measured."""
    if rate.interval is None:
        return ""
    low, high = rate.interval
    return (
        f"{INTERVAL_LEVEL:.0%} interval {format_rate(Fraction(low))} "
        f"to {format_rate(Fraction(high))}"
    )


def _measured(
    stage: str, next_stage: str, moved_on: int, resolved: int, source: str = RATE_MEASURED
) -> StageRate:
    return StageRate(
        stage,
        next_stage,
        Fraction(moved_on, resolved),
        source,
        moved_on,
        resolved,
        wilson_interval(moved_on, resolved, INTERVAL_LEVEL),
    )


def _unattributed_rates(report: Report, notes: list[str]) -> list[StageRate]:
    """Rates when the export does not say where deals were lost (see the module doc)."""
    names = [stage.name for stage in report.stages]
    last = len(names) - 1
    if report.win_probability_from == WIN_FROM_WIN_RATE:
        closed = report.won + report.lost
        rates = [
            StageRate(names[i], names[i + 1], Fraction(1), RATE_NOT_MEASURED)
            for i in range(last - 1)
        ]
        rates.append(_measured(names[last - 1], names[last], report.won, closed, RATE_WIN_RATE))
        notes.append(
            f"Rates from {WIN_FROM_WIN_RATE} ({report.won:,} won of {closed:,} closed): the "
            "export does not say where deals were lost, so no stage's rate can be measured; "
            f"{names[last - 1]} to {names[last]} is planned at the win rate and every stage "
            "above it at 100%"
        )
        return rates
    probabilities = [*report.win_probabilities[:last], Fraction(1)]
    rates = []
    for index in range(last):
        here, below = probabilities[index], probabilities[index + 1]
        assert here is not None and below is not None, "set for every stage when unattributed"
        rate = min(Fraction(1), here / below) if below else Fraction(here > 0)
        rates.append(StageRate(names[index], names[index + 1], rate, RATE_PROBABILITY))
    notes.append(
        f"Rates from {report.win_probability_from} (each stage's mean probability over the "
        "next one's): the export does not say where deals were lost, so no stage's rate "
        "can be measured"
    )
    return rates


def _measured_rates(funnel: Funnel, report: Report, notes: list[str]) -> list[StageRate]:
    """The resolved conversion of each stage but the last; the planned rate where none."""
    rates = []
    for index, stage in enumerate(report.stages[:-1]):
        next_name = report.stages[index + 1].name
        if stage.resolved_conversion is not None:
            resolved = stage.reached - stage.current
            rates.append(
                _measured(stage.name, next_name, report.stages[index + 1].reached, resolved)
            )
            continue
        planned = funnel.stages[index].conversion
        if planned is None:
            raise UsageError(
                f"cannot plan from the export: no deal has left {stage.name}, and "
                f"{funnel.file_label} has no conversion: for it; give it a rate like 0.35 or 35%"
            )
        notes.append(
            f"{stage.name}: no deal has left this stage in the export; "
            f"the planned {format_rate(planned)} to {next_name} stands in"
        )
        rates.append(StageRate(stage.name, next_name, planned, RATE_PLANNED))
    return rates


def _stage_rates(funnel: Funnel, report: Report, notes: list[str]) -> list[Fraction]:
    """The rate of each stage but the last (see :func:`stage_rates`)."""
    rates, found = stage_rates(funnel, report)
    notes += found
    return [rate.rate for rate in rates]


def _measured_deal_value(funnel: Funnel, report: Report, notes: list[str]) -> Decimal:
    money = _money_in(funnel.currency, report)
    if money is not None and money.average_won_value is not None:
        measured = _to_cents(money.average_won_value)
        if measured > 0:
            return measured
        # Won deals with no worth (amounts of 0) measure nothing to plan with: the same
        # as no amount, not a deal value the user gave and must raise.
        shown = format_money(measured, funnel.currency or money.currency)
        reason = f"the export's {report.won:,} won deals are worth {shown} on average"
    else:
        reason = _why_no_average(funnel, report)
    if funnel.average_deal_value is None:
        raise MissingValue(
            "deal_value",
            "cannot measure a deal value",
            detail=reason,
            example=DEAL_VALUE_EXAMPLE,
            file_key="average_deal_value",
            file_label=funnel.file_label,
        )
    shown = format_money(funnel.average_deal_value, funnel.currency)
    notes.append(f"{reason}; the funnel's average_deal_value {shown} stands in")
    return funnel.average_deal_value


def _why_no_average(funnel: Funnel, report: Report) -> str:
    if report.won == 0:
        return "the export has no won deals"
    codes = [money.currency for money in report.money]
    if len(codes) > 1:
        return (
            f"the export's amounts are in {', '.join(codes)}, which are not summed together "
            "(fx: rates in the funnel file convert them)"
        )
    if codes and codes[0] != funnel.currency:
        return (
            f"the export's amounts are in {codes[0]}, the funnel's in {funnel.currency} "
            f"(fx: {{{codes[0]}: rate}} in the funnel file converts them)"
        )
    return "no won deal in the export has an amount"


def _money_in(currency: str, report: Report) -> MoneyFigures | None:
    """The report's money figures when they are all in ``currency``; else None."""
    money = report.primary_money
    return money if money is not None and money.currency == currency else None


def _deal_value(funnel: Funnel, target: Decimal, deal_value: Decimal | None) -> Decimal:
    """The deal value to plan with, checked as make_plan checks it."""
    return checked_deal_value(funnel, target, deal_value)


def _to_cents(value: Fraction) -> Decimal:
    cents = round(value * 100)  # Fraction rounds half to even
    return Decimal(cents // 100) if cents % 100 == 0 else Decimal(cents).scaleb(-2)


def _exact_product(value: Decimal, count: int) -> Decimal:
    """``value x count`` with enough digits that nothing is rounded away."""
    with localcontext() as context:
        context.prec = len(value.as_tuple().digits) + len(str(count)) + 1
        return value * count
