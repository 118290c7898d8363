"""A report -> one HTML page: headline cards, the funnel as SVG, the tables, the verdict.

Everything the terminal shows is here, in the report view's words (render/report_view.py);
files are named by their name only, never by the machine's path. The page's sections are a
list (see render/html.py): a later part, such as a forecast, is one more entry.
"""

from __future__ import annotations

from collections.abc import Sequence

from funnelcli.render.html import (
    Card,
    Cell,
    Chart,
    Column,
    Page,
    Section,
    Table,
    card_rows,
    cards_from,
    generated_at,
    render_page,
)
from funnelcli.render.neutralise import forwarded_name
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
from funnelcli.render.svg import funnel_chart
from funnelcli.report_figures import Report
from funnelcli.results import ExportReport
from funnelcli.segments import SegmentFigures

BELOW_PLAN = "▼"
"""Marks a resolved conversion below its planned rate (in words for screen readers, and in
the table's legend: colour is never the only sign)."""

DEAL_FIGURES = frozenset({"Won", "Lost", "Open", "Win rate", "Cycle days (won)"})
"""Key figures that count deals: the first row of cards; money figures make the second."""

STAGE_NOTES = (
    "To next: of the deals that reached the stage, the share that reached the next one. "
    "Resolved: the same among the deals that have left the stage (open deals do not count). "
    "Cum.: the share of the first stage's deals that reached it. Days: median days in the "
    "stage."
)


def report_html(result: ExportReport, funnel_source: str, export: str) -> str:
    """The report as one self-contained HTML page."""
    return render_page(report_page(result, funnel_source, export))


def report_page(result: ExportReport, funnel_source: str, export: str) -> Page:
    report = result.report
    name = forwarded_name(export)
    facts = (
        ("Export", name),
        ("Funnel", forwarded_name(funnel_source)),
        ("As of", report.as_of.isoformat()),
        ("Generated", generated_at()),
    )
    return Page(
        title=f"Funnel report: {report.funnel}",
        subtitle=provenance_sentence(result, name) or "",
        facts=facts,
        sections=report_sections(result),
        footer=("Made by funnelcli: funnel report.",),
    )


def report_sections(result: ExportReport) -> tuple[Section, ...]:
    """The page's parts in reading order: warnings first, then the verdict, then detail."""
    report = result.report
    sections = []
    warning = skipped_warning(result)
    if warning:
        sections.append(Section("callout", "Warning", warning, "warning"))
    if result.alerts and result.alerts.fired:
        sections += [
            Section("callout", "Alert", alert.message, "alert") for alert in result.alerts.fired
        ]
    sections.append(Section("cards", "Key figures", _card_rows(report)))
    sections.append(Section("callout", "Bottleneck", bottleneck_sentence(report)))
    sections.append(Section("chart", "The funnel", _funnel(report)))
    sections.append(Section("table", "Stages", _stage_table(report)))
    if shows_time_in_stage(report):
        time_columns = _columns(TIME_COLUMNS)
        rows = time_in_stage_rows(report)
        sections.append(
            Section(
                "table", "Time in stage", Table("Time in stage (days)", time_columns, _cells(rows))
            )
        )
    if result.compare is not None:
        table = Table(
            compare_title(result), _columns(COMPARE_COLUMNS), _cells(compare_rows(result))
        )
        sections.append(Section("table", "Then and now", table))
    if report.stale:
        sections.append(Section("table", "Stale deals", _stale_table(report)))
    for slices, cohorts in ((result.segments, False), (result.cohorts, True)):
        if slices is not None:
            sections.append(Section("table", "Slices", _slices_table(result, slices, cohorts)))
    sources = [history_sentence(result, forwarded_name), rows_sentence(result)]
    sections.append(Section("sentences", "Rows read", tuple(filter(None, sources))))
    return tuple(sections)


