"""A plan as CSV and as Markdown."""

from __future__ import annotations

import csv
import io

from funnelcli.plan import Plan, PlanContext
from funnelcli.render.neutralise import markdown_text, neutralise_cells
from funnelcli.render.plan_view import (
    context_lines,
    detail_lines,
    stage_rows,
    summary_sentence,
)
from funnelcli.values import format_rate

CSV_COLUMNS = (
    "stage",
    "needed",
    "conversion_to_next",
    "cumulative_to_won",
    "needed_at_confidence",
    "enter_by",
)


def plan_csv(plan: Plan, funnel_source: str = "", context: PlanContext | None = None) -> str:
    """One row per stage, stable column names; empty cells where a figure does not apply.

    It takes every plan writer's arguments (render.formats) but writes the stages alone."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    confident = plan.confidence.needed if plan.confidence else (None,) * len(plan.stages)
    for stage, at_confidence in zip(plan.stages, confident, strict=True):
        writer.writerow(
            neutralise_cells(
                (
                    stage.name,
                    stage.needed,
                    "" if stage.conversion_to_next is None else float(stage.conversion_to_next),
                    float(stage.cumulative_to_won),
                    "" if at_confidence is None else at_confidence,
                    stage.enter_by.isoformat() if stage.enter_by else "",
                )
            )
        )
    return buffer.getvalue()


def plan_markdown(plan: Plan, funnel_source: str, context: PlanContext | None = None) -> str:
    lines = [f"## Plan: {markdown_text(plan.funnel)}", "", summary_sentence(plan, context), ""]
    if context is not None:
        lines += [f"- {line}" for line in context_lines(plan, context, markdown_text)] + [""]
    confidence = plan.confidence
    header = ["Stage", "Needed", "Conversion to next", "Cumulative to won"]
    if confidence:
        header.append(f"Needed at {format_rate(confidence.level)} confidence")
    if plan.pacing:
        header.append("Enter by")
    lines += [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    # The confidence count after the rates here (the terminal shows it after Needed).
    order = ("Stage", "Needed", "To next", "To won", "At confidence", "Enter by")
    for row in stage_rows(plan, markdown_text):
        lines.append("| " + " | ".join(row[key] for key in order if key in row) + " |")
    lines.append("")
    lines += [f"- {line}" for line in detail_lines(plan, markdown_text)]
    lines += ["", f"Funnel: {markdown_text(funnel_source)}", ""]
    return "\n".join(lines)
