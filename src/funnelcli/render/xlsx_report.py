"""A report as an Excel workbook: Summary, Stages (with a chart), Stale deals, Segments, Cohorts.

Every figure is taken from :func:`report_to_dict`, so the workbook never disagrees with
``--format json``; the sentences are the report view's.
"""

from __future__ import annotations

from typing import Any

from funnelcli.render.csv_md_report import CSV_COLUMNS
from funnelcli.render.json_report import report_to_dict
from funnelcli.render.report_view import bottleneck_sentence, rows_sentence, skipped_warning
from funnelcli.render.xlsx import (
    COUNT,
    DATE,
    DAYS,
    MONEY,
    PERCENT,
    Column,
    Formatted,
    add_funnel_chart,
    add_table,
    column_title,
    new_workbook,
    to_date,
    workbook_bytes,
)
from funnelcli.results import ExportReport

_REPORT_FORMATS = {
    "reached": COUNT,
    "current": COUNT,
    "lost": COUNT,
    "conversion_to_next": PERCENT,
    "resolved_conversion": PERCENT,
    "cumulative_conversion": PERCENT,
    "planned_conversion": PERCENT,
    "open_value": MONEY,
    "median_days_in_stage": DAYS,
    "p75_days_in_stage": DAYS,
    "p90_days_in_stage": DAYS,
    "median_days_before_loss": DAYS,
}

STALE_COLUMNS = (
    Column("ID"),
    Column("Owner"),
    Column("Stage"),
    Column("Days", COUNT),
    Column("Value", MONEY),
    Column("Currency"),
)
SEGMENT_COLUMNS = (
    Column("Segment"),
    Column("Stage"),
    Column("Reached", COUNT),
    Column("Resolved conversion", PERCENT),
    Column("Judged"),
    Column("Worst"),
)
COHORT_COLUMNS = (
    Column("Cohort"),
    *SEGMENT_COLUMNS[1:],
    Column("Deals", COUNT),
    Column("Win rate", PERCENT),
    Column("Immature"),
)
ALERT_COLUMNS = (
    Column("Alert rule"),
    Column("Stage"),
    Column("Threshold"),
    Column("Actual"),
    Column("Message"),
)
_COUNT_RULES = frozenset({"max_stale"})
"""Alert rules whose threshold and actual are deal counts; the others compare rates."""


def report_xlsx(result: ExportReport, funnel_source: str, export: str) -> bytes:
    """Sheets Summary (with the filters and the alerts that fired), Stages (with a chart of
    deals reached) and Stale deals; Segments with --by and Cohorts with --cohort."""
    data = report_to_dict(result, funnel_source, export)
    workbook = new_workbook(f"Funnel report: {data['funnel']}")
    notes = [
        ("Bottleneck", bottleneck_sentence(result.report)),
        ("Rows", rows_sentence(result)),
    ]
    summary = _report_summary(data)
    warning = skipped_warning(result)
    if warning:  # over a tenth of the rows left out: the first row, as on top of every format
        summary.insert(0, ["Warning", warning])
    alerts = [_alert_row(alert) for alert in data["alerts"]]
    add_table(
        workbook,
        "Summary",
        (Column("Figure"), Column("Value")),
        summary,
        notes,
        sections=[(ALERT_COLUMNS, alerts)] if alerts else (),
    )
    columns = [Column(column_title(key), _REPORT_FORMATS.get(key)) for key in CSV_COLUMNS]
    stage_rows = [
        [stage["name"] if key == "stage" else stage[key] for key in CSV_COLUMNS]
        for stage in data["stages"]
    ]
    stages = add_table(workbook, "Stages", columns, stage_rows)
    add_funnel_chart(stages, CSV_COLUMNS.index("reached") + 1, len(stage_rows), "Deals reached")
    stale_rows = [
        [deal["id"], deal["owner"], deal["stage"], deal["days"], deal["value"], deal["currency"]]
        for deal in data["stale"]
    ]
    add_table(workbook, "Stale deals", STALE_COLUMNS, stale_rows)
    if data["segments"] is not None:
        add_table(workbook, "Segments", SEGMENT_COLUMNS, _slice_rows(data["segments"], "segment"))
    if data["cohorts"] is not None:
        add_table(workbook, "Cohorts", COHORT_COLUMNS, _slice_rows(data["cohorts"], "cohort"))
    return workbook_bytes(workbook)


