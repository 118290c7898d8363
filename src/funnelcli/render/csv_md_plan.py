"""A plan as CSV and as Markdown."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from funnelcli.plan import Plan, PlanContext
from funnelcli.render.neutralise import (
    forwarded_context,
    forwarded_name,
    markdown_text,
    neutralise_cells,
)
from funnelcli.render.plan_view import (
    context_lines,
    detail_lines,
    stage_headers,
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
    """The plan as the terminal shows it, in Markdown for a chat, an issue or a mail: the
    stage table, the sentences, the schedule and the sensitivity table.

    Files go by their name, never their path; names from the funnel file are escaped
    (:func:`markdown_text`), so they can neither break a table nor become markup."""
    title = f"## Plan: {_md(plan.funnel)}"
    if plan.funnel_is_default:
        title += " (write your own with `funnel init`)"
    lines = [title, "", summary_sentence(plan, context), ""]
    if context is not None:
        lines += [f"- {line}" for line in context_lines(plan, forwarded_context(context), _md)] + [
            ""
        ]
    lines += ["### Stages", "", *_table(stage_headers(plan), _stage_cells(plan)), ""]
    lines += [f"- {line}" for line in detail_lines(plan, _md)]
    if plan.pacing and plan.pacing.schedule:
        lines += ["", f"### Leads to add per {plan.pacing.per}", ""]
        header = [plan.pacing.per.capitalize(), "From", "To", "Leads"]
        rows = [
            [row.label, row.start.isoformat(), row.end.isoformat(), f"{row.leads:,}"]
            for row in plan.pacing.schedule
        ]
        lines += _table(header, rows, text_columns=3)
    if plan.sensitivity:
        lines += ["", "### If one rate rose 5 points", ""]
        rows = [
            [
                _md(row.stage),
                f"{format_rate(row.current_rate)} -> {format_rate(row.raised_rate)}",
                f"{row.leads_needed:,}",
                f"{row.leads_saved:,}",
            ]
            for row in plan.sensitivity
        ]
        lines += _table(["Stage", "Rate", "Leads needed", "Saved"], rows)
    lines += ["", f"Funnel: {_md(forwarded_name(funnel_source))}", ""]
    return "\n".join(lines)


_STAGE_ORDER = ("Stage", "Needed", "At confidence", "To next", "To won", "Enter by")
"""The stage table's cells (plan_view.stage_rows) in the terminal's order."""


def _stage_cells(plan: Plan) -> list[list[str]]:
    return [[row[key] for key in _STAGE_ORDER if key in row] for row in stage_rows(plan, _md)]


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, text_columns: int = 1
) -> list[str]:
    """A pipe table: the first ``text_columns`` left-aligned, the figures right-aligned."""
    aligns = [":---" if index < text_columns else "---:" for index in range(len(header))]
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(aligns) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


_md = markdown_text
"""Names from a funnel file or the command line, in a Markdown line or cell."""
