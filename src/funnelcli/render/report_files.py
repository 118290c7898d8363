"""A report as JSON (the contract), CSV and Markdown, and the sentences every renderer shares.

JSON keys are a contract (README, "JSON output"); ``tests/test_report_files.py`` pins them.
Money in the report is a JSON number rounded to cents; rates are decimals; a figure that
cannot be computed is null. When an export mixes currencies without ``fx:`` rates, the
top-level money figures are null and ``by_currency`` holds them per currency.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from funnelcli.alerts import alerts_to_json
from funnelcli.render.neutralise import markdown_text, neutralise_cells
from funnelcli.render.numbers import rate
from funnelcli.report import (
    MIN_SEGMENT_DEALS,
    NOISE_LEVEL,
    WIN_FROM_MEASURED,
    WIN_FROM_WIN_RATE,
    Bottleneck,
    MoneyFigures,
    Report,
    SegmentFigures,
)
from funnelcli.results import FILTER_REASONS, SKIP_REASONS, ExportReport
from funnelcli.values import format_money, format_rate

SCHEMA_VERSION = 1
STALE_SHOWN = 10


def _money(value: Decimal | Fraction | None) -> float | None:
    return None if value is None else round(float(value), 2)


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def report_to_dict(result: ExportReport, funnel_source: str, export: str) -> dict[str, Any]:
    report = result.report
    account = result.account
    money = report.primary_money
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "report",
        "funnel": report.funnel,
        "funnel_source": funnel_source,
        "funnel_evidence": result.funnel_evidence,
        "export": export,
        "as_of": report.as_of.isoformat(),
        "currency": report.currency,
        "rows": {
            "read": account.read,
            "used": account.used,
            "skipped": account.skipped_total,
            "skipped_by_reason": dict(sorted(account.skipped.items())),
            "skipped_share": rate(skipped_share(result)),
            "filtered": account.filtered_total,
            "filtered_by_reason": dict(sorted(account.filtered.items())),
            "blank": result.table.stats.blank_rows,
            "footer": result.table.stats.footer_rows,
        },
        "filters": _filters(result),
        "pipelines": dict(account.pipelines.most_common()),
        "stages": [
            {
                "name": stage.name,
                "reached": stage.reached,
                "current": stage.current,
                "lost": stage.lost,
                "conversion_to_next": rate(stage.conversion_to_next),
                "resolved_conversion": rate(stage.resolved_conversion),
                "cumulative_conversion": rate(stage.cumulative_conversion),
                "planned_conversion": rate(stage.planned_conversion),
                "open_value": _money(money.open_by_stage[index]) if money else None,
                "median_days_in_stage": _days(stage.median_days_in_stage),
                "p75_days_in_stage": _days(stage.p75_days_in_stage),
                "p90_days_in_stage": _days(stage.p90_days_in_stage),
                "still_in_stage": stage.still_in_stage,
                "median_days_before_loss": _days(stage.median_days_before_loss),
                "skipped": stage.skipped,
                "moved_back": stage.moved_back,
                "win_probability": rate(report.win_probabilities[index]),
            }
            for index, stage in enumerate(report.stages)
        ],
        "won": {"count": report.won, "value": _money(money.won_value) if money else None},
        "lost": {
            "count": report.lost,
            "value": _money(money.lost_value) if money else None,
            "unknown_stage": report.lost_unknown_stage,
        },
        "open": {
            "count": report.open,
            "value": _money(money.open_value) if money else None,
            "weighted_value": _money(money.weighted_open_value) if money else None,
            "weighted_from": report.win_probability_from,
            "without_amount": report.open_without_amount,
        },
        "win_rate": rate(report.win_rate),
        "average_won_value": _money(money.average_won_value) if money else None,
        "median_won_value": _money(Decimal(str(money.median_won_value)))
        if money and money.median_won_value is not None
        else None,
        "median_cycle_days": _days(report.median_cycle_days),
        "p90_cycle_days": _days(report.p90_cycle_days),
        "sales_velocity_per_day": _money(report.sales_velocity_per_day),
        "bottleneck_by": report.bottleneck_by,
        "bottlenecks": [_bottleneck(row) for row in report.bottlenecks],
        "below_plan_within_noise": [_bottleneck(row) for row in report.within_noise],
        "negative_durations": report.negative_durations,
        "stale_count": report.stale_count,
        "stale": [
            {
                "id": deal.id,
                "owner": deal.owner,
                "stage": deal.stage,
                "days": deal.days,
                "value": _money(deal.value),
                "currency": deal.currency,
            }
            for deal in report.stale
        ],
        "by_currency": None if money or not report.money else _by_currency(report),
        "segments": None
        if result.segments is None
        else {
            "by": result.segment_header,
            "min_deals": MIN_SEGMENT_DEALS,
            "rows": [_segment(row, "segment") for row in result.segments],
            "max_segments": result.request.max_segments,
            **_folded(result),
        },
        "cohorts": None
        if result.cohorts is None
        else {
            "period": result.request.cohort,
            "rows": [_segment(row, "cohort") for row in result.cohorts],
        },
        "alerts": alerts_to_json(result.alerts) if result.alerts else [],
        "history": _history(result),
        "compare": _compare(result),
        "notes": list(report.notes),
    }


def _folded(result: ExportReport) -> dict[str, Any]:
    """The segments beyond --max-segments: how many, their deals, and their row together."""
    folded = result.segments_folded
    if folded is None:
        return {"folded": None, "others": None}
    return {
        "folded": {"segments": folded.segments, "deals": folded.figures.deals},
        "others": _segment(folded.figures, "segment"),
    }


def _history(result: ExportReport) -> dict[str, Any] | None:
    if result.history is None:
        return None
    history = result.history.account
    return {
        "file": result.history.source,
        "dialect": result.history.dialect,
        "rows": {
            "read": history.read,
            "used": history.used,
            "skipped": history.skipped_total,
            "skipped_by_reason": dict(sorted(history.skipped.items())),
            "unchanged": history.unchanged,
        },
        "deals": history.deals,
        "unmatched_rows": history.unmatched_rows,
        "unmatched_deals": history.unmatched_deals,
        "shared_name_rows": history.shared_name_rows,
        "deals_without_history": result.account.without_history,
        "ambiguous_names": history.ambiguous_lookups,
    }


def _change(now: float | None, then: float | None) -> float | None:
    return None if now is None or then is None else round(now - then, 6)


def _compare(result: ExportReport) -> dict[str, Any] | None:
    """The report as of --compare-to beside this one: each figure then, now and the change."""
    earlier = result.compare
    if earlier is None:
        return None
    now, then = result.report, earlier.report
    stages = []
    for stage, before in zip(now.stages, then.stages, strict=True):
        resolved, resolved_then = (
            rate(stage.resolved_conversion),
            rate(before.resolved_conversion),
        )
        stages.append(
            {
                "name": stage.name,
                "reached": stage.reached,
                "reached_then": before.reached,
                "reached_change": stage.reached - before.reached,
                "resolved_conversion": resolved,
                "resolved_conversion_then": resolved_then,
                "resolved_conversion_change": _change(resolved, resolved_then),
                "median_days_in_stage": _days(stage.median_days_in_stage),
                "median_days_in_stage_then": _days(before.median_days_in_stage),
                "median_days_in_stage_change": _change(
                    stage.median_days_in_stage, before.median_days_in_stage
                ),
            }
        )
    win, win_then = rate(now.win_rate), rate(then.win_rate)
    return {
        "as_of": then.as_of.isoformat(),
        "stages": stages,
        "win_rate": {"now": win, "then": win_then, "change": _change(win, win_then)},
    }


def _filters(result: ExportReport) -> dict[str, Any]:
    request = result.request
    return {
        "since": request.since.isoformat() if request.since else None,
        "until": request.until.isoformat() if request.until else None,
        "where": [{"column": column, "value": value} for column, value in request.where],
        "pipeline": request.pipeline,
    }


def _segment(row: SegmentFigures, key: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        key: row.name,
        "deals": row.deals,
        "won": row.won,
        "lost": row.lost,
        "open": row.open,
        "win_rate": rate(row.win_rate),
        "bottleneck": row.bottleneck,
        "stages": [
            {
                "name": stage.name,
                "reached": stage.reached,
                "resolved_conversion": rate(stage.resolved_conversion),
                "judged": stage.judged,
                "worst": stage.worst,
            }
            for stage in row.stages
        ],
    }
    if key == "cohort":
        data["immature"] = row.immature
    return data


def _by_currency(report: Report) -> dict[str, Any]:
    return {
        figures.currency: {
            "open_value": _money(figures.open_value),
            "weighted_open_value": _money(figures.weighted_open_value),
            "won_value": _money(figures.won_value),
            "lost_value": _money(figures.lost_value),
            "average_won_value": _money(figures.average_won_value),
            "open_value_by_stage": [_money(value) for value in figures.open_by_stage],
        }
        for figures in report.money
    }


def _bottleneck(row: Bottleneck) -> dict[str, Any]:
    wins = row.expected_wins_lost
    return {
        "stage": row.stage,
        "next_stage": row.next_stage,
        "actual": float(row.actual),
        "planned": rate(row.planned),
        "interval": list(row.interval) if row.interval is not None else None,
        "revenue_impact": _money(row.revenue_impact),
        "lost": row.lost,
        "win_from_next": rate(row.win_from_next),
        "expected_wins_lost": None if wins is None else float(wins),
        "revenue_leak": _money(row.revenue_leak),
    }


def report_json(result: ExportReport, funnel_source: str, export: str) -> str:
    """Indented JSON, with each stale deal on one line.

    A pipeline can hold thousands of stale deals: one line each reads well and is written
    by the C encoder (indented JSON is written in pure Python, several times slower).
    """
    data = report_to_dict(result, funnel_source, export)
    stale = data["stale"]
    data["stale"] = []
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if not stale:
        return text + "\n"
    lines = ",\n".join("    " + json.dumps(deal, ensure_ascii=False) for deal in stale)
    return text.replace('"stale": []', '"stale": [\n' + lines + "\n  ]", 1) + "\n"


CSV_COLUMNS = (
    "stage",
    "reached",
    "current",
    "lost",
    "conversion_to_next",
    "resolved_conversion",
    "cumulative_conversion",
    "planned_conversion",
    "open_value",
    "median_days_in_stage",
    "p75_days_in_stage",
    "p90_days_in_stage",
    "still_in_stage",
    "median_days_before_loss",
    "skipped",
    "moved_back",
)


SEGMENT_CSV_COLUMNS = ("segment", "stage", "reached", "resolved_conversion", "judged", "worst")


def report_csv(result: ExportReport, funnel_source: str, export: str) -> str:
    """One row per stage, the columns of :data:`CSV_COLUMNS`; empty where a figure is null.

    With --by or --cohort, one row per segment (or cohort) and stage instead, with the
    columns of :data:`SEGMENT_CSV_COLUMNS`; the whole export is the segment ``(all)``.
    """
    data = report_to_dict(result, funnel_source, export)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    groups = [(data[kind], key) for kind, key in (("segments", "segment"), ("cohorts", "cohort"))]
    groups = [(slices, key) for slices, key in groups if slices is not None]
    if groups:
        # Segment rows, then cohort rows (a cohort's name, like 2017-Q1, in the first column).
        writer.writerow(SEGMENT_CSV_COLUMNS)
        for stage in data["stages"]:
            writer.writerow(
                neutralise_cells(
                    [
                        "(all)",
                        stage["name"],
                        stage["reached"],
                        _blank(stage["resolved_conversion"]),
                        "",
                        "",
                    ]
                )
            )
        for slices, key in groups:
            others = [slices["others"]] if slices.get("others") else []
            for row in slices["rows"] + others:
                for stage in row["stages"]:
                    writer.writerow(
                        neutralise_cells(
                            [
                                row[key],
                                stage["name"],
                                stage["reached"],
                                _blank(stage["resolved_conversion"]),
                                stage["judged"],
                                stage["worst"],
                            ]
                        )
                    )
        return buffer.getvalue()
    writer.writerow(CSV_COLUMNS)
    for stage in data["stages"]:
        values = [stage["name"] if key == "stage" else stage[key] for key in CSV_COLUMNS]
        writer.writerow(neutralise_cells("" if value is None else value for value in values))
    return buffer.getvalue()


# --- sentences shared by the terminal and Markdown ----------------------------------------


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


def _blank(value: object) -> object:
    return "" if value is None else value


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


def _segments_markdown(result: ExportReport) -> list[str]:
    lines: list[str] = []
    stage_names = [stage.name for stage in result.report.stages[:-1]]
    for rows, cohorts in ((result.segments, False), (result.cohorts, True)):
        if rows is None:
            continue
        first = "Cohort" if cohorts else "Segment"
        lines += ["", f"**{segment_title(result, cohorts, markdown_text)}**", ""]
        lines.append(
            f"| {first} | Deals | Win rate | "
            + " | ".join(_md(name) for name in stage_names)
            + " | Bottleneck |"
        )
        lines.append("|---|---:|---:|" + "---:|" * len(stage_names) + "---|")
        folded = None if cohorts else result.segments_folded
        for row in (*rows, folded.figures) if folded else rows:
            name = _md(row.name) + (" (immature)" if cohorts and row.immature else "")
            cells = segment_cells(row, len(result.report.stages))
            lines.append(
                f"| {name} | {row.deals:,} | {percent(row.win_rate)} | "
                + " | ".join(cells)
                + f" | {_md(row.bottleneck or '–')} |"
            )
        lines += ["", slices_footnote(result.report)]
        sentence = None if cohorts else folded_sentence(result)
        if sentence:
            lines += ["", sentence]
    return lines


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


def report_markdown(result: ExportReport, funnel_source: str, export: str) -> str:
    report = result.report
    money = report.primary_money
    lines = [
        f"## Funnel report: {_md(report.funnel)}",
        "",
        f"{_md(export)}, as of {report.as_of.isoformat()}.",
        "",
    ]
    provenance = provenance_sentence(result, export, _md)
    if provenance:
        lines += [provenance, ""]
    warning = skipped_warning(result)
    if warning:
        lines += [f"**Warning:** {warning}", ""]
    planned = report.has_plan  # no Planned column for a funnel without planned rates
    lines += [
        "| Stage | Reached | Open | Lost | To next | Resolved | "
        + ("Planned | " if planned else "")
        + "Cumulative | Open value | Median days |",
        "|---|" + "---:|" * (9 if planned else 8),
    ]
    for index, stage in enumerate(report.stages):
        open_value = money_text(money.open_by_stage[index], _md(money.currency)) if money else "–"
        plan_cell = f"{percent(stage.planned_conversion)} | " if planned else ""
        lines.append(
            f"| {_md(stage.name)} | {stage.reached:,} | {stage.current:,} | {stage.lost:,} | "
            f"{percent(stage.conversion_to_next)} | {percent(stage.resolved_conversion)} | "
            f"{plan_cell}{percent(stage.cumulative_conversion)} | "
            f"{open_value} | {days_text(stage.median_days_in_stage)} |"
        )
    lines += ["", f"**Bottleneck:** {bottleneck_sentence(report, _md)}", ""]
    if result.alerts and result.alerts.fired:
        lines += ["**Alerts:**", ""]
        lines += [f"- {_md(alert.message)}" for alert in result.alerts.fired]
        lines.append("")
    lines += [f"- {label}: {value}" for label, value in key_figures(report, _md)]
    if report.stale:
        lines += ["", f"**Stale deals:** {report.stale_count:,} (oldest first)", ""]
        lines += ["| Deal | Owner | Stage | Days | Value |", "|---|---|---|---:|---:|"]
        for deal in report.stale[:STALE_SHOWN]:
            lines.append(
                f"| {_md(deal.id)} | {_md(deal.owner or '')} | {_md(deal.stage)} | {deal.days:,} | "
                f"{money_text(deal.value, deal.currency and _md(deal.currency))} |"
            )
    if shows_time_in_stage(report):
        lines += [
            "",
            "**Time in stage (days)**",
            "",
            _md_table(TIME_COLUMNS, time_in_stage_rows(report)),
        ]
    if result.compare is not None:
        lines += [
            "",
            f"**{compare_title(result)}**",
            "",
            _md_table(COMPARE_COLUMNS, compare_rows(result)),
        ]
    lines += _segments_markdown(result)
    sentence = history_sentence(result, _md)
    if sentence:
        lines += ["", sentence]
    lines += ["", rows_sentence(result), ""]
    return "\n".join(lines)


def _md_table(header: Sequence[str], rows: list[list[str]]) -> str:
    """A table whose first column names a stage; the other cells are our own figures."""
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join([_md(row[0]), *row[1:]]) + " |" for row in rows]
    return "\n".join(lines)


_md = markdown_text
"""Names from a CRM, a funnel file or the command line, in a Markdown line or cell."""
