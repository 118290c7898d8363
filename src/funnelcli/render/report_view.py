"""The format-neutral view of a report: the sentences and rows more than one format shows.

The terminal, Markdown, HTML and XLSX say a report's verdict, its key figures and its row
accounting in the same words; they are written here once. ``escape`` parameters take the
writer's quoting of names from a CRM or a funnel file (Markdown escapes them).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from funnelcli.report import NOISE_LEVEL
from funnelcli.report_figures import (
    WIN_FROM_MEASURED,
    WIN_FROM_WIN_RATE,
    Bottleneck,
    MoneyFigures,
    Report,
)
from funnelcli.results import FILTER_REASONS, SKIP_REASONS, ExportReport
from funnelcli.segments import MIN_SEGMENT_DEALS, SegmentFigures
from funnelcli.values import format_money, format_rate

STALE_SHOWN = 10


def percent(value: Fraction | None) -> str:
    return "–" if value is None else format_rate(value, 1)


def money_text(value: Decimal | Fraction | None, currency: str | None) -> str:
    if value is None or currency is None:
        return "–"
    return format_money(
        Fraction(value).limit_denominator(100) if isinstance(value, Fraction) else value, currency
    )


def _as_is(text: str) -> str:
    return text


Escape = Callable[[str], str]
"""How a writer quotes names from a CRM or a funnel file inside its own sentences."""


class StageRow(NamedTuple):
    """One stage of the report's stage table, each cell as every format writes it.

    ``cells`` go by the terminal's column names (:data:`STAGE_COLUMNS`); ``below_plan``
    says the stage resolves below its planned rate (the terminal shows it in red)."""

    cells: dict[str, str]
    below_plan: bool


STAGE_COLUMNS = (
    "Stage",
    "Reached",
    "Open",
    "Lost",
    "To next",
    "Resolved",
    "Plan",
    "Cum.",
    "Open value",
    "Days",
)


def stage_rows(report: Report, escape: Escape = _as_is) -> list[StageRow]:
    """The stage table: counts, rates, open value and median days for every stage."""
    money = report.primary_money
    rows = []
    for index, stage in enumerate(report.stages):
        below_plan = (
            stage.planned_conversion is not None
            and stage.resolved_conversion is not None
            and stage.resolved_conversion < stage.planned_conversion
        )
        cells = {
            "Stage": escape(stage.name),
            "Reached": f"{stage.reached:,}",
            "Open": f"{stage.current:,}",
            "Lost": f"{stage.lost:,}",
            "To next": percent(stage.conversion_to_next),
            "Resolved": percent(stage.resolved_conversion),
            "Plan": percent(stage.planned_conversion),
            "Cum.": percent(stage.cumulative_conversion),
            "Open value": money_text(money.open_by_stage[index], escape(money.currency))
            if money
            else "–",
            "Days": days_text(stage.median_days_in_stage),
        }
        rows.append(StageRow(cells, below_plan))
    return rows


def bottleneck_sentence(report: Report, escape: Escape = _as_is) -> str:
    """The report's one-sentence verdict on where the funnel loses most (README: Bottlenecks)."""
    if report.losses_unattributed:
        found = "None can be found."
        return f"{found} {escape(report.notes[0])}" if report.notes else found
    if not report.bottlenecks:
        if all(stage.resolved_conversion is None for stage in report.stages[:-1]):
            return "No deal has left a stage yet: nothing to compare with the plan."
        if report.within_noise:
            nearest = report.within_noise[0]
            return (
                "Every stage is within sampling noise of its plan; "
                f"{escape(nearest.stage)} is the furthest below: {_against_plan(nearest)}."
            )
        if report.bottleneck_by == "revenue":
            return "Every stage converts at or above its planned rate."
        return "No stage has lost deals yet."
    top = report.bottlenecks[0]
    if report.bottleneck_by != "revenue":
        return _leak_sentence(report, top, escape)
    text = f"{escape(top.stage)} to {escape(top.next_stage)} converts {_against_plan(top)}"
    if top.revenue_impact is not None and report.currency is not None:
        impact = money_text(_round_money(top.revenue_impact), escape(report.currency))
        return f"{text}: about {impact} lost. Fix this first."
    return f"{text}. Fix this first."


