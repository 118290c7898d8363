"""A report as an Excel workbook.

Sheets: Summary (headline figures, the funnel chart, then the other figures), Stages,
Time in stage (when the export or a history dates stages), Stale deals, Segments (--by),
Cohorts (--cohort), Compare (--compare-to), Alerts (when one fired) and Rows (the row
accounting). Every figure is taken from :func:`report_to_dict`, so the workbook never
disagrees with ``--format json``; the sentences are the report view's.
"""

from __future__ import annotations

from typing import Any

from funnelcli.render.json_report import report_to_dict
from funnelcli.render.neutralise import forwarded_name
from funnelcli.render.report_view import (
    bottleneck_sentence,
    history_sentence,
    rows_sentence,
    shows_time_in_stage,
    skipped_warning,
)
from funnelcli.render.xlsx import (
    CHANGE,
    COUNT,
    DATE,
    DAYS,
    DAYS_CHANGE,
    PERCENT,
    POINTS,
    SECTION,
    Column,
    Formatted,
    Sentence,
    add_funnel_chart,
    add_summary,
    add_table,
    file_name,
    money_format,
    new_workbook,
    to_date,
    workbook_bytes,
)
from funnelcli.results import FILTER_REASONS, SKIP_REASONS, ExportReport

STAGE_COLUMNS = (
    ("name", Column("Stage")),
    ("reached", Column("Reached", COUNT)),
    ("current", Column("Open", COUNT)),
    ("lost", Column("Lost", COUNT)),
    ("conversion_to_next", Column("Conversion to next", PERCENT)),
    ("resolved_conversion", Column("Resolved conversion", PERCENT)),
    ("planned_conversion", Column("Planned conversion", PERCENT)),
    ("cumulative_conversion", Column("Cumulative conversion", PERCENT)),
    ("open_value", Column("Open value")),  # in the report's currency: set per workbook
    ("median_days_in_stage", Column("Median days in stage", DAYS)),
    ("win_probability", Column("Win probability", PERCENT)),
)
"""The Stages sheet: JSON key of a stage and its column."""

TIME_COLUMNS = (
    ("name", Column("Stage")),
    ("median_days_in_stage", Column("Median days", DAYS)),
    ("p75_days_in_stage", Column("P75 days", DAYS)),
    ("p90_days_in_stage", Column("P90 days", DAYS)),
    ("still_in_stage", Column("Still in stage", COUNT)),
    ("median_days_before_loss", Column("Median days before loss", DAYS)),
    ("skipped", Column("Skipped", COUNT)),
    ("moved_back", Column("Moved back", COUNT)),
)
"""The Time in stage sheet: JSON key of a stage and its column."""

