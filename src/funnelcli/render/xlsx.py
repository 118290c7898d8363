"""A plan or a report as an Excel workbook, with number formats and a funnel chart.

Every figure is taken from the JSON dict (:func:`plan_to_dict`, :func:`report_to_dict`),
so a workbook never disagrees with ``--format json``. Text from the CRM or the funnel
file goes through :func:`neutralise` (openpyxl would store ``=...`` as a live formula).
The bytes are deterministic: fixed document dates and fixed times inside the zip.

openpyxl is imported here only, and the CLI imports this module only for ``.xlsx``.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from funnelcli.plan import Plan, PlanContext
from funnelcli.render.neutralise import neutralise
from funnelcli.render.plan_files import (
    context_lines,
    detail_lines,
    plan_to_dict,
    summary_sentence,
)
from funnelcli.render.report_files import (
    CSV_COLUMNS,
    bottleneck_sentence,
    report_to_dict,
    rows_sentence,
    skipped_warning,
)
from funnelcli.results import ExportReport

PERCENT = "0.0%"
MONEY = "#,##0.00"
COUNT = "#,##0"
DAYS = "#,##0.0"
TENTHS = "#,##0.0"
RATIO = '0.00"x"'
DATE = "yyyy-mm-dd"

FIXED_TIME = dt.datetime(1980, 1, 1)
"""Created and modified date of every workbook, so two runs give equal bytes (zip's earliest date)."""

MAX_CELL_TEXT = 32_767
"""Excel's limit on a cell's characters; a longer value makes Excel "repair" the file."""

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_MIN_WIDTH = 8
_MAX_WIDTH = 60


@dataclass(frozen=True)
class Formatted:
    """A value with its own number format (the Summary sheet mixes counts, money and rates)."""

    value: object
    number_format: str


@dataclass(frozen=True)
class Column:
    title: str
    number_format: str | None = None


# --- the report ---------------------------------------------------------------------------

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
    workbook = _new_workbook(f"Funnel report: {data['funnel']}")
    notes = [
        ("Bottleneck", bottleneck_sentence(result.report)),
        ("Rows", rows_sentence(result)),
    ]
    summary = _report_summary(data)
    warning = skipped_warning(result)
    if warning:  # over a tenth of the rows left out: the first row, as on top of every format
        summary.insert(0, ["Warning", warning])
    alerts = [_alert_row(alert) for alert in data["alerts"]]
    _table(
        workbook,
        "Summary",
        (Column("Figure"), Column("Value")),
        summary,
        notes,
        sections=[(ALERT_COLUMNS, alerts)] if alerts else (),
    )
    columns = [Column(_title(key), _REPORT_FORMATS.get(key)) for key in CSV_COLUMNS]
    stage_rows = [
        [stage["name"] if key == "stage" else stage[key] for key in CSV_COLUMNS]
        for stage in data["stages"]
    ]
    stages = _table(workbook, "Stages", columns, stage_rows)
    _funnel_chart(stages, CSV_COLUMNS.index("reached") + 1, len(stage_rows), "Deals reached")
    stale_rows = [
        [deal["id"], deal["owner"], deal["stage"], deal["days"], deal["value"], deal["currency"]]
        for deal in data["stale"]
    ]
    _table(workbook, "Stale deals", STALE_COLUMNS, stale_rows)
    if data["segments"] is not None:
        _table(workbook, "Segments", SEGMENT_COLUMNS, _slice_rows(data["segments"], "segment"))
    if data["cohorts"] is not None:
        _table(workbook, "Cohorts", COHORT_COLUMNS, _slice_rows(data["cohorts"], "cohort"))
    return _workbook_bytes(workbook)


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
        ["As of", Formatted(_date(data["as_of"]), DATE)],
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
        rows.append(["Since", Formatted(_date(filters["since"]), DATE)])
    if filters["until"]:
        rows.append(["Until", Formatted(_date(filters["until"]), DATE)])
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


# --- the plan -----------------------------------------------------------------------------

PLAN_STAGE_COLUMNS = (
    Column("Stage"),
    Column("Needed", COUNT),
    Column("Conversion to next", PERCENT),
    Column("Cumulative to won", PERCENT),
    Column("Needed at confidence", COUNT),
    Column("Enter by", DATE),
)
PACING_COLUMNS = (
    Column("Period"),
    Column("Start", DATE),
    Column("End", DATE),
    Column("Leads", COUNT),
)
SENSITIVITY_COLUMNS = (
    Column("Stage"),
    Column("Current rate", PERCENT),
    Column("Raised rate", PERCENT),
    Column("Leads needed", COUNT),
    Column("Leads saved", COUNT),
    Column("Budget saved", MONEY),
)


def plan_xlsx(plan: Plan, funnel_source: str, context: PlanContext | None = None) -> bytes:
    """Sheets Summary (with where the rates came from and the pipeline credit), Stages
    (with a chart of the counts needed), and Pacing and Sensitivity when the plan has them."""
    data = plan_to_dict(plan, funnel_source, context)
    workbook = _new_workbook(f"Plan: {data['funnel']}")
    lines = [*(context_lines(plan, context) if context else []), *detail_lines(plan)]
    notes = [("Plan", summary_sentence(plan, context)), *(("", line) for line in lines)]
    _table(workbook, "Summary", (Column("Figure"), Column("Value")), _plan_summary(data), notes)
    confidence = data["confidence"]
    at_confidence = (
        [stage["needed"] for stage in confidence["stages"]]
        if confidence
        else [None] * len(data["stages"])
    )
    stage_rows = [
        [
            stage["name"],
            stage["needed"],
            stage["conversion_to_next"],
            stage["cumulative_to_won"],
            needed,
            _date(stage["enter_by"]),
        ]
        for stage, needed in zip(data["stages"], at_confidence, strict=True)
    ]
    stages = _table(workbook, "Stages", PLAN_STAGE_COLUMNS, stage_rows)
    _funnel_chart(stages, 2, len(stage_rows), "Needed")
    pacing = data["pacing"]
    if pacing and pacing["schedule"]:
        schedule = [
            [row["period"], _date(row["start"]), _date(row["end"]), row["leads"]]
            for row in pacing["schedule"]
        ]
        _table(workbook, "Pacing", PACING_COLUMNS, schedule)
    if data["sensitivity"]:
        sensitivity = [
            [
                row["stage"],
                row["current_rate"],
                row["raised_rate"],
                row["leads_needed"],
                row["leads_saved"],
                row["budget_saved"],
            ]
            for row in data["sensitivity"]
        ]
        _table(workbook, "Sensitivity", SENSITIVITY_COLUMNS, sensitivity)
    return _workbook_bytes(workbook)


def _plan_summary(data: dict[str, Any]) -> list[list[object]]:
    currency = data["currency"]
    rows: list[list[object]] = [
        ["Funnel", data["funnel"]],
        ["Funnel file", data["funnel_source"]],
        *_context_rows(data),
        [f"Target revenue ({currency})", Formatted(data["target_revenue"], MONEY)],
        [f"Average deal value ({currency})", Formatted(data["average_deal_value"], MONEY)],
        ["Deals needed", Formatted(data["deals_needed"], COUNT)],
        ["Leads needed", Formatted(data["leads_needed"], COUNT)],
    ]
    confidence = data["confidence"]
    if confidence:
        rows += [
            ["Confidence", Formatted(confidence["level"], PERCENT)],
            ["Leads needed at confidence", Formatted(confidence["leads_needed"], COUNT)],
        ]
    budget = data["budget"]
    if budget:
        rows += [
            [f"Cost per lead ({currency})", Formatted(budget["cost_per_lead"], MONEY)],
            [f"Lead budget ({currency})", Formatted(budget["lead_budget"], MONEY)],
            [f"Cost per won deal ({currency})", Formatted(budget["cost_per_won_deal"], MONEY)],
        ]
        if budget["lead_budget_at_confidence"] is not None:
            rows.append(
                [
                    f"Lead budget at confidence ({currency})",
                    Formatted(budget["lead_budget_at_confidence"], MONEY),
                ]
            )
    pacing = data["pacing"]
    if pacing:
        rows += [
            ["Deadline", Formatted(_date(pacing["deadline"]), DATE)],
            ["As of", Formatted(_date(pacing["as_of"]), DATE)],
            ["Cycle days", Formatted(pacing["cycle_days"], COUNT)],
            ["Leads enter from", Formatted(_date(pacing["window_start"]), DATE)],
            ["Last lead entry", Formatted(_date(pacing["last_lead_entry"]), DATE)],
            ["Window days", Formatted(pacing["window_days"], COUNT)],
            [f"Leads per {pacing['per']}", Formatted(pacing["leads_per_period"], COUNT)],
        ]
    if data["lever"]:
        rows.append(["Lever to pull first", data["lever"]])
    return rows


def _context_rows(data: dict[str, Any]) -> list[list[object]]:
    """Where the rates came from and, with --credit-pipeline, what the open deals bring."""
    rows: list[list[object]] = []
    if data["rates_from"]:
        rows.append(["Rates from", data["rates_from"]])
    credit = data["pipeline_credit"]
    if credit is None:
        return rows
    currency = data["currency"]
    rows += [
        ["Pipeline credit from", credit["export"]],
        [f"Full target revenue ({currency})", Formatted(credit["target_revenue"], MONEY)],
        [f"Booked ({currency})", Formatted(credit["booked"], MONEY)],
        [f"Remaining target ({currency})", Formatted(credit["remaining_target"], MONEY)],
        ["Deals needed for the remaining target", Formatted(credit["deals_needed"], COUNT)],
        ["Open deals", Formatted(credit["open_deals"], COUNT)],
        [
            "Deals expected from the pipeline",
            Formatted(credit["expected_deals_from_pipeline"], TENTHS),
        ],
        [
            f"Revenue expected from the pipeline ({currency})",
            Formatted(credit["expected_revenue_from_pipeline"], MONEY),
        ],
        ["Gap deals", Formatted(credit["gap_deals"], COUNT)],
        [f"Gap revenue ({currency})", Formatted(credit["gap_revenue"], MONEY)],
        [f"Open value ({currency})", Formatted(credit["open_value"], MONEY)],
        ["Pipeline coverage", Formatted(credit["coverage"], RATIO)],
        ["Win rate", Formatted(credit["win_rate"], PERCENT)],
        ["Coverage needed", Formatted(credit["coverage_needed"], RATIO)],
    ]
    return rows


# --- sheets -------------------------------------------------------------------------------


def _new_workbook(title: str) -> Any:
    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.title = _text(title)
    workbook.properties.creator = "funnelcli"
    return workbook


def _table(
    workbook: Any,
    name: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[object]],
    notes: Sequence[tuple[str, str]] = (),
    sections: Sequence[tuple[Sequence[Column], Sequence[Sequence[object]]]] = (),
) -> Any:
    """A sheet: a bold frozen header, one row per item, then free-text notes below, then
    each section (a table of its own, with a bold header) after a blank row."""
    sheet = workbook.create_sheet(name)
    sheet.freeze_panes = "A2"
    widths: list[int] = []
    _rows_with_header(sheet, columns, rows, widths)
    if notes:
        sheet.append([])
        for label, text in notes:
            sheet.append([_cell_value(label), _cell_value(text)])
    for section_columns, section_rows in sections:
        sheet.append([])
        _rows_with_header(sheet, section_columns, section_rows, widths)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(
            _MAX_WIDTH, max(_MIN_WIDTH, width + 2)
        )
    return sheet


