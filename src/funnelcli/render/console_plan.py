"""A plan -> Rich renderables: the stage table, funnel chart, schedule and sensitivity."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from funnelcli.plan import Plan, PlanContext
from funnelcli.render.console import Column, FittedTable, FunnelChart
from funnelcli.render.plan_view import (
    context_lines,
    detail_lines,
    stage_headers,
    stage_rows,
    summary_sentence,
)
from funnelcli.values import format_rate


def plan_renderable(
    plan: Plan, funnel_source: str, context: PlanContext | None = None
) -> RenderableType:
    title = Text(f"Plan: {plan.funnel}", style="bold")
    if plan.funnel_is_default:
        title.append("  (write your own with 'funnel init')", style="dim")
    parts: list[RenderableType] = [
        title,
        Text(summary_sentence(plan, context)),
        Text(""),
        _stage_table(plan),
        Text(""),
        FunnelChart([stage.name for stage in plan.stages], [stage.needed for stage in plan.stages]),
        Text(""),
    ]
    parts += [Text(line) for line in detail_lines(plan)]
    if context is not None:
        parts += [Text(line) for line in context_lines(plan, context)]
    if plan.pacing and plan.pacing.schedule:
        parts += [Text(""), _schedule_table(plan)]
    if plan.sensitivity:
        parts += [Text(""), _sensitivity_table(plan)]
    parts += [Text(""), Text(f"Funnel: {funnel_source}", style="dim")]
    return Group(*parts)


def _stage_table(plan: Plan) -> FittedTable:
    """Leads needed per stage (and at the confidence level), the rates, the enter-by dates."""
    headers = stage_headers(plan)
    # stage_rows gives the cells in the order of these headers.
    rows = [list(row.values()) for row in stage_rows(plan)]
    columns = [Column("Stage", "left", folds=True), *(Column(name) for name in headers[1:])]
    return FittedTable(columns, rows, continued="Stages (continued)")


def _schedule_table(plan: Plan) -> FittedTable:
    assert plan.pacing is not None
    title = f"Leads to add per {plan.pacing.per}"
    columns = [
        Column(plan.pacing.per.capitalize(), "left", folds=True),
        Column("From", "left"),
        Column("To", "left"),
        Column("Leads"),
    ]
    rows = [
        [row.label, row.start.isoformat(), row.end.isoformat(), f"{row.leads:,}"]
        for row in plan.pacing.schedule
    ]
    return FittedTable(columns, rows, title=title, continued=f"{title} (continued)")


def _sensitivity_table(plan: Plan) -> FittedTable:
    title = "If one rate rose 5 points"
    columns = [
        Column("Stage", "left", folds=True),
        Column("Rate"),
        Column("Leads needed"),
        Column("Saved"),
    ]
    lever = plan.lever
    rows = [
        [
            row.stage,
            f"{format_rate(row.current_rate)} -> {format_rate(row.raised_rate)}",
            f"{row.leads_needed:,}",
            f"{row.leads_saved:,}",
        ]
        for row in plan.sensitivity
    ]
    styles = [
        "bold green" if lever is not None and row.stage == lever.stage else None
        for row in plan.sensitivity
    ]
    return FittedTable(
        columns, rows, title=title, continued=f"{title} (continued)", row_styles=styles
    )
