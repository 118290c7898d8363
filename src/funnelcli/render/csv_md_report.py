"""A report as CSV and as Markdown.

CSV holds the stage rows (or, with --by or --cohort, the segment rows) with stable column
names; Markdown says what the terminal says, from the same view (``report_view``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from funnelcli.render.json_report import report_to_dict
from funnelcli.render.neutralise import forwarded_name, markdown_text, neutralise_cells
from funnelcli.render.report_view import (
    COMPARE_COLUMNS,
    STAGE_COLUMNS,
    STALE_COLUMNS,
    STALE_SHOWN,
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
from funnelcli.report_figures import Report
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


def report_markdown(result: ExportReport, funnel_source: str, export: str) -> str:
    """The report as the terminal shows it, in Markdown for a chat, an issue or a mail.

    Every table of the terminal is a pipe table (names left, figures right-aligned) under
    a ``###`` heading; the sentences are paragraphs. Files go by their name, never their
    path; text from the CRM or the funnel file is escaped (:func:`markdown_text`), so it
    can neither break a table nor become a link, markup or HTML.
    """
    report = result.report
    export_name = forwarded_name(export)
    lines = [
        f"## Funnel report: {_md(report.funnel)}",
        "",
        f"{_md(export_name)}, as of {report.as_of.isoformat()}; "
        f"funnel {_md(forwarded_name(funnel_source))}.",
        "",
    ]
    provenance = provenance_sentence(result, export_name, _md)
    if provenance:
        lines += [provenance, ""]
    warning = skipped_warning(result)
    if warning:
        lines += [f"**Warning:** {warning}", ""]
    # The terminal's columns in the terminal's order, "Plan" only with a plan.
    shown = [column for column in STAGE_COLUMNS if report.has_plan or column != "Plan"]
    rows = [[row.cells[column] for column in shown] for row in stage_rows(report, _md)]
    lines += ["### Stages", "", *_table(shown, rows), ""]
    lines += ["### Key figures", ""]
    lines += [
        f"- {label}: {value}" if label else f"- {value}"
        for label, value in key_figures(report, _md)
    ]
    lines += ["", f"**Bottleneck:** {bottleneck_sentence(report, _md)}"]
    if result.alerts and result.alerts.fired:
        lines += ["", "### Alerts", ""]
        lines += [f"- {_md(alert.message)}" for alert in result.alerts.fired]
    if shows_time_in_stage(report):
        rows = [[_md(row[0]), *row[1:]] for row in time_in_stage_rows(report)]
        lines += ["", "### Time in stage (days)", "", *_table(TIME_COLUMNS, rows)]
    if result.compare is not None:
        rows = [[_md(row[0]), *row[1:]] for row in compare_rows(result)]
        lines += ["", f"### {compare_title(result)}", "", *_table(COMPARE_COLUMNS, rows)]
    if report.stale:
        lines += ["", f"### {_stale_title(report)}", ""]
        lines += _table(STALE_COLUMNS, stale_rows(report, _md), text_columns=3)
    lines += _segments_markdown(result)
    sentence = _history_sentence(result)
    if sentence:
        lines += ["", sentence]
    lines += ["", rows_sentence(result), ""]
    return "\n".join(lines)


def _history_sentence(result: ExportReport) -> str | None:
    """What --history held, the history file by its name."""
    return history_sentence(result, lambda path: _md(forwarded_name(path)))


def _stale_title(report: Report) -> str:
    """``Stale deals: 1,376 (the 10 oldest shown)``, as the terminal titles its table."""
    shown = min(report.stale_count, STALE_SHOWN, len(report.stale))
    more = report.stale_count > shown
    return f"Stale deals: {report.stale_count:,}" + (f" (the {shown} oldest shown)" if more else "")


def _segments_markdown(result: ExportReport) -> list[str]:
    """The --by segments and --cohort cohorts side by side, one table each."""
    lines: list[str] = []
    stage_count = len(result.report.stages)
    stage_names = [_md(stage.name) for stage in result.report.stages[:-1]]
    for slices, cohorts in ((result.segments, False), (result.cohorts, True)):
        if slices is None:
            continue
        header = ["Cohort" if cohorts else "Segment", "Deals", "Win", *stage_names, "Bottleneck"]
        folded = None if cohorts else result.segments_folded
        rows = [
            [
                _md(row.name) + (" (immature)" if cohorts and row.immature else ""),
                f"{row.deals:,}",
                percent(row.win_rate),
                *segment_cells(row, stage_count),
                _md(row.bottleneck or "–"),
            ]
            for row in ((*slices, folded.figures) if folded else slices)
        ]
        lines += ["", f"### {segment_title(result, cohorts, _md)}", ""]
        lines += _table(header, rows, last_is_text=True)
        lines += ["", slices_footnote(result.report)]
        sentence = None if cohorts else folded_sentence(result)
        if sentence:
            lines += ["", sentence]
    return lines


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    text_columns: int = 1,
    last_is_text: bool = False,
) -> list[str]:
    """A pipe table: the first ``text_columns`` (names) and, with ``last_is_text``, the
    last column left-aligned; the figures between right-aligned. Cells come escaped."""
    aligns = [":---" if index < text_columns else "---:" for index in range(len(header))]
    if last_is_text:
        aligns[-1] = ":---"
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(aligns) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


_md = markdown_text
"""Names from a CRM, a funnel file or the command line, in a Markdown line or cell."""
