"""A report as CSV and as Markdown.

CSV holds the stage rows (or, with --by or --cohort, the segment rows) with stable column
names; Markdown says what the terminal says, from the same view (``report_view``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from funnelcli.render.json_report import report_to_dict
from funnelcli.render.neutralise import markdown_text, neutralise_cells
from funnelcli.render.report_view import (
    COMPARE_COLUMNS,
    STAGE_COLUMNS,
    STALE_COLUMNS,
    TIME_COLUMNS,
    bottleneck_sentence,
    compare_rows,
    compare_title,
    folded_sentence,
    history_sentence,
    key_figures,
    percent,
    provenance_sentence,
    rows_sentence,
    segment_cells,
    segment_title,
    shows_time_in_stage,
    skipped_warning,
    slices_footnote,
    stage_rows,
    stale_rows,
    time_in_stage_rows,
)
from funnelcli.results import ExportReport

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


def _blank(value: object) -> object:
    return "" if value is None else value


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


def report_markdown(result: ExportReport, funnel_source: str, export: str) -> str:
    report = result.report
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
    # The terminal's columns in the terminal's order, "Plan" only with a plan.
    shown = [column for column in STAGE_COLUMNS if planned or column != "Plan"]
    for row in stage_rows(report, _md):
        lines.append("| " + " | ".join(row.cells[column] for column in shown) + " |")
    lines += ["", f"**Bottleneck:** {bottleneck_sentence(report, _md)}", ""]
    if result.alerts and result.alerts.fired:
        lines += ["**Alerts:**", ""]
        lines += [f"- {_md(alert.message)}" for alert in result.alerts.fired]
        lines.append("")
    lines += [f"- {label}: {value}" for label, value in key_figures(report, _md)]
    if report.stale:
        lines += ["", f"**Stale deals:** {report.stale_count:,} (oldest first)", ""]
        lines += ["| " + " | ".join(STALE_COLUMNS) + " |", "|---|---|---|---:|---:|"]
        lines += ["| " + " | ".join(row) + " |" for row in stale_rows(report, _md)]
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