def _rows_with_header(
    sheet: Any, columns: Sequence[Column], rows: Iterable[Sequence[object]], widths: list[int]
) -> None:
    """Append a bold header and the rows; ``widths`` grows to the widest cell per column."""
    sheet.append([column.title for column in columns])
    for cell in sheet[sheet.max_row][: len(columns)]:
        cell.font = Font(bold=True)
    widths.extend([0] * (len(columns) - len(widths)))
    for index, column in enumerate(columns):
        widths[index] = max(widths[index], len(column.title))
    for row in rows:
        values = []
        formats: list[str | None] = []
        for column, item in zip(columns, row, strict=True):
            value, number_format = _unwrap(item, column.number_format)
            values.append(_cell_value(value))
            formats.append(number_format)
        sheet.append(values)
        cells = sheet[sheet.max_row][: len(columns)]
        for index, (cell, number_format) in enumerate(zip(cells, formats, strict=True)):
            if number_format and cell.value is not None and not isinstance(cell.value, str):
                cell.number_format = number_format
            widths[index] = max(widths[index], _shown_width(cell.value, number_format))


def _unwrap(item: object, default: str | None) -> tuple[object, str | None]:
    if isinstance(item, Formatted):
        return item.value, item.number_format
    return item, default


def _cell_value(value: object) -> object:
    """Text made safe for a cell; numbers and dates as they are, None as an empty cell."""
    if isinstance(value, str):
        return _text(value)
    return value