def _against_plan(row: Bottleneck) -> str:
    """``30% against 45% planned (90% interval 23.1%–38%)``."""
    assert row.planned is not None and row.interval is not None
    low, high = (percent(Fraction(end)) for end in row.interval)
    level = format_rate(Fraction(NOISE_LEVEL).limit_denominator(100), 1)
    return (
        f"{percent(row.actual)} against {percent(row.planned)} planned "
        f"({level} interval {low}–{high})"
    )


def _leak_sentence(report: Report, top: Bottleneck, escape: Escape) -> str:
    """Without a plan: where revenue (or, with no average won value, wins) leaks most."""
    stage, following = escape(top.stage), escape(top.next_stage)
    lost = f"{top.lost:,} deal{'' if top.lost == 1 else 's'} lost there"
    if top.win_from_next is None:
        return (
            f"Most deals are lost at {stage}: {lost}; how often deals that reached "
            f"{following} win is not known yet."
        )
    odds = (
        ""
        if top.next_stage == report.stages[-1].name
        else f"deals that reached {following} won {percent(top.win_from_next)} of the time"
    )
    money = report.primary_money
    if top.revenue_leak is not None and money is not None:
        average = money_text(money.average_won_value, escape(money.currency))
        worth = f"at {average} per won deal on average"
        leak = money_text(_round_money(top.revenue_leak), escape(money.currency))
        # The last open stage: a deal that moved on was won, so each was a win lost.
        reason = f"{odds} {worth}" if odds else f"each a won deal lost, {average} on average"
        return f"Most revenue leaks at {stage}: {lost}; {reason}: about {leak} lost."
    wins = top.expected_wins_lost
    assert wins is not None
    why = "the export mixes currencies" if len(report.money) > 1 else "no won deal has an amount"
    reason = f"; {odds}" if odds else ""
    return (
        f"Most wins are lost at {stage}: {lost}{reason}: about {_one_place(wins)} "
        f"{'win' if _one_place(wins) == '1' else 'wins'} lost (not priced: {why})."
    )


def _one_place(value: Fraction) -> str:
    """A count of expected wins, rounded (half to even) to one decimal place: ``4.8``."""
    tenths = round(value * 10)
    return f"{tenths // 10:,}.{tenths % 10}" if tenths % 10 else f"{tenths // 10:,}"


def _round_money(value: Fraction) -> Decimal:
    return Decimal(round(value))


def key_figures(report: Report, escape: Escape = _as_is) -> list[tuple[str, str]]:
    """(label, value) pairs for the key figures block."""
    rows = [
        ("Won", f"{report.won:,}"),
        (
            "Lost",
            f"{report.lost:,}"
            + (
                f" ({report.lost_unknown_stage:,} at an unknown stage)"
                if report.lost_unknown_stage
                else ""
            ),
        ),
        ("Open", f"{report.open:,}"),
        ("Win rate", percent(report.win_rate)),
    ]
    for figures in report.money:
        currency = escape(figures.currency)
        suffix = f" ({currency})" if len(report.money) > 1 else ""
        rows += _money_rows(figures, currency, suffix, escape(weighted_by(report)))
    note = open_without_amount_note(report)
    if note:
        rows.append(("", note))
    rows.append(("Cycle days (won)", _cycle(report)))
    if report.sales_velocity_per_day is not None and report.currency:
        rows.append(
            (
                "Sales velocity",
                f"{money_text(report.sales_velocity_per_day, escape(report.currency))} per day",
            )
        )
    return rows


def weighted_by(report: Report) -> str:
    """How the open deals were weighted, after the weighted value: nothing when measured."""
    method = report.win_probability_from
    if method == WIN_FROM_MEASURED:
        return ""
    if method == WIN_FROM_WIN_RATE:
        return f", by {method}, {percent(report.win_rate)}"
    return f", by {method}"


def _money_rows(
    figures: MoneyFigures, currency: str, suffix: str, weighted: str = ""
) -> list[tuple[str, str]]:
    median = (
        Decimal(str(figures.median_won_value)) if figures.median_won_value is not None else None
    )
    return [
        (f"Won value{suffix}", money_text(figures.won_value, currency)),
        (
            f"Average / median won{suffix}",
            f"{money_text(figures.average_won_value, currency)} / {money_text(median, currency)}",
        ),
        (
            f"Open value{suffix}",
            f"{money_text(figures.open_value, currency)} (weighted {money_text(figures.weighted_open_value, currency)}{weighted})",
        ),
    ]


