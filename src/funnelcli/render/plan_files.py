"""A plan as JSON (the contract), CSV and Markdown.

The JSON keys are a contract, documented in the README and pinned by
``tests/test_plan_files.py``; bump ``schema_version`` when one changes meaning.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from funnelcli.plan import Plan
from funnelcli.render.neutralise import neutralise_cells
from funnelcli.render.numbers import money, number
from funnelcli.values import format_money, format_rate, short_money

SCHEMA_VERSION = 1


def plan_to_dict(plan: Plan, funnel_source: str) -> dict[str, Any]:
    confidence = plan.confidence
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "plan",
        "funnel": plan.funnel,
        "funnel_source": funnel_source,
        "currency": plan.currency,
        "target_revenue": money(plan.target_revenue),
        "average_deal_value": money(plan.average_deal_value),
        "deals_needed": plan.deals_needed,
        "leads_needed": plan.leads_needed,
        "stages": [
            {
                "name": stage.name,
                "needed": stage.needed,
                "conversion_to_next": number(stage.conversion_to_next),
                "cumulative_to_won": float(stage.cumulative_to_won),
                "enter_by": stage.enter_by.isoformat() if stage.enter_by else None,
            }
            for stage in plan.stages
        ],
        "confidence": None
        if confidence is None
        else {
            "level": float(confidence.level),
            "leads_needed": confidence.leads_needed,
            "stages": [
                {"name": stage.name, "needed": needed}
                for stage, needed in zip(plan.stages, confidence.needed, strict=True)
            ],
        },
        "budget": _budget(plan),
        "pacing": _pacing(plan),
        "sensitivity": [
            {
                "stage": row.stage,
                "current_rate": float(row.current_rate),
                "raised_rate": float(row.raised_rate),
                "leads_needed": row.leads_needed,
                "leads_saved": row.leads_saved,
                "budget_saved": money(row.budget_saved),
            }
            for row in plan.sensitivity
        ],
        "lever": plan.lever.stage if plan.lever else None,
    }


def _budget(plan: Plan) -> dict[str, Any] | None:
    budget = plan.budget
    if budget is None:
        return None
    return {
        "cost_per_lead": money(budget.cost_per_lead),
        "lead_budget": money(budget.lead_budget),
        "cost_per_won_deal": money(budget.cost_per_won_deal),
        "lead_budget_at_confidence": money(budget.lead_budget_at_confidence),
    }


def _pacing(plan: Plan) -> dict[str, Any] | None:
    pacing = plan.pacing
    if pacing is None:
        return None
    return {
        "deadline": pacing.deadline.isoformat(),
        "as_of": pacing.as_of.isoformat(),
        "cycle_days": pacing.cycle_days,
        "last_lead_entry": pacing.last_lead_entry.isoformat(),
        "window_start": pacing.window_start.isoformat(),
        "window_days": pacing.window_days,
        "feasible": pacing.feasible,
        "per": pacing.per,
        "leads_per_period": pacing.average_per_period,
        "schedule": [
            {
                "period": row.label,
                "start": row.start.isoformat(),
                "end": row.end.isoformat(),
                "leads": row.leads,
            }
            for row in pacing.schedule
        ],
    }


def plan_json(plan: Plan, funnel_source: str) -> str:
    return json.dumps(plan_to_dict(plan, funnel_source), indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = (
    "stage",
    "needed",
    "conversion_to_next",
    "cumulative_to_won",
    "needed_at_confidence",
    "enter_by",
)


def plan_csv(plan: Plan) -> str:
    """One row per stage, stable column names; empty cells where a figure does not apply."""
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
                    "" if stage.conversion_to_next is None else number(stage.conversion_to_next),
                    float(stage.cumulative_to_won),
                    "" if at_confidence is None else at_confidence,
                    stage.enter_by.isoformat() if stage.enter_by else "",
                )
            )
        )
    return buffer.getvalue()


def summary_sentence(plan: Plan) -> str:
    """The plan in one sentence, as the terminal and Markdown both say it."""
    target = short_money(plan.target_revenue, plan.currency)
    deal = format_money(plan.average_deal_value, plan.currency)
    deals = "won deal" if plan.deals_needed == 1 else "won deals"
    return (
        f"To book {target} at {deal} per deal you need {plan.deals_needed:,} {deals}, "
        f"which takes {plan.leads_needed:,} leads at these rates."
    )


def plan_markdown(plan: Plan, funnel_source: str) -> str:
    lines = [f"## Plan: {plan.funnel}", "", summary_sentence(plan), ""]
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
    for index, stage in enumerate(plan.stages):
        cells = [
            stage.name,
            f"{stage.needed:,}",
            format_rate(stage.conversion_to_next) if stage.conversion_to_next is not None else "",
            format_rate(stage.cumulative_to_won, 2),
        ]
        if confidence:
            cells.append(f"{confidence.needed[index]:,}")
        if plan.pacing:
            cells.append(stage.enter_by.isoformat() if stage.enter_by else "")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {line}" for line in detail_lines(plan)]
    lines += ["", f"Funnel: {funnel_source}", ""]
    return "\n".join(lines)


def detail_lines(plan: Plan) -> list[str]:
    """Budget, pacing and lever in plain sentences (shared by the terminal and Markdown)."""
    lines = []
    if plan.confidence:
        level = format_rate(plan.confidence.level)
        lines.append(
            f"To reach {plan.deals_needed:,} won deals with {level} confidence: "
            f"{plan.confidence.leads_needed:,} leads."
        )
    if plan.budget:
        budget = plan.budget
        text = (
            f"Lead budget: {format_money(budget.lead_budget, plan.currency)} "
            f"at {format_money(budget.cost_per_lead, plan.currency)} per lead, "
            f"{format_money(budget.cost_per_won_deal, plan.currency)} per won deal"
        )
        if budget.lead_budget_at_confidence is not None:
            text += f"; {format_money(budget.lead_budget_at_confidence, plan.currency)} at the confidence level"
        lines.append(text + ".")
    if plan.pacing:
        lines.append(pacing_sentence(plan))
    lever = plan.lever
    if lever:
        saving = f"{lever.leads_saved:,} fewer leads"
        if lever.budget_saved is not None:
            saving += f", {format_money(lever.budget_saved, plan.currency)} saved"
        lines.append(
            f"Lever to pull first: {lever.stage} "
            f"({format_rate(lever.current_rate)} -> {format_rate(lever.raised_rate)}: {saving})."
        )
    return lines


def pacing_sentence(plan: Plan) -> str:
    pacing = plan.pacing
    assert pacing is not None
    if not pacing.feasible:
        return (
            f"Too late for {pacing.deadline.isoformat()}: with a {pacing.cycle_days}-day cycle "
            f"the last lead had to enter by {pacing.last_lead_entry.isoformat()}."
        )
    return (
        f"Pacing: leads enter from {pacing.window_start.isoformat()} to {pacing.last_lead_entry.isoformat()} "
        f"({pacing.window_days} days; {pacing.cycle_days}-day cycle to close by {pacing.deadline.isoformat()}): "
        f"about {pacing.average_per_period:,} per {pacing.per}."
    )