def _card_rows(report: Report) -> tuple[tuple[Card, ...], ...]:
    cards = cards_from(key_figures(report))
    deals = tuple(card for card in cards if card.label in DEAL_FIGURES)
    money = tuple(card for card in cards if card.label not in DEAL_FIGURES)
    return tuple(row for group in (deals, money) for row in card_rows(group))


def _funnel(report: Report) -> Chart:
    stages = report.stages
    notes = [f"↓ {percent(stage.conversion_to_next)} to next" for stage in stages[:-1]]
    listed = "; ".join(
        f"{stage.name} {stage.reached:,}"
        + (f" ({percent(before.conversion_to_next)} of {before.name})" if index else "")
        for index, (stage, before) in enumerate(zip(stages, (stages[0], *stages[:-1]), strict=True))
    )
    return funnel_chart(
        "Deals that reached each stage",
        f"Deals that reached each stage: {listed}. The stage table below has every figure.",
        [stage.name for stage in stages],
        [stage.reached for stage in stages],
        notes,
    )


def _stage_table(report: Report) -> Table:
    # A funnel without planned rates (inferred from the export, or report-only) has no
    # Plan column: a column of dashes would only suggest a plan that is missing.
    names = [name for name in STAGE_COLUMNS if report.has_plan or name != "Plan"]
    rows = []
    marked = False
    for row in stage_rows(report):
        cells = []
        for name in names:
            text = row.cells[name]
            if name == "Resolved" and row.below_plan:
                cells.append(Cell(text, BELOW_PLAN, "below plan"))
                marked = True
            else:
                cells.append(Cell(text))
        rows.append(tuple(cells))
    notes = [STAGE_NOTES]
    if report.has_plan:
        notes.insert(
            0,
            f"{BELOW_PLAN} below plan: the stage's resolved conversion is under its planned "
            "rate (Plan)." + ("" if marked else " No stage is."),
        )
    return Table("Stages", _columns(names), tuple(rows), tuple(notes))


def _stale_table(report: Report) -> Table:
    shown = report.stale[:STALE_SHOWN]
    more = report.stale_count - len(shown)
    caption = f"Stale deals: {report.stale_count:,}" + (
        f" (the {len(shown)} oldest shown)" if more else ""
    )
    columns = tuple(Column(name, name in ("Days", "Value")) for name in STALE_COLUMNS)
    return Table(caption, columns, _cells(stale_rows(report)))


def _slices_table(result: ExportReport, rows: Sequence[SegmentFigures], cohorts: bool) -> Table:
    stages = result.report.stages
    columns = (
        Column("Cohort" if cohorts else "Segment", numeric=False),
        Column("Deals"),
        Column("Win"),
        *(Column(stage.name) for stage in stages[:-1]),
        Column("Bottleneck", numeric=False),
    )
    folded = None if cohorts else result.segments_folded
    shown = (*rows, folded.figures) if folded else tuple(rows)
    body = []
    for row in shown:
        name = row.name + (" (immature)" if cohorts and row.immature else "")
        cells = [Cell(cell, strong=cell.endswith("!")) for cell in segment_cells(row, len(stages))]
        body.append(
            (
                Cell(name),
                Cell(f"{row.deals:,}"),
                Cell(percent(row.win_rate)),
                *cells,
                Cell(row.bottleneck or "–"),
            )
        )
    notes = [slices_footnote(result.report)]
    sentence = None if cohorts else folded_sentence(result)
    if sentence:
        notes.append(sentence)
    strong = frozenset({len(body) - 1}) if folded else frozenset()
    caption = segment_title(result, cohorts)
    return Table(caption, columns, tuple(body), tuple(notes), strong)


def _columns(names: Sequence[str]) -> tuple[Column, ...]:
    """The first column names the row (text); the others hold figures."""
    return tuple(Column(name, numeric=index > 0) for index, name in enumerate(names))


def _cells(rows: Sequence[Sequence[str]]) -> tuple[tuple[Cell, ...], ...]:
    return tuple(tuple(Cell(text) for text in row) for row in rows)
