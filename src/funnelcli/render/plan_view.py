"""The format-neutral view of a plan: the sentences the terminal, Markdown and XLSX share.

``escape`` parameters take the writer's quoting of names from a CRM or a funnel file.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING

from funnelcli.plan import Plan, PlanContext
from funnelcli.values import format_money, format_rate, short_money

if TYPE_CHECKING:  # only for the annotation: plain plans need not import the report's code
    from funnelcli.history_plan import StageRate


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


def stage_rows(plan: Plan, escape: Callable[[str], str] = _as_is) -> list[dict[str, str]]:
    """The stage table, a cell per column: ``Stage``, ``Needed``, ``At confidence`` (with
    --confidence), ``To next``, ``To won`` and ``Enter by`` (with a deadline).

    Each format picks its order and headers; the cells are the same in all."""
    confidence = plan.confidence
    rows = []
    for index, stage in enumerate(plan.stages):
        row = {"Stage": escape(stage.name), "Needed": f"{stage.needed:,}"}
        if confidence:
            row["At confidence"] = f"{confidence.needed[index]:,}"
        row["To next"] = (
            format_rate(stage.conversion_to_next) if stage.conversion_to_next is not None else ""
        )
        row["To won"] = format_rate(stage.cumulative_to_won, 2)
        if plan.pacing:
            row["Enter by"] = stage.enter_by.isoformat() if stage.enter_by else ""
        rows.append(row)
    return rows


def stage_headers(plan: Plan) -> list[str]:
    """The stage table's headers in the terminal's order, as :func:`stage_rows` keys its
    cells, but the confidence column is named by its level (``At 90%``)."""
    headers = ["Stage", "Needed"]
    if plan.confidence:
        headers.append(f"At {format_rate(plan.confidence.level)}")
    headers += ["To next", "To won"]
    if plan.pacing:
        headers.append("Enter by")
    return headers


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
