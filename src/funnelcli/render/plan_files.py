"""A plan as JSON (the contract), CSV and Markdown.

The JSON keys are a contract, documented in the README and pinned by
``tests/test_plan_files.py``; bump ``schema_version`` when one changes meaning.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from funnelcli.plan import Plan, PlanContext
from funnelcli.render.numbers import money, rate
from funnelcli.values import format_money, format_rate, short_money

if TYPE_CHECKING:  # only for the annotation: plain plans need not import the report's code
    from funnelcli.history_plan import StageRate

SCHEMA_VERSION = 1


def plan_to_dict(
    plan: Plan, funnel_source: str, context: PlanContext | None = None
) -> dict[str, Any]:
    context = context or PlanContext()
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
                "conversion_to_next": rate(stage.conversion_to_next),
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
        "rates_from": context.rates_from,
        "rates_notes": list(context.notes),
        "pipeline_credit": _credit(context),
        "rates": [_rate(row) for row in context.rates] if context.rates_from else None,
    }


def _rate(row: StageRate) -> dict[str, Any]:
    """A rate from the export: its source, and for a measured one its deals and interval."""
    return {
        "stage": row.stage,
        "next_stage": row.next_stage,
        "rate": float(row.rate),
        "from": row.source,
        "moved_on": row.moved_on,
        "resolved_deals": row.resolved,
        "interval_90": list(row.interval) if row.interval is not None else None,
        "few_resolved_deals": row.few,
    }


def _credit(context: PlanContext) -> dict[str, Any] | None:
    credit = context.credit
    if credit is None:
        return None
    return {
        "export": context.credit_from,
        "target_revenue": money(credit.target_revenue),
        "booked": money(credit.booked),
        "remaining_target": money(credit.remaining_target),
        "deals_needed": credit.deals_needed,
        "open_deals": credit.open_deals,
        "expected_deals_from_pipeline": float(credit.expected_from_pipeline),
        "expected_revenue_from_pipeline": money(credit.expected_revenue_from_pipeline),
        "gap_deals": credit.gap_deals,
        "gap_revenue": money(credit.gap_revenue),
        "open_value": money(credit.open_value),
        "coverage": rate(credit.coverage),
        "win_rate": rate(credit.win_rate),
        "coverage_needed": rate(credit.coverage_needed),
    }


def _as_is(text: str) -> str:
    return text


def context_lines(
    plan: Plan, context: PlanContext, escape: Callable[[str], str] = _as_is
) -> list[str]:
    """Where the rates came from and what the pipeline brings, in sentences.

    ``escape`` quotes file names and notes (which name CRM values) for the writer."""
    lines = []
    if context.rates_from and any(row.source not in _MEASURED for row in context.rates):
        lines.append(
            f"Rates and deal value from {escape(context.rates_from)}: the average won value; "
            "rates as the notes say (where deals were lost is unknown)."
        )
    elif context.rates_from:
        lines.append(
            f"Rates and deal value measured from {escape(context.rates_from)} (resolved conversion, average won value)."
        )
    lines += [escape(line) for line in rate_lines(context.rates)]
    lines += [escape(note) for note in context.notes]
    credit = context.credit
    if credit is not None:
        currency = plan.currency
        expected = f"{float(credit.expected_from_pipeline):,.1f}"
        gap_deals = "deal" if credit.gap_deals == 1 else "deals"
        text = (
            f"Pipeline credit from {escape(str(context.credit_from))}: remaining target "
            f"{format_money(credit.remaining_target, currency)} = {credit.deals_needed:,} deals; "
            f"{credit.open_deals:,} open deals are expected to win {expected}"
        )
        if credit.expected_revenue_from_pipeline is not None:
            text += (
                f" (about {format_money(round(credit.expected_revenue_from_pipeline), currency)})"
            )
        text += f"; gap {credit.gap_deals:,} {gap_deals}, {plan.leads_needed:,} new leads needed."
        lines.append(text)
        if credit.coverage is not None and credit.coverage_needed is not None:
            lines.append(
                f"Pipeline coverage {float(credit.coverage):.2f}x of the remaining target; "
                f"at a {format_rate(credit.win_rate or Fraction(0))} win rate you need "
                f"{float(credit.coverage_needed):.2f}x."
            )
    return lines


_MEASURED = frozenset({"measured", "planned"})
"""Rate sources (history_plan.RATE_*) that keep the usual "measured" sentence."""


def rate_lines(rates: tuple[StageRate, ...]) -> list[str]:
    """One line per rate the export measured: the rate, its interval and its deals."""
    from funnelcli.history_plan import interval_text  # plans from history only

    lines = []
    for row in rates:
        if row.interval is None or row.resolved is None:
            continue
        what = (
            f"{row.moved_on or 0:,} won of {row.resolved:,} closed: the win rate"
            if row.source == "win rate"
            else f"{row.moved_on or 0:,} of {row.resolved:,} resolved deals moved on"
        )
        lines.append(
            f"{row.stage} to {row.next_stage}: {format_rate(row.rate)} "
            f"({what}; {interval_text(row)})."
        )
    return lines


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
    span = pacing.per_period_range
    return {
        "deadline": pacing.deadline.isoformat(),
        "as_of": pacing.as_of.isoformat(),
        "cycle_days": pacing.cycle_days,
        "last_lead_entry": pacing.last_lead_entry.isoformat(),
        "window_start": pacing.window_start.isoformat(),
        "window_days": pacing.window_days,
        "feasible": pacing.feasible,
        "per": pacing.per,
        # The count paced (the leads at --confidence when asked), and the fewest and most
        # of the schedule's whole periods: what the summary sentence says.
        "leads": pacing.leads if pacing.feasible else None,
        "paced_at_confidence": float(pacing.level) if pacing.level is not None else None,
        "leads_per_period": span[1] if span else None,
        "leads_per_period_least": span[0] if span else None,
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


def plan_json(plan: Plan, funnel_source: str, context: PlanContext | None = None) -> str:
    data = plan_to_dict(plan, funnel_source, context)
    return json_text(data) + "\n"


# json_text writes what json.dumps(value, indent=2, ensure_ascii=False) writes, without
# importing json: its decoder and six regular expressions are 0.9 ms of `funnel plan
# --format json`, which is held to 1.3x typer's import time. tests/test_startup_shortcuts.py
# checks that the two write the same text for any data json takes.
_JSON_ESCAPES = {
    **{code: f"\\u{code:04x}" for code in range(0x20)},
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    ord("\b"): "\\b",
    ord("\f"): "\\f",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
}


def json_text(value: object, indent: str = "") -> str:
    """``value`` as ``json.dumps(value, indent=2, ensure_ascii=False)`` writes it.

    ``indent`` is that of the line ``value`` is on: the members go two spaces further.
    """
    if isinstance(value, str):
        return '"' + value.translate(_JSON_ESCAPES) + '"'
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _json_float(value)
    inner = indent + "  "
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        items = ",\n".join(inner + json_text(item, inner) for item in value)
        return f"[\n{items}\n{indent}]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        members = ",\n".join(
            f"{inner}{_json_key(key)}: {json_text(item, inner)}" for key, item in value.items()
        )
        return f"{{\n{members}\n{indent}}}"
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _json_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _json_key(key: object) -> str:
    """A key as json writes it: a text; a number, true, false or null in quotes."""
    if isinstance(key, str):
        return json_text(key)
    if key is None or isinstance(key, int | float):
        return '"' + json_text(key) + '"'
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


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
    import csv  # here, as the neutraliser: a JSON or table plan need not load them

    from funnelcli.render.neutralise import neutralise_cells

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


def summary_sentence(plan: Plan, context: PlanContext | None = None) -> str:
    """The plan in one sentence, as the terminal and Markdown both say it."""
    deal = format_money(plan.average_deal_value, plan.currency)
    credit = context.credit if context is not None else None
    if credit is not None:
        target = short_money(credit.target_revenue, plan.currency)
        if credit.booked:
            remaining = short_money(credit.remaining_target, plan.currency)
            target += f" ({short_money(credit.booked, plan.currency)} booked, {remaining} to go)"
        expected = f"{float(credit.expected_from_pipeline):,.1f}"
        if credit.gap_deals == 0:
            return (
                f"To book {target} at {deal} per deal you need {credit.deals_needed:,} won deals; "
                f"the open pipeline is expected to win {expected}: no new leads are needed."
            )
        return (
            f"To book {target} at {deal} per deal you need {credit.deals_needed:,} won deals; "
            f"the open pipeline is expected to win {expected}, so {credit.gap_deals:,} more must "
            f"come from {plan.leads_needed:,} new leads at these rates."
        )
    target = short_money(plan.target_revenue, plan.currency)
    deals = "won deal" if plan.deals_needed == 1 else "won deals"
    return (
        f"To book {target} at {deal} per deal you need {plan.deals_needed:,} {deals}, "
        f"which takes {plan.leads_needed:,} leads at these rates."
    )


def plan_markdown(plan: Plan, funnel_source: str, context: PlanContext | None = None) -> str:
    from funnelcli.render.neutralise import markdown_text  # Markdown only: not for plan JSON

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
    for index, stage in enumerate(plan.stages):
        cells = [
            markdown_text(stage.name),
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
    lines += [f"- {line}" for line in detail_lines(plan, markdown_text)]
    lines += ["", f"Funnel: {markdown_text(funnel_source)}", ""]
    return "\n".join(lines)


def detail_lines(plan: Plan, escape: Callable[[str], str] = _as_is) -> list[str]:
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
            f"Lever to pull first: {escape(lever.stage)} "
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
    span = pacing.per_period_range
    if span is None:  # no full month (week) in the window: a rate per month would be false
        rate = f"all {pacing.leads:,} in these {pacing.window_days} days (no full {pacing.per} in the window)"
    else:
        least, most = span
        count = f"{least:,}" if least == most else f"{least:,} to {most:,}"
        rate = f"{count} per full {pacing.per}"
    paced = f"{pacing.leads:,} leads"
    if pacing.level is not None:
        paced += f" (the {format_rate(pacing.level)} confidence count)"
    return (
        f"Pacing: {paced} enter from {pacing.window_start.isoformat()} to {pacing.last_lead_entry.isoformat()} "
        f"({pacing.window_days} days; {pacing.cycle_days}-day cycle to close by {pacing.deadline.isoformat()}): "
        f"{rate}."
    )