def _slice_rows(slices: dict[str, Any], key: str) -> list[list[object]]:
    """One row per segment (or cohort) and stage; cohorts add deals, win rate and immature."""
    rows: list[list[object]] = []
    for row in slices["rows"] + ([slices["others"]] if slices.get("others") else []):
        extra = [row["deals"], row["win_rate"], row["immature"]] if key == "cohort" else []
        rows += [
            [
                row[key],
                stage["name"],
                stage["reached"],
                stage["resolved_conversion"],
                stage["judged"],
                stage["worst"],
                *extra,
            ]
            for stage in row["stages"]
        ]
    return rows


def _alert_row(alert: dict[str, Any]) -> list[object]:
    number_format = COUNT if alert["rule"] in _COUNT_RULES else PERCENT
    return [
        alert["rule"],
        alert["stage"],
        Formatted(alert["threshold"], number_format),
        Formatted(alert["actual"], number_format),
        alert["message"],
    ]


def _report_summary(data: dict[str, Any]) -> list[list[object]]:
    rows: list[list[object]] = [
        ["Funnel", data["funnel"]],
        ["Funnel file", data["funnel_source"]],
        *([["Stages and order from", data["funnel_evidence"]]] if data["funnel_evidence"] else []),
        ["Export", data["export"]],
        ["As of", Formatted(to_date(data["as_of"]), DATE)],
        *_filter_rows(data),
        ["Won", Formatted(data["won"]["count"], COUNT)],
        ["Lost", Formatted(data["lost"]["count"], COUNT)],
        ["Lost at an unknown stage", Formatted(data["lost"]["unknown_stage"], COUNT)],
        ["Open", Formatted(data["open"]["count"], COUNT)],
        ["Open without an amount", Formatted(data["open"]["without_amount"], COUNT)],
        ["Win rate", Formatted(data["win_rate"], PERCENT)],
    ]
    currency = data["currency"]
    if currency is not None and data["won"]["value"] is not None:
        rows += _money_rows(
            currency,
            won=data["won"]["value"],
            lost=data["lost"]["value"],
            average=data["average_won_value"],
            median=data["median_won_value"],
            open_value=data["open"]["value"],
            weighted=data["open"]["weighted_value"],
        )
    for code, figures in (data["by_currency"] or {}).items():
        rows += _money_rows(
            code,
            won=figures["won_value"],
            lost=figures["lost_value"],
            average=figures["average_won_value"],
            median=None,
            open_value=figures["open_value"],
            weighted=figures["weighted_open_value"],
        )
    rows.append(["Open deals weighted by", data["open"]["weighted_from"]])
    rows += [
        ["Median cycle days (won)", Formatted(data["median_cycle_days"], DAYS)],
        ["P90 cycle days (won)", Formatted(data["p90_cycle_days"], DAYS)],
    ]
    if currency is not None:
        rows.append(
            [
                f"Sales velocity per day ({currency})",
                Formatted(data["sales_velocity_per_day"], MONEY),
            ]
        )
    counts = data["rows"]
    rows += [
        ["Rows read", Formatted(counts["read"], COUNT)],
        ["Rows used", Formatted(counts["used"], COUNT)],
        ["Rows skipped", Formatted(counts["skipped"], COUNT)],
    ]
    return rows


def _filter_rows(data: dict[str, Any]) -> list[list[object]]:
    """The filters and groupings that were set; none when the whole export is reported."""
    filters = data["filters"]
    rows: list[list[object]] = []
    if filters["since"]:
        rows.append(["Since", Formatted(to_date(filters["since"]), DATE)])
    if filters["until"]:
        rows.append(["Until", Formatted(to_date(filters["until"]), DATE)])
    if filters["where"]:
        conditions = (f"{where['column']}={where['value']}" for where in filters["where"])
        rows.append(["Where", " and ".join(conditions)])
    if filters["pipeline"] is not None:
        rows.append(["Pipeline", filters["pipeline"]])
    if data["segments"] is not None:
        rows.append(["Segments by", data["segments"]["by"]])
    if data["cohorts"] is not None:
        rows.append(["Cohorts by", f"created {data['cohorts']['period']}"])
    return rows


def _money_rows(
    currency: str,
    *,
    won: object,
    lost: object,
    average: object,
    median: object,
    open_value: object,
    weighted: object,
) -> list[list[object]]:
    rows: list[list[object]] = [
        [f"Won value ({currency})", Formatted(won, MONEY)],
        [f"Lost value ({currency})", Formatted(lost, MONEY)],
        [f"Average won value ({currency})", Formatted(average, MONEY)],
    ]
    if median is not None:
        rows.append([f"Median won value ({currency})", Formatted(median, MONEY)])
    rows += [
        [f"Open value ({currency})", Formatted(open_value, MONEY)],
        [f"Weighted open value ({currency})", Formatted(weighted, MONEY)],
    ]
    return rows
