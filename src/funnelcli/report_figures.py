"""A report's figures from a builder's counts: stage figures, money, win probabilities,
bottlenecks (``report.py``'s docstring defines every figure; this module computes them).

:func:`finish` turns a :class:`~funnelcli.report.ReportBuilder` into a :class:`Report`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import overload

from funnelcli.deal_records import Deal
from funnelcli.definition import Funnel
from funnelcli.report import NOISE_LEVEL, ReportBuilder, StaleDeal, new_builder
from funnelcli.stats import quantile, wilson_interval

# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageFigures:
    name: str
    reached: int
    current: int
    lost: int
    conversion_to_next: Fraction | None
    resolved_conversion: Fraction | None
    cumulative_conversion: Fraction | None
    planned_conversion: Fraction | None
    median_days_in_stage: float | None
    p90_days_in_stage: float | None
    p75_days_in_stage: float | None = None
    still_in_stage: int = 0  # open deals in the stage since a known day: not in the days
    median_days_before_loss: float | None = None  # the lost deals with f here
    skipped: int = 0  # deals dated before and past the stage that never entered it
    moved_back: int = 0  # deals that moved from the stage to an earlier one


@dataclass(frozen=True)
class MoneyFigures:
    """Money figures in one currency."""

    currency: str
    open_by_stage: tuple[Decimal, ...]
    open_value: Decimal
    weighted_open_value: Fraction | None
    won_value: Decimal
    lost_value: Decimal
    average_won_value: Fraction | None
    median_won_value: float | None


@dataclass(frozen=True)
class Bottleneck:
    """A stage to fix: below plan beyond noise (with a plan), or where revenue leaks (without)."""

    stage: str
    next_stage: str
    actual: Fraction  # resolved conversion
    planned: Fraction | None
    revenue_impact: Fraction | None  # with a plan: revenue lost against it
    lost: int
    interval: tuple[float, float] | None = None  # with a plan: NOISE_LEVEL Wilson of actual
    win_from_next: Fraction | None = None  # P(win | reached the next stage)
    revenue_leak: Fraction | None = None  # without a plan: lost x win_from_next x average won

    @property
    def gap(self) -> Fraction:
        """How far below plan the stage converts (0 without a plan)."""
        return self.planned - self.actual if self.planned is not None else Fraction(0)

    @property
    def expected_wins_lost(self) -> Fraction | None:
        """lost x P(win | reached the next stage): the wins its lost deals would have made."""
        return None if self.win_from_next is None else self.lost * self.win_from_next


@dataclass(frozen=True)
class Report:
    funnel: str
    as_of: dt.date
    currency: str | None
    stages: tuple[StageFigures, ...]
    won: int
    lost: int
    lost_unknown_stage: int
    open: int
    win_rate: Fraction | None
    money: tuple[MoneyFigures, ...]
    median_cycle_days: float | None
    p90_cycle_days: float | None
    sales_velocity_per_day: Fraction | None
    bottlenecks: tuple[Bottleneck, ...]
    # "revenue" (planned rates: revenue lost against plan), "revenue leak" (no plan), or
    # "expected wins lost" (no plan and no single average won value).
    bottleneck_by: str
    stale: tuple[StaleDeal, ...]  # the oldest STALE_KEPT, oldest first
    stale_count: int  # all stale deals
    negative_durations: int
    negative_first_row: int | None
    won_without_amount: int
    open_without_amount: int
    has_stage_dates: bool
    # Stages below plan whose gap is within sampling noise, furthest below first.
    within_noise: tuple[Bottleneck, ...] = ()
    # P(win) for a deal open in each stage (1 at won; None where unknown), and what gave
    # it: WIN_FROM_MEASURED, the probability column (win_from_column()) or WIN_FROM_WIN_RATE.
    win_probabilities: tuple[Fraction | None, ...] = ()
    win_probability_from: str = "measured"
    notes: tuple[str, ...] = ()  # what the figures cannot say, and how to fix it

    @property
    def has_plan(self) -> bool:
        """True when some stage has a planned rate (a report-only funnel has none)."""
        return any(stage.planned_conversion is not None for stage in self.stages[:-1])

    @property
    def losses_unattributed(self) -> bool:
        """Some lost deals are at an unknown stage: per-stage rates cannot be measured."""
        return self.lost_unknown_stage > 0

    @property
    def primary_money(self) -> MoneyFigures | None:
        """The money figures when the export has one currency; None when it mixes several."""
        return self.money[0] if len(self.money) == 1 else None


def finish(
    builder: ReportBuilder,
    funnel: Funnel,
    stage_probabilities: StageProbabilities | None = None,
) -> Report:
    """Turn accumulated counts into the report's figures.

    ``stage_probabilities``: the export's probability column per stage, read at the edge
    only when losses are unattributed (see the module doc); ignored otherwise.
    """
    n = builder.stage_count
    reached = _reached(builder.reached_at)
    unattributed = builder.lost_unknown_stage > 0
    resolved: list[Fraction | None] = [None] * n
    if not unattributed:
        resolved[: n - 1] = [
            _ratio(reached[i + 1], reached[i] - builder.current[i]) for i in range(n - 1)
        ]
    stages = tuple(_stage_figures(builder, funnel, reached, resolved[i], i) for i in range(n))
    lost_total = sum(builder.lost)
    win_rate = _ratio(builder.won, builder.won + lost_total)
    notes: tuple[str, ...] = ()
    if unattributed:
        win_from, method = _unattributed_win_probabilities(
            n, win_rate, stage_probabilities, builder.current, builder.stage_names
        )
        notes = (unattributed_note(builder.lost_unknown_stage, method),)
    else:
        win_from, method = _win_probabilities(resolved, funnel), WIN_FROM_MEASURED
    money = _money_figures(builder, win_from, funnel)
    cycle = _Ascending(builder.cycle_days)
    median_cycle = _median(cycle)
    open_count = sum(builder.current)
    single = money[0] if len(money) == 1 else None
    velocity = None
    if single and win_rate is not None and single.average_won_value is not None and median_cycle:
        velocity = open_count * win_rate * single.average_won_value / Fraction(median_cycle)
    bottlenecks, within_noise, ranked_by = _bottlenecks(stages, win_from, single)
    stale = sorted(
        (entry[3] for entry in builder.stale), key=lambda deal: (-deal.days, deal.id, deal.row)
    )
    return Report(
        funnel=funnel.name,
        as_of=builder.as_of,
        currency=single.currency if single else (funnel.currency if not money else None),
        stages=stages,
        won=builder.won,
        lost=lost_total,
        lost_unknown_stage=builder.lost_unknown_stage,
        open=open_count,
        win_rate=win_rate,
        money=tuple(money),
        median_cycle_days=median_cycle,
        p90_cycle_days=_quantile(cycle, 0.9, presorted=True),
        sales_velocity_per_day=velocity,
        bottlenecks=bottlenecks,
        bottleneck_by=ranked_by,
        within_noise=within_noise,
        stale=tuple(stale),
        stale_count=builder.stale_count,
        negative_durations=builder.negative_durations,
        negative_first_row=builder.negative_first_row,
        won_without_amount=builder.won_without_amount,
        open_without_amount=builder.open_without_amount,
        has_stage_dates=builder.has_stage_dates,
        win_probabilities=tuple(win_from),
        win_probability_from=method,
        notes=notes,
    )


WIN_FROM_MEASURED = "measured"
WIN_FROM_WIN_RATE = "the overall win rate"


def win_from_column(header: str) -> str:
    """The method's name when the export's probability column gave the probabilities."""
    return f"the export's '{header}' column"


@dataclass(frozen=True)
class StageProbabilities:
    """The export's probability column per stage: the mean over the open deals the report
    counts in each stage (None where none has one), and the column's header."""

    header: str
    means: tuple[Fraction | None, ...]


