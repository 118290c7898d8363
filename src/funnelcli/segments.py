"""Segments (``--by``) and cohorts (``--cohort``): one builder per value, each finished
into a report, their figures side by side, the smallest folded into "(others)".
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from funnelcli.deal_records import Deal, DealRow
from funnelcli.definition import Funnel
from funnelcli.report import ReportBuilder, new_builder
from funnelcli.report_figures import Report, StageFigures, finish

# --- segments and cohorts -------------------------------------------------------------------

MIN_SEGMENT_DEALS = 20
"""A segment's stage is judged (ranked) only when at least this many of its deals left it."""

IMMATURE_OPEN_SHARE = Fraction(1, 2)
"""A cohort whose deals are more than this share still open is immature."""


@dataclass
class SlicedBuilder:
    """The whole report, plus one builder per segment (--by) and per cohort (--cohort)."""

    overall: ReportBuilder
    segments: dict[str, ReportBuilder] = field(default_factory=dict)
    cohorts: dict[str, ReportBuilder] = field(default_factory=dict)

    def _child(self, children: dict[str, ReportBuilder], key: str) -> ReportBuilder:
        child = children.get(key)
        if child is None:
            child = children[key] = _counts_only_like(self.overall)
        return child

    def add(self, deal: Deal) -> None:
        self.overall.add(deal)
        if deal.segment is not None:
            self._child(self.segments, deal.segment).add(deal)
        if deal.cohort is not None:
            self._child(self.cohorts, deal.cohort).add(deal)

    def add_rows(self, rows: Sequence[DealRow]) -> None:
        """:meth:`add` for deals as rows: each segment's and cohort's rows in one call."""
        self.overall.add_rows(rows)
        for children, key_of in ((self.segments, _SEGMENT_OF), (self.cohorts, _COHORT_OF)):
            # Children are made in order of first appearance, as add() makes them.
            groups: dict[str, list[DealRow]] = {}
            for row in rows:
                key = key_of(row)
                if key is not None:
                    group = groups.get(key)
                    if group is None:
                        groups[key] = [row]
                    else:
                        group.append(row)
            for key, group in groups.items():
                self._child(children, key).add_rows(group)

    def merge(self, other: SlicedBuilder) -> None:
        self.overall.merge(other.overall)
        for mine, theirs in ((self.segments, other.segments), (self.cohorts, other.cohorts)):
            for key, builder in theirs.items():
                self._child(mine, key).merge(builder)


def _counts_only_like(template: ReportBuilder) -> ReportBuilder:
    return ReportBuilder(
        template.stage_names,
        template.as_of,
        template.stale_days,
        default_currency=template.default_currency,
        counts_only=True,
    )


_SEGMENT_OF: Callable[[DealRow], str | None] = operator.attrgetter("segment")
_COHORT_OF: Callable[[DealRow], str | None] = operator.attrgetter("cohort")


def new_sliced_builder(
    funnel: Funnel, as_of: dt.date, stale_days: int | None = None
) -> SlicedBuilder:
    return SlicedBuilder(new_builder(funnel, as_of, stale_days))


@dataclass(frozen=True)
class SegmentStage:
    name: str
    reached: int
    resolved_conversion: Fraction | None
    judged: bool  # enough deals left the stage to rank this segment there
    worst: bool  # the lowest judged resolved conversion among the segments


@dataclass(frozen=True)
class SegmentFigures:
    name: str
    deals: int
    won: int
    lost: int
    open: int
    win_rate: Fraction | None
    stages: tuple[SegmentStage, ...]
    bottleneck: str | None
    immature: bool  # cohorts: most deals still open