STALE_COLUMNS = (
    Column("ID"),
    Column("Owner"),
    Column("Stage"),
    Column("Days", COUNT),
    Column("Value"),  # in the deal's own currency: set per row
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
COMPARE_COLUMNS = (
    Column("Stage"),
    Column("Reached then", COUNT),
    Column("Reached now", COUNT),
    Column("Reached change", CHANGE),
    Column("Resolved then", PERCENT),
    Column("Resolved now", PERCENT),
    Column("Resolved change (points)", POINTS),
    Column("Median days then", DAYS),
    Column("Median days now", DAYS),
    Column("Median days change", DAYS_CHANGE),
)
ALERT_COLUMNS = (
    Column("Alert rule"),
    Column("Stage"),
    Column("Threshold"),
    Column("Actual"),
    Column("Message"),
)
ROW_COLUMNS = (Column("Rows"), Column("Count", COUNT))
_COUNT_RULES = frozenset({"max_stale"})
"""Alert rules whose threshold and actual are deal counts; the others compare rates."""


def report_xlsx(result: ExportReport, funnel_source: str, export: str) -> bytes:
    """The report's workbook, opening on its Summary (see the module's docstring)."""
    data = report_to_dict(result, funnel_source, export)
    workbook = new_workbook(f"Funnel report: {data['funnel']}")
    money = money_format(data["currency"])
    stage_columns = [
        Column(column.title, money) if key == "open_value" else column
        for key, column in STAGE_COLUMNS
    ]
    stage_rows = [[stage[key] for key, _ in STAGE_COLUMNS] for stage in data["stages"]]
    stages = add_table(workbook, "Stages", stage_columns, stage_rows)
    summary = add_summary(
        workbook, "Funnel report", data["funnel"], _summary_rows(result, data, money)
    )
    add_funnel_chart(summary, stages, 2, len(stage_rows), "Deals reached")
    if shows_time_in_stage(result.report):
        add_table(
            workbook,
            "Time in stage",
            [column for _, column in TIME_COLUMNS],
            [[stage[key] for key, _ in TIME_COLUMNS] for stage in data["stages"]],
        )
    add_table(workbook, "Stale deals", STALE_COLUMNS, [_stale_row(deal) for deal in data["stale"]])
    if data["segments"] is not None:
        add_table(workbook, "Segments", SEGMENT_COLUMNS, _slice_rows(data["segments"], "segment"))
    if data["cohorts"] is not None:
        add_table(workbook, "Cohorts", COHORT_COLUMNS, _slice_rows(data["cohorts"], "cohort"))
    if data["compare"] is not None:
        add_table(workbook, "Compare", COMPARE_COLUMNS, _compare_rows(data["compare"]))
    if data["alerts"]:
        add_table(workbook, "Alerts", ALERT_COLUMNS, [_alert_row(a) for a in data["alerts"]])
    add_table(workbook, "Rows", ROW_COLUMNS, _row_accounting(data["rows"]))
    return workbook_bytes(workbook)


def _stale_row(deal: dict[str, Any]) -> list[object]:
    value = deal["value"]
    return [
        deal["id"],
        deal["owner"],
        deal["stage"],
        deal["days"],
        None if value is None else Formatted(value, money_format(deal["currency"])),
        deal["currency"],
    ]


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


def _compare_rows(compare: dict[str, Any]) -> list[list[object]]:
    """Per stage: reached, resolved conversion and median days, then and now, and the change;
    last the win rate (in the Resolved columns)."""
    rows: list[list[object]] = [
        [
            stage["name"],
            stage["reached_then"],
            stage["reached"],
            stage["reached_change"],
            stage["resolved_conversion_then"],
            stage["resolved_conversion"],
            stage["resolved_conversion_change"],
            stage["median_days_in_stage_then"],
            stage["median_days_in_stage"],
            stage["median_days_in_stage_change"],
        ]
        for stage in compare["stages"]
    ]
    win = compare["win_rate"]
    rows.append(
        ["Win rate", None, None, None, win["then"], win["now"], win["change"], None, None, None]
    )
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


def _row_accounting(rows: dict[str, Any]) -> list[list[object]]:
    """Read = used + skipped + filtered, each reason on a row of its own."""
    table: list[list[object]] = [
        ["Read", rows["read"]],
        ["Used", rows["used"]],
        ["Skipped", rows["skipped"]],
        *(
            [f"Skipped: {SKIP_REASONS.get(reason, reason)}", count]
            for reason, count in rows["skipped_by_reason"].items()
        ),
        ["Filtered out", rows["filtered"]],
        *(
            [f"Filtered: {FILTER_REASONS.get(reason, reason)}", count]
            for reason, count in rows["filtered_by_reason"].items()
        ),
        ["Blank rows ignored", rows["blank"]],
        ["Footer rows ignored", rows["footer"]],
    ]
    if rows["skipped_share"] is not None:
        table.append(["Share of rows read skipped", Formatted(rows["skipped_share"], PERCENT)])
    return table


def _summary_rows(result: ExportReport, data: dict[str, Any], money: str) -> list[list[object]]:
    """The headline figures first (what the issue's reader looks for), then the others."""
    warning = skipped_warning(result)
    currency = data["currency"]
    rows: list[list[object]] = [
        *([["Warning", Sentence(warning, warning=True)]] if warning else []),
        ["Won", Formatted(data["won"]["count"], COUNT)],
        ["Win rate", Formatted(data["win_rate"], PERCENT)],
    ]
    if currency is not None and data["won"]["value"] is not None:
        rows += [
            [f"Won value ({currency})", Formatted(data["won"]["value"], money)],
            [f"Open value ({currency})", Formatted(data["open"]["value"], money)],
            [f"Weighted open value ({currency})", Formatted(data["open"]["weighted_value"], money)],
        ]
    for code, figures in (data["by_currency"] or {}).items():
        own = money_format(code)
        rows += [
            [f"Won value ({code})", Formatted(figures["won_value"], own)],
            [f"Open value ({code})", Formatted(figures["open_value"], own)],
            [f"Weighted open value ({code})", Formatted(figures["weighted_open_value"], own)],
        ]
    rows.append(["Median cycle days (won)", Formatted(data["median_cycle_days"], DAYS)])
    if currency is not None:
        velocity = data["sales_velocity_per_day"]
        rows.append([f"Sales velocity per day ({currency})", Formatted(velocity, money)])
    rows += [
        ["Bottleneck", Sentence(bottleneck_sentence(result.report))],
        ["As of", Formatted(to_date(data["as_of"]), DATE)],
        ["Export", file_name(data["export"])],
        *_funnel_rows(data),
        *_filter_rows(data),
        ["More figures", SECTION],
        *_more_figures(result, data, money),
    ]
    return rows


def _funnel_rows(data: dict[str, Any]) -> list[list[object]]:
    """Which funnel file, or that the stages were inferred from the export and from what."""
    evidence = data["funnel_evidence"]
    if evidence is None:
        return [
            ["Funnel file", file_name(data["funnel_source"])],
            ["Stages and order from", "the funnel file"],
        ]
    return [
        ["Funnel file", "none: built from the export"],
        ["Stages and order from", Sentence(evidence)],
    ]


def _more_figures(result: ExportReport, data: dict[str, Any], money: str) -> list[list[object]]:
    currency = data["currency"]
    rows: list[list[object]] = [
        ["Lost", Formatted(data["lost"]["count"], COUNT)],
        ["Lost at an unknown stage", Formatted(data["lost"]["unknown_stage"], COUNT)],
        ["Open", Formatted(data["open"]["count"], COUNT)],
        ["Open without an amount", Formatted(data["open"]["without_amount"], COUNT)],
    ]
    if currency is not None and data["won"]["value"] is not None:
        rows += [
            [f"Lost value ({currency})", Formatted(data["lost"]["value"], money)],
            [f"Average won value ({currency})", Formatted(data["average_won_value"], money)],
            [f"Median won value ({currency})", Formatted(data["median_won_value"], money)],
        ]
    for code, figures in (data["by_currency"] or {}).items():
        own = money_format(code)
        rows += [
            [f"Lost value ({code})", Formatted(figures["lost_value"], own)],
            [f"Average won value ({code})", Formatted(figures["average_won_value"], own)],
        ]
    rows += [
        ["Open deals weighted by", data["open"]["weighted_from"]],
        ["P90 cycle days (won)", Formatted(data["p90_cycle_days"], DAYS)],
        ["Stale deals", Formatted(data["stale_count"], COUNT)],
        ["Alerts fired", Formatted(len(data["alerts"]), COUNT)],
        ["Rows read", Formatted(data["rows"]["read"], COUNT)],
        ["Rows used", Formatted(data["rows"]["used"], COUNT)],
        ["Rows skipped", Formatted(data["rows"]["skipped"], COUNT)],
        ["Rows", Sentence(rows_sentence(result))],
    ]
    history = history_sentence(result, forwarded_name)
    if history:
        rows.append(["History", Sentence(history)])
    if data["compare"] is not None:
        rows.append(["Compared with", Formatted(to_date(data["compare"]["as_of"]), DATE)])
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