def unattributed_note(count: int, method: str) -> str:
    """Why no stage's conversion is measured, what weighs the open deals, and the fix."""
    deals = "lost deal has" if count == 1 else "lost deals have"
    return (
        f"{count:,} {deals} no stage: the export does not say where deals were lost, so "
        f"no stage's conversion can be measured (shown as –); open deals are weighted by "
        f"{method}. Add --history with the stage history, stage-date columns, or a "
        "status column (won/lost/open) that keeps the stage a deal was lost at."
    )


def _unattributed_win_probabilities(
    n: int,
    win_rate: Fraction | None,
    stage_probabilities: StageProbabilities | None,
    current: Sequence[int],
    names: Sequence[str],
) -> tuple[list[Fraction | None], str]:
    """P(win) per stage when losses are unattributed (see the module doc) and its method.

    A stage the column leaves without a probability takes the overall win rate; the
    method then names both, with the stages that took it.
    """
    probabilities: list[Fraction | None] = [win_rate] * (n - 1) + [Fraction(1)]
    if stage_probabilities is None:
        return probabilities, WIN_FROM_WIN_RATE
    standing_in = []
    for index, mean in enumerate(stage_probabilities.means[: n - 1]):
        if mean is not None:
            probabilities[index] = mean
        elif current[index]:
            standing_in.append(names[index])
    method = win_from_column(stage_probabilities.header)
    if standing_in:
        method += f", {WIN_FROM_WIN_RATE} for {', '.join(standing_in)}"
    return probabilities, method