def finish_slices(
    builders: dict[str, ReportBuilder], funnel: Funnel, *, sort_by_name: bool
) -> tuple[SegmentFigures, ...]:
    """Per segment: reached and resolved conversion per stage, win rate, its bottleneck.

    A stage is judged for a segment when at least MIN_SEGMENT_DEALS of its deals left
    it; among judged segments the lowest resolved conversion is marked worst.
    """
    reports = {name: finish(builder, funnel) for name, builder in builders.items()}
    worst = _worst_per_stage(reports, len(funnel.stages))
    rows = [_slice_figures(name, report, worst) for name, report in reports.items()]
    if sort_by_name:
        rows.sort(key=lambda row: row.name)
    else:
        rows.sort(key=lambda row: (-row.deals, row.name))
    return tuple(rows)


def _slice_figures(name: str, report: Report, worst: dict[int, str]) -> SegmentFigures:
    deals = report.stages[0].reached
    return SegmentFigures(
        name=name,
        deals=deals,
        won=report.won,
        lost=report.lost,
        open=report.open,
        win_rate=report.win_rate,
        stages=tuple(
            SegmentStage(
                stage.name,
                stage.reached,
                stage.resolved_conversion,
                _judged(stage),
                worst.get(index) == name,
            )
            for index, stage in enumerate(report.stages)
        ),
        bottleneck=report.bottlenecks[0].stage if report.bottlenecks else None,
        immature=deals > 0 and Fraction(report.open, deals) > IMMATURE_OPEN_SHARE,
    )


@dataclass(frozen=True)
class FoldedSegments:
    """The segments beyond --max-segments, counted as one: the report's "others" row.

    Every figure a segment row shows is a count or a money total, which add up exactly,
    so the row's figures are those of the folded segments' deals taken together.
    """

    segments: int  # how many segments were folded
    figures: SegmentFigures  # their deals together; never ranked worst


def finish_segments(
    builders: dict[str, ReportBuilder], funnel: Funnel, max_segments: int
) -> tuple[tuple[SegmentFigures, ...], FoldedSegments | None]:
    """:func:`finish_slices` for --by, keeping the ``max_segments`` segments with the most
    deals (ties by name; 0 keeps all) and folding the rest into one :class:`FoldedSegments`.

    Only the kept segments and the fold are finished, so a column with a value per deal
    costs a sort of counts, not a report per value.
    """
    if max_segments <= 0 or len(builders) <= max_segments:
        return finish_slices(builders, funnel, sort_by_name=False), None
    ordered = sorted(builders, key=lambda name: (-sum(builders[name].reached_at), name))
    kept = {name: builders[name] for name in ordered[:max_segments]}
    others = _counts_only_like(builders[ordered[0]])
    for name in ordered[max_segments:]:
        others.merge(builders[name])
    folded = _slice_figures(OTHERS_SEGMENT, finish(others, funnel), worst={})
    rows = finish_slices(kept, funnel, sort_by_name=False)
    return rows, FoldedSegments(len(ordered) - max_segments, folded)


OTHERS_SEGMENT = "(others)"
"""The name of the row that holds the segments beyond --max-segments."""


def _judged(stage: StageFigures) -> bool:
    return (
        stage.resolved_conversion is not None and stage.reached - stage.current >= MIN_SEGMENT_DEALS
    )


def _worst_per_stage(reports: dict[str, Report], stage_count: int) -> dict[int, str]:
    worst: dict[int, str] = {}
    for index in range(stage_count - 1):
        judged = [
            (report.stages[index].resolved_conversion, name)
            for name, report in reports.items()
            if _judged(report.stages[index])
        ]
        rates = {rate for rate, _ in judged}
        if len(judged) >= 2 and len(rates) > 1:  # when all convert alike, none is worst
            worst[index] = min(judged, key=lambda item: (item[0] or 0, item[1]))[1]
    return worst


def cohort_of(created: dt.date | None, period: str) -> str:
    """``2017-03`` (month) or ``2017-Q1`` (quarter); deals without a created date share one."""
    if created is None:
        return "(no created date)"
    if period == "quarter":
        return f"{created.year}-Q{(created.month - 1) // 3 + 1}"
    return f"{created.year}-{created.month:02d}"