def open_without_amount_note(report: Report) -> str | None:
    if not report.open_without_amount:
        return None
    count = report.open_without_amount
    deals = (
        "open deal has no amount and adds" if count == 1 else "open deals have no amount and add"
    )
    return f"{count:,} {deals} nothing to open value"


def _cycle(report: Report) -> str:
    if report.median_cycle_days is None:
        return "– (no won deal yet)" if not report.won else "– (needs created and close dates)"
    return f"median {_number(report.median_cycle_days)}, p90 {_number(report.p90_cycle_days)}"


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


SKIPPED_SHARE_SHOWN = Fraction(1, 10)
"""Above this share of the rows read skipped, the report says so at its top: the figures
then leave out enough of the export to mislead whoever reads only the table."""


def skipped_share(result: ExportReport) -> Fraction | None:
    """The share of the rows read that were skipped; None when no row was read."""
    account = result.account
    return Fraction(account.skipped_total, account.read) if account.read else None


def skipped_warning(result: ExportReport) -> str | None:
    """The sentence at the top of a report that leaves out over a tenth of its rows."""
    share = skipped_share(result)
    if share is None or share <= SKIPPED_SHARE_SHOWN:
        return None
    account = result.account
    return (
        f"{percent(share)} of the rows read ({account.skipped_total:,} of {account.read:,}) "
        "were skipped: the figures below leave them out. The reasons are at the end and on "
        "stderr."
    )


def rows_sentence(result: ExportReport) -> str:
    account = result.account
    text = (
        f"Rows: {account.read:,} read = {account.used:,} used + {account.skipped_total:,} skipped"
    )
    if account.filtered_total:
        text += f" + {account.filtered_total:,} filtered out"
    if account.skipped:
        reasons = ", ".join(
            f"{SKIP_REASONS.get(reason, reason)} {count:,}"
            for reason, count in account.skipped.most_common()
        )
        text += f" ({reasons})"
    if account.filtered:
        filters = ", ".join(
            f"{FILTER_REASONS.get(reason, reason)} {count:,}"
            for reason, count in account.filtered.most_common()
        )
        text += f" (filtered: {filters})"
    extras = []
    if result.table.stats.blank_rows:
        extras.append(f"{result.table.stats.blank_rows:,} blank")
    if result.table.stats.footer_rows:
        extras.append(f"{result.table.stats.footer_rows:,} footer")
    if result.table.title_rows:
        extras.append(f"{result.table.title_rows:,} title")
    if extras:
        text += f"; {', '.join(extras)} rows ignored"
    return text + "."


def days_text(value: float | None) -> str:
    return _number(value)


def segment_title(result: ExportReport, cohorts: bool, escape: Escape = _as_is) -> str:
    if cohorts:
        return f"Cohorts by created {result.request.cohort}"
    return f"By {escape(result.segment_header or '')}"


def segment_cells(row: SegmentFigures, stage_count: int) -> list[str]:
    """Resolved conversion per stage: * marks too few deals to judge, ! the worst segment."""
    cells = []
    for stage in row.stages[: stage_count - 1]:
        text = percent(stage.resolved_conversion)
        if stage.resolved_conversion is not None and not stage.judged:
            text += "*"
        if stage.worst:
            text += " !"
        cells.append(text)
    return cells


def folded_sentence(result: ExportReport) -> str | None:
    """What the (others) row holds, when --by found more segments than --max-segments."""
    folded = result.segments_folded
    if folded is None:
        return None
    segments = "segment" if folded.segments == 1 else "segments"
    return (
        f"{folded.segments:,} smaller {segments} ({folded.figures.deals:,} deals) folded into "
        f"{folded.figures.name}: the {result.request.max_segments:,} with the most deals are "
        "shown; --max-segments 0 shows every one."
    )


def slices_footnote(report: Report) -> str:
    """The key to the segment and cohort tables; the Bottleneck column's rule in brief."""
    rule = (
        "– no stage below plan beyond sampling noise"
        if report.has_plan
        else "where the most revenue leaks"
    )
    return (
        f"Resolved conversion per stage; * fewer than {MIN_SEGMENT_DEALS} deals left the stage "
        f"(not ranked); ! the lowest among the segments. Bottleneck: {rule}."
    )


