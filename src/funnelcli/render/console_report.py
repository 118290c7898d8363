"""A report -> Rich renderables: the stage table, funnel chart, key figures, stale deals."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from funnelcli.render.console import Column, FittedTable, FunnelChart
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
from funnelcli.segments import SegmentFigures


def report_renderable(result: ExportReport, funnel_source: str, export: str) -> RenderableType:
    report = result.report
    title = Text(f"Funnel report: {report.funnel}", style="bold")
    subtitle = Text(
        f"{export}, as of {report.as_of.isoformat()}; funnel {funnel_source}", style="dim"
    )
    table = _stage_table(report)
    figures = Table.grid(padding=(0, 2))
    figures.add_column(style="bold", overflow="fold")
    figures.add_column(overflow="fold")
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
            _plain_table(
                "Time in stage (days)",
                TIME_COLUMNS,
                time_in_stage_rows(report),
                continued="Time in stage (days; continued)",
            ),
        ]
    if result.compare is not None:
        parts += [
            Text(""),
            _plain_table(
                compare_title(result),
                COMPARE_COLUMNS,
                compare_rows(result),
                give_up=_IN_PAIRS,
            ),
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


def _plain_table(
    title: str,
    header: Sequence[str],
    rows: list[list[str]],
    continued: str | None = None,
    give_up: Sequence[Sequence[int]] = (),
) -> FittedTable:
    """A table of figures per stage (or per row label): names left, figures right; a
    header of several words wraps before a column moves to the continuation."""
    columns = [
        Column(header[0], "left", folds=True),
        *(Column(name, wrap_header=True) for name in header[1:]),
    ]
    return FittedTable(
        columns, rows, title=title, continued=continued or f"{title} (continued)", give_up=give_up
    )


def _slices_table(
    result: ExportReport, rows: Sequence[SegmentFigures], cohorts: bool
) -> FittedTable:
    """Segments (or cohorts) side by side: deals, win rate, each stage's resolved rate and
    the bottleneck. With many stages, the last stages' columns continue below."""
    stages = result.report.stages
    stage_names = [stage.name for stage in stages[:-1]]
    columns = [
        Column("Cohort" if cohorts else "Segment", "left", folds=True),
        Column("Deals"),
        Column("Win"),
        *(Column(name, wrap_header=True) for name in stage_names),
        Column("Bottleneck", "left", folds=True),
    ]
    folded = None if cohorts else result.segments_folded
    table_rows: list[list[str | Text]] = []
    for row in (*rows, folded.figures) if folded else rows:
        name = row.name + (" (immature)" if cohorts and row.immature else "")
        cells = [
            Text(cell, style="bold red" if cell.endswith("!") else "")
            for cell in segment_cells(row, len(stages))
        ]
        table_rows.append(
            [name, f"{row.deals:,}", percent(row.win_rate), *cells, row.bottleneck or "–"]
        )
    title = segment_title(result, cohorts)
    return FittedTable(
        columns,
        table_rows,
        title=title,
        continued=f"{title} (continued)",
        give_up=[[index] for index in range(len(stage_names) + 2, 2, -1)],
    )


STAGE_GIVEN_UP_FIRST = (
    "Days",
    "Open value",
    "Cum.",
    "Lost",
    "Open",
    "To next",
    "Reached",
    "Plan",
    "Resolved",
)
"""The stage table's columns in the order they move to "Stages (continued)" on a narrow
terminal: Plan stays beside Resolved, the figure it is compared with, to the last."""


def _stage_table(report: Report) -> FittedTable:
    """The stage table in the order of :data:`STAGE_COLUMNS`; Resolved red below plan."""
    # A funnel without planned rates (inferred from the export, or report-only) has no
    # Plan column: a column of dashes would only suggest a plan that is missing.
    shown = [column for column in STAGE_COLUMNS if report.has_plan or column != "Plan"]
    rows: list[list[str | Text]] = []
    for row in stage_rows(report):
        cells: dict[str, str | Text] = {**row.cells}
        cells["Resolved"] = Text(row.cells["Resolved"], style="red" if row.below_plan else "")
        rows.append([cells[column] for column in shown])
    columns = [Column(shown[0], "left", folds=True), *(Column(name) for name in shown[1:])]
    give_up = [[shown.index(name)] for name in STAGE_GIVEN_UP_FIRST if name in shown]
    return FittedTable(columns, rows, continued="Stages (continued)", give_up=give_up)


_IN_PAIRS = ((5, 6), (3, 4), (1, 2))
"""The compare table's figures (then -> now) and their changes move to a continuation
together, days first: a change beside its figure, never alone."""


def _stale_table(report: Report) -> Table:
    shown = report.stale[:STALE_SHOWN]
    more = report.stale_count - len(shown)
    title = f"Stale deals: {report.stale_count:,}" + (
        f" (the {len(shown)} oldest shown)" if more else ""
    )
    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False
    )
    for column in STALE_COLUMNS:  # the figures, Days and Value, on the right, never wrapped
        if column in ("Days", "Value"):
            table.add_column(column, justify="right", no_wrap=True)
        else:  # names: on a narrow terminal they wrap, one deal per row still
            table.add_column(column, overflow="fold")
    for row in stale_rows(report):
        table.add_row(*row)
    return table
