"""A plan -> Rich renderables: the stage table, funnel chart, schedule and sensitivity."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from funnelcli.plan import Plan, PlanContext
from funnelcli.render.console import FunnelChart
from funnelcli.render.plan_view import (
    context_lines,
    detail_lines,
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
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("Stage")
    table.add_column("Needed", justify="right")
    confidence = plan.confidence
    if confidence:
        table.add_column(f"At {format_rate(confidence.level)}", justify="right")
    table.add_column("To next", justify="right")
    table.add_column("To won", justify="right")
    if plan.pacing:
        table.add_column("Enter by", justify="right")
    for row in stage_rows(plan):
        table.add_row(*row.values())  # in the order of the columns added above
    parts: list[RenderableType] = [
        title,
        Text(summary_sentence(plan, context)),
        Text(""),
        table,
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


def _schedule_table(plan: Plan) -> Table:
    assert plan.pacing is not None
    table = Table(
        title=f"Leads to add per {plan.pacing.per}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    table.add_column(plan.pacing.per.capitalize())
    table.add_column("From")
    table.add_column("To")
    table.add_column("Leads", justify="right")
    for row in plan.pacing.schedule:
        table.add_row(row.label, row.start.isoformat(), row.end.isoformat(), f"{row.leads:,}")
    return table


def _sensitivity_table(plan: Plan) -> Table:
    table = Table(
        title="If one rate rose 5 points",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    table.add_column("Stage")
    table.add_column("Rate", justify="right")
    table.add_column("Leads needed", justify="right")
    table.add_column("Saved", justify="right")
    lever = plan.lever
    for row in plan.sensitivity:
        style = "bold green" if lever is not None and row.stage == lever.stage else None
        table.add_row(
            row.stage,
            f"{format_rate(row.current_rate)} -> {format_rate(row.raised_rate)}",
            f"{row.leads_needed:,}",
            f"{row.leads_saved:,}",
            style=style,
        )
    return table