def _stage_figures(
    builder: ReportBuilder,
    funnel: Funnel,
    reached: list[int],
    resolved: Fraction | None,
    index: int,
) -> StageFigures:
    stage = funnel.stages[index]
    days = _Ascending(builder.days_in_stage[index])
    return StageFigures(
        name=stage.name,
        reached=reached[index],
        current=builder.current[index],
        lost=builder.lost[index],
        conversion_to_next=_ratio(reached[index + 1], reached[index])
        if index < len(reached) - 1
        else None,
        resolved_conversion=resolved,
        cumulative_conversion=_ratio(reached[index], reached[0]),
        planned_conversion=stage.conversion,
        median_days_in_stage=quantile(days, 0.5),
        p90_days_in_stage=quantile(days, 0.9),
        p75_days_in_stage=quantile(days, 0.75),
        still_in_stage=builder.still_in_stage[index],
        median_days_before_loss=_median(builder.days_before_loss[index]),
        skipped=builder.skipped[index],
        moved_back=builder.moved_back[index],
    )


def _reached(reached_at: list[int]) -> list[int]:
    """reached[i] = deals whose furthest stage is i or beyond (a running sum from the bottom)."""
    reached = [0] * len(reached_at)
    running = 0
    for index in range(len(reached_at) - 1, -1, -1):
        running += reached_at[index]
        reached[index] = running
    return reached


def _ratio(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator > 0 else None


def _median(values: Sequence[int]) -> float | None:
    return _quantile(values, 0.5)


def _quantile(values: Sequence[int], fraction: float, *, presorted: bool = False) -> float | None:
    return quantile(values if presorted else _Ascending(values), fraction)


class _Ascending(Sequence[int]):
    """Whole numbers in ascending order, kept as a count per value: what quantile() reads
    of a sorted list, without sorting. Day counts repeat (a million deals spread over a
    few hundred values), and counting them costs a third of sorting them."""

    __slots__ = ("_ends", "_values")

    def __init__(self, values: Iterable[int]) -> None:
        counts = Counter(values)
        self._values = sorted(counts)
        # _ends[k]: how many values are <= _values[k], i.e. the rank just past them.
        self._ends = list(itertools.accumulate(counts[value] for value in self._values))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...

    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(len(self)))]
        size = len(self)
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise IndexError(index)
        return self._values[bisect.bisect_right(self._ends, position)]


def _win_probabilities(resolved: list[Fraction | None], funnel: Funnel) -> list[Fraction | None]:
    """P(win from stage i): the product of resolved conversions from i down.

    Where a stage has no resolved deals yet its planned rate stands in; without either
    the probability is unknown (None) for that stage and those above it.
    """
    n = len(funnel.stages)
    probabilities: list[Fraction | None] = [None] * n
    probabilities[n - 1] = Fraction(1)
    for index in range(n - 2, -1, -1):
        rate = resolved[index] if resolved[index] is not None else funnel.stages[index].conversion
        below = probabilities[index + 1]
        probabilities[index] = rate * below if rate is not None and below is not None else None
    return probabilities


def _money_figures(
    builder: ReportBuilder, win_from: list[Fraction | None], funnel: Funnel
) -> list[MoneyFigures]:
    figures = []
    # Most won deals first; the code breaks ties so the order never depends on row order.
    ordered = sorted(builder.money.items(), key=lambda item: (-item[1].won_count, item[0]))
    for currency, money in ordered:
        won_total = money.won_total
        weighted: Fraction | None = Fraction(0)
        for index, value in enumerate(money.open_by_stage):
            if not value:
                continue
            probability = win_from[index]
            if probability is None or weighted is None:
                weighted = None
            else:
                weighted += Fraction(value) * probability
        figures.append(
            MoneyFigures(
                currency=currency,
                open_by_stage=tuple(money.open_by_stage),
                open_value=sum(money.open_by_stage, Decimal(0)),
                weighted_open_value=weighted,
                won_value=won_total,
                lost_value=money.lost_value,
                average_won_value=Fraction(won_total) / money.won_count
                if money.won_count
                else None,
                median_won_value=quantile(sorted(money.won_values), 0.5),
            )
        )
    return figures


