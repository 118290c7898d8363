"""A report as JSON: the contract.

JSON keys are a contract (README, "JSON output"); ``tests/render/test_report_json_csv_md.py`` pins them.
Money in the report is a JSON number rounded to cents; rates are decimals; a figure that
cannot be computed is null. When an export mixes currencies without ``fx:`` rates, the
top-level money figures are null and ``by_currency`` holds them per currency.
"""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from funnelcli.render.numbers import rate
from funnelcli.render.report_view import skipped_share
from funnelcli.report_figures import Bottleneck, Report
from funnelcli.results import ExportReport
from funnelcli.segments import MIN_SEGMENT_DEALS, SegmentFigures

if TYPE_CHECKING:
    from funnelcli.alerts import AlertResult

SCHEMA_VERSION = 1


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


def alerts_to_json(result: AlertResult) -> list[dict[str, object]]:
    """The fired alerts as JSON-ready mappings, in the order they fired."""
    return [
        {
            "rule": alert.rule,
            "stage": alert.stage,
            "threshold": alert.threshold,
            "actual": alert.actual,
            "message": alert.message,
        }
        for alert in result.fired
    ]