def _text(value: str) -> str:
    # Control characters are invalid in the file's XML: openpyxl would refuse the value.
    cleaned = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)[:MAX_CELL_TEXT]
    return neutralise(cleaned)


def _shown_width(value: object, number_format: str | None) -> int:
    """About how many characters the cell shows, for the column's width."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return len(str(value).split("\n")[0])
    if number_format == PERCENT:
        return len(f"{value:.1%}")
    if number_format in (MONEY, DAYS, TENTHS):
        return len(f"{value:,.2f}")
    if number_format == RATIO:
        return len(f"{value:,.2f}x")
    return len(f"{value:,}")


def _funnel_chart(sheet: Any, column: int, stage_count: int, series: str) -> None:
    """A horizontal bar chart of one column, first stage at the top, beside the table."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = f"{series} per stage"
    chart.legend = None
    data = Reference(sheet, min_col=column, min_row=1, max_row=stage_count + 1)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=stage_count + 1))
    chart.x_axis.scaling.orientation = "maxMin"  # the funnel's top stage first
    # openpyxl 3.1 leaves the axes' delete flag unset, which Excel reads as "hidden".
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.number_format = COUNT
    chart.height = max(7.5, 1.2 * stage_count + 3)
    chart.width = 16
    sheet.add_chart(chart, f"{get_column_letter(sheet.max_column + 2)}2")


def _title(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


# --- bytes --------------------------------------------------------------------------------


def _workbook_bytes(workbook: Any) -> bytes:
    workbook.properties.created = FIXED_TIME
    workbook.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    # Not workbook.save(): it stamps the modified date with the current time.
    ExcelWriter(workbook, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED)).save()
    return _fixed_zip_times(buffer.getvalue())


def _fixed_zip_times(data: bytes) -> bytes:
    """The same archive with every entry dated :data:`FIXED_TIME` (zip stores local write times)."""
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = entry.external_attr
            target.writestr(fixed, source.read(entry))
    return output.getvalue()