def _bottlenecks(
    stages: Sequence[StageFigures], win_from: list[Fraction | None], money: MoneyFigures | None
) -> tuple[tuple[Bottleneck, ...], tuple[Bottleneck, ...], str]:
    """The stages to fix first: (bottlenecks, stages below plan within noise, ranked by).

    With planned rates, a stage is a bottleneck only when its planned rate lies above the
    high end of the NOISE_LEVEL Wilson interval of its resolved conversion (successes:
    reached[i+1]; trials: reached[i] - current[i]): a gap inside the interval is what
    sampling alone gives often enough, and naming it would send a team after noise.
    Bottlenecks rank by revenue_impact = (reached - current) x (planned - actual) x
    P(win from the next stage) x average won value; the stages below plan but within
    noise come second, furthest below first.

    Without planned rates, a stage with lost deals ranks by its revenue leak, lost x
    P(win | reached the next stage) x average won value: what its lost deals would have
    been worth had they gone on like those that did. Without one average won value (no
    won amount, or several currencies), by lost x P(win | reached the next stage), the
    wins lost.
    """
    body = list(enumerate(stages[:-1]))
    if any(stage.planned_conversion is not None for _, stage in body):
        return (*_below_plan(stages, win_from, money), "revenue")
    average = money.average_won_value if money else None
    rows = []
    for index, stage in body:
        actual = stage.resolved_conversion
        if actual is None or stage.lost == 0:
            continue
        win_next = win_from[index + 1]
        leak = None
        if win_next is not None and average is not None:
            leak = stage.lost * win_next * average
        rows.append(
            Bottleneck(
                stage.name,
                stages[index + 1].name,
                actual,
                None,
                None,
                stage.lost,
                win_from_next=win_next,
                revenue_leak=leak,
            )
        )
    if average is None:
        rows.sort(key=lambda row: _unknown_last(row.expected_wins_lost, row.lost))
        return tuple(rows), (), "expected wins lost"
    rows.sort(key=lambda row: _unknown_last(row.revenue_leak, row.lost))
    return tuple(rows), (), "revenue leak"


def _unknown_last(value: Fraction | None, lost: int) -> tuple[bool, Fraction, int]:
    """Largest first; a stage whose value is unknown (no P(win) yet) after, by lost deals."""
    return value is None, -(value or Fraction(0)), -lost


def _below_plan(
    stages: Sequence[StageFigures], win_from: list[Fraction | None], money: MoneyFigures | None
) -> tuple[tuple[Bottleneck, ...], tuple[Bottleneck, ...]]:
    beyond: list[Bottleneck] = []
    within: list[Bottleneck] = []
    for index, stage in enumerate(stages[:-1]):
        actual, planned = stage.resolved_conversion, stage.planned_conversion
        if actual is None or planned is None or planned <= actual:
            continue
        resolved = stage.reached - stage.current
        interval = wilson_interval(stages[index + 1].reached, resolved, NOISE_LEVEL)
        win_next = win_from[index + 1]
        average = money.average_won_value if money else None
        impact = None
        if win_next is not None and average is not None:
            impact = resolved * (planned - actual) * win_next * average
        row = Bottleneck(
            stage.name,
            stages[index + 1].name,
            actual,
            planned,
            impact,
            stage.lost,
            interval=interval,
            win_from_next=win_next,
        )
        (beyond if planned > interval[1] else within).append(row)
    beyond.sort(key=lambda row: (-(row.revenue_impact or 0), -row.gap))
    within.sort(key=lambda row: -row.gap)
    return tuple(beyond), tuple(within)


def build_report(
    deals: Iterable[Deal], funnel: Funnel, as_of: dt.date, stale_days: int | None = None
) -> Report:
    """A report over deals in one go (the streaming form is ReportBuilder + finish)."""
    builder = new_builder(funnel, as_of, stale_days)
    for deal in deals:
        builder.add(deal)
    return finish(builder, funnel)
