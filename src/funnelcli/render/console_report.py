"""A report -> Rich renderables: the stage table, funnel chart, key figures, stale deals."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from funnelcli.render.console import FunnelChart
from funnelcli.render.report_view import (
    COMPARE_COLUMNS,
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
from funnelcli.segments import SegmentFigures


def report_renderable(result: ExportReport, funnel_source: str, export: str) -> RenderableType:
    report = result.report
    title = Text(f"Funnel report: {report.funnel}", style="bold")
    subtitle = Text(
        f"{export}, as of {report.as_of.isoformat()}; funnel {funnel_source}", style="dim"
    )
    rows: list[dict[str, str | Text]] = [
        {
            **row.cells,
            "Resolved": Text(row.cells["Resolved"], style="red" if row.below_plan else ""),
        }
        for row in stage_rows(report)
    ]
    # A funnel without planned rates (inferred from the export, or report-only) has no
    # Plan column: a column of dashes would only suggest a plan that is missing.
    shown = [c for c in STAGE_COLUMN_PRIORITY if report.has_plan or c != "Plan"]
    table = _FittingTable(rows, shown)
    figures = Table.grid(padding=(0, 2))
    figures.add_column(style="bold")
    figures.add_column()
    for label, value in key_figures(report):
        figures.add_row(label, value)
    parts: list[RenderableType] = [title, subtitle]
    provenance = provenance_sentence(result, export)
    if provenance:
        parts.append(Text(provenance, style="dim"))
    parts.append(Text(""))
    warning = skipped_warning(result)
    if warning:
        parts += [Text.assemble(("Warning: ", "bold red"), warning), Text("")]
    parts += [
        table,
        Text(""),
        FunnelChart(
            [stage.name for stage in report.stages], [stage.reached for stage in report.stages]
        ),
        Text(""),
        figures,
        Text(""),
        Text.assemble(("Bottleneck: ", "bold"), bottleneck_sentence(report)),
    ]
    if result.alerts and result.alerts.fired:
        parts.append(Text(""))
        parts += [
            Text.assemble(("Alert: ", "bold red"), alert.message) for alert in result.alerts.fired
        ]
    if shows_time_in_stage(report):
        parts += [
            Text(""),
            _plain_table("Time in stage (days)", TIME_COLUMNS, time_in_stage_rows(report)),
        ]
    if result.compare is not None:
        parts += [
            Text(""),
            _plain_table(compare_title(result), COMPARE_COLUMNS, compare_rows(result)),
        ]
    if report.stale:
        parts += [Text(""), _stale_table(report)]
    for slices, cohorts in ((result.segments, False), (result.cohorts, True)):
        if slices is not None:
            parts += [
                Text(""),
                _slices_table(result, slices, cohorts),
                Text(slices_footnote(report), style="dim"),
            ]
            folded = None if cohorts else folded_sentence(result)
            if folded:
                parts.append(Text(folded, style="dim"))
    sentence = history_sentence(result)
    if sentence:
        parts += [Text(""), Text(sentence, style="dim")]
    parts += [Text(""), Text(rows_sentence(result), style="dim")]
    return Group(*parts)


def _plain_table(title: str, header: Sequence[str], rows: list[list[str]]) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    for index, column in enumerate(header):
        table.add_column(column, justify="left" if index == 0 else "right", overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _slices_table(result: ExportReport, rows: Sequence[SegmentFigures], cohorts: bool) -> Table:
    stages = result.report.stages
    table = Table(
        title=segment_title(result, cohorts),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    table.add_column("Cohort" if cohorts else "Segment", overflow="fold")
    table.add_column("Deals", justify="right", no_wrap=True)
    table.add_column("Win", justify="right", no_wrap=True)
    for stage in stages[:-1]:
        table.add_column(stage.name, justify="right", overflow="fold")
    table.add_column("Bottleneck", overflow="fold")
    folded = None if cohorts else result.segments_folded
    for row in (*rows, folded.figures) if folded else rows:
        name = row.name + (" (immature)" if cohorts and row.immature else "")
        cells = [
            Text(cell, style="bold red" if cell.endswith("!") else "")
            for cell in segment_cells(row, len(stages))
        ]
        table.add_row(name, f"{row.deals:,}", percent(row.win_rate), *cells, row.bottleneck or "–")
    return table


STAGE_COLUMN_PRIORITY = (
    "Stage",
    "Reached",
    "Open",
    "Lost",
    "To next",
    "Resolved",
    "Cum.",
    "Open value",
    "Days",
    "Plan",
)
"""Columns of the report's stage table, most important first: narrow terminals drop from the end."""


_GAP = 2  # between two columns: a cell's right padding and the box's blank separator


class _FittingTable:
    """A table that drops its least important columns until it fits the terminal's width."""

    def __init__(self, rows: list[dict[str, str | Text]], priority: Sequence[str]) -> None:
        self.rows = rows
        self.priority = priority

    def _width(self, column: str) -> int:
        cells = [column, *(str(row[column]) for row in self.rows)]
        return max(cell_len(cell) for cell in cells)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        columns = list(self.priority)
        while (
            len(columns) > 2
            and sum(self._width(c) for c in columns) + _GAP * (len(columns) - 1) > options.max_width
        ):
            columns.pop()
        table = Table(
            box=box.SIMPLE_HEAD,
            show_edge=False,
            header_style="bold",
            pad_edge=False,
            padding=(0, 1, 0, 0),
        )
        for column in columns:
            first = column == columns[0]
            table.add_column(
                column, justify="left" if first else "right", no_wrap=not first, overflow="fold"
            )
        for row in self.rows:
            table.add_row(*(row[column] for column in columns))
        yield table


def _stale_table(report: Report) -> Table:
    shown = report.stale[:STALE_SHOWN]
    more = report.stale_count - len(shown)
    title = f"Stale deals: {report.stale_count:,}" + (
        f" (the {len(shown)} oldest shown)" if more else ""
    )
    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False
    )
    for column in STALE_COLUMNS:  # the figures, Days and Value, on the right
        if column in ("Days", "Value"):
            table.add_column(column, justify="right")
        else:
            table.add_column(column, overflow="fold")
    for row in stale_rows(report):
        table.add_row(*row)
    return table