STALE_COLUMNS = ("Deal", "Owner", "Stage", "Days", "Value")


def stale_rows(report: Report, escape: Escape = _as_is) -> list[list[str]]:
    """The oldest stale deals, at most :data:`STALE_SHOWN`: id, owner, stage, days, value."""
    return [
        [
            escape(deal.id),
            escape(deal.owner or ""),
            escape(deal.stage),
            f"{deal.days:,}",
            money_text(deal.value, deal.currency and escape(deal.currency)),
        ]
        for deal in report.stale[:STALE_SHOWN]
    ]


TIME_COLUMNS = (
    "Stage",
    "Median",
    "p75",
    "p90",
    "Still in",
    "Days before loss",
    "Skipped",
    "Moved back",
)


def time_in_stage_rows(report: Report) -> list[list[str]]:
    """Days in stage per stage (median, p75, p90), deals still in it, days before loss,
    and how many skipped or moved back: shown when the export or a history dates stages."""
    return [
        [
            stage.name,
            days_text(stage.median_days_in_stage),
            days_text(stage.p75_days_in_stage),
            days_text(stage.p90_days_in_stage),
            f"{stage.still_in_stage:,}",
            days_text(stage.median_days_before_loss),
            f"{stage.skipped:,}",
            f"{stage.moved_back:,}",
        ]
        for stage in report.stages[:-1]
    ]


COMPARE_COLUMNS = ("Stage", "Reached", "Change", "Resolved", "Change", "Days", "Change")


def compare_title(result: ExportReport) -> str:
    assert result.compare is not None
    then, now = result.compare.report.as_of, result.report.as_of
    return f"Then ({then.isoformat()}) and now ({now.isoformat()})"


def compare_rows(result: ExportReport) -> list[list[str]]:
    """Per stage: reached, resolved conversion and median days, then -> now, and the change."""
    assert result.compare is not None
    rows = []
    for stage, before in zip(result.report.stages, result.compare.report.stages, strict=True):
        resolved = stage.resolved_conversion
        resolved_then = before.resolved_conversion
        points = (
            f"{float(resolved - resolved_then) * 100:+.1f} pp"
            if resolved is not None and resolved_then is not None
            else "–"
        )
        days, days_then = stage.median_days_in_stage, before.median_days_in_stage
        days_change = (
            f"{days - days_then:+,.1f}" if days is not None and days_then is not None else "–"
        )
        rows.append(
            [
                stage.name,
                f"{before.reached:,} -> {stage.reached:,}",
                f"{stage.reached - before.reached:+,}",
                f"{percent(resolved_then)} -> {percent(resolved)}",
                points,
                f"{days_text(days_then)} -> {days_text(days)}",
                days_change,
            ]
        )
    win, win_then = result.report.win_rate, result.compare.report.win_rate
    win_points = (
        f"{float(win - win_then) * 100:+.1f} pp"
        if win is not None and win_then is not None
        else "–"
    )
    rows.append(["Win rate", "", "", f"{percent(win_then)} -> {percent(win)}", win_points, "", ""])
    return rows


def history_sentence(result: ExportReport, escape: Escape = _as_is) -> str | None:
    if result.history is None:
        return None
    history = result.history.account
    return (
        f"History: {escape(result.history.source)} ({result.history.dialect}): {history.read:,} rows read, "
        f"{history.used:,} used, {history.skipped_total:,} skipped; {history.deals:,} deals, "
        f"{history.unmatched_deals:,} not in the export ({history.unmatched_rows:,} rows); "
        + (
            f"{history.shared_name_rows:,} rows under a name deals of the export share, unused; "
            if history.shared_name_rows
            else ""
        )
        + f"{result.account.without_history:,} deals of the export without history."
    )


def shows_time_in_stage(report: Report) -> bool:
    return report.has_stage_dates


def provenance_sentence(result: ExportReport, export: str, escape: Escape = _as_is) -> str | None:
    """Where a funnel built from the export got its stages; None for a funnel file."""
    if result.funnel_evidence is None:
        return None
    return (
        f"No funnel file: stages and order from {escape(result.funnel_evidence)}. "
        f"`funnel init --from {escape(export)}` writes them to a file to edit."
    )
