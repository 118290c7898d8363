"""A plan -> one HTML page: the counts needed as a funnel, the schedule, the sensitivity.

The sentences are the plan view's (render/plan_view.py), the same words as the terminal;
files are named by their name only. See render/html.py for the page's shape.
"""

from __future__ import annotations

from funnelcli.plan import Plan, PlanContext
from funnelcli.render.html import (
    Card,
    Cell,
    Chart,
    Column,
    Page,
    Section,
    Table,
    card_rows,
    generated_at,
    render_page,
)
from funnelcli.render.neutralise import forwarded_context, forwarded_name
from funnelcli.render.plan_view import context_lines, detail_lines, stage_rows, summary_sentence
from funnelcli.render.svg import column_chart, funnel_chart
from funnelcli.values import format_money, format_rate, short_money

LEVER = "★"
"""Marks the sensitivity row of the lever to pull first (said in words too)."""


def plan_html(plan: Plan, funnel_source: str, context: PlanContext | None = None) -> str:
    """The plan as one self-contained HTML page."""
    return render_page(plan_page(plan, funnel_source, context))


def plan_page(plan: Plan, funnel_source: str, context: PlanContext | None = None) -> Page:
    facts = [("Funnel", forwarded_name(funnel_source))]
    if plan.pacing is not None:
        facts.append(("As of", plan.pacing.as_of.isoformat()))
        facts.append(("Deadline", plan.pacing.deadline.isoformat()))
    facts.append(("Generated", generated_at()))
    named = forwarded_context(context) if context is not None else None
    subtitle = summary_sentence(plan, named)
    if plan.funnel_is_default:
        subtitle += " The funnel is the built-in default: write your own with 'funnel init'."
    return Page(
        title=f"Plan: {plan.funnel}",
        subtitle=subtitle,
        facts=tuple(facts),
        sections=plan_sections(plan, named),
        footer=("Made by funnelcli: funnel plan.",),
    )


def plan_sections(plan: Plan, context: PlanContext | None = None) -> tuple[Section, ...]:
    sections = [
        Section("cards", "Key figures", card_rows(_cards(plan, context))),
        Section("chart", "What the target needs at each stage", _funnel(plan)),
        Section("table", "Stages", _stage_table(plan)),
    ]
    lines = detail_lines(plan) + (context_lines(plan, context) if context is not None else [])
    if lines:
        sections.append(Section("sentences", "How to get there", tuple(lines)))
    pacing = plan.pacing
    if pacing is not None and pacing.schedule:
        sections.append(Section("chart", f"Leads to add per {pacing.per}", _schedule_chart(plan)))
        sections.append(Section("table", "The schedule", _schedule_table(plan)))
    if plan.sensitivity:
        sections.append(Section("table", "Sensitivity", _sensitivity_table(plan)))
    return tuple(sections)


def _cards(plan: Plan, context: PlanContext | None = None) -> tuple[Card, ...]:
    currency = plan.currency
    per_deal = f"at {format_money(plan.average_deal_value, currency)} per deal"
    credit = context.credit if context is not None else None
    if credit is None:
        cards = [
            Card("Target", short_money(plan.target_revenue, currency), per_deal),
            Card("Won deals needed", f"{plan.deals_needed:,}"),
            Card("Leads needed", f"{plan.leads_needed:,}", "at these rates"),
        ]
    else:  # the plan is for the gap the open pipeline leaves: the target is the whole
        booked = f"{short_money(credit.booked, currency)} booked" if credit.booked else ""
        expected = f"{float(credit.expected_from_pipeline):,.1f}"
        cards = [
            Card("Target", short_money(credit.target_revenue, currency), booked or per_deal),
            Card(
                "Won deals needed",
                f"{credit.deals_needed:,}",
                f"the open pipeline is expected to win {expected}",
            ),
            Card(
                "New leads needed",
                f"{plan.leads_needed:,}",
                f"for {credit.gap_deals:,} more won {'deal' if credit.gap_deals == 1 else 'deals'}",
            ),
        ]
    if plan.confidence is not None:
        level = format_rate(plan.confidence.level)
        cards.append(Card(f"Leads at {level} confidence", f"{plan.confidence.leads_needed:,}"))
    if plan.budget is not None:
        budget = plan.budget
        detail = f"at {format_money(budget.cost_per_lead, currency)} per lead"
        if budget.lead_budget_at_confidence is not None:
            detail = f"{format_money(budget.lead_budget_at_confidence, currency)} at the confidence level"
        cards.append(Card("Lead budget", format_money(budget.lead_budget, currency), detail))
    if plan.pacing is not None:
        pacing = plan.pacing
        cards.append(
            Card(
                "Last lead enters by",
                pacing.last_lead_entry.isoformat(),
                f"{pacing.cycle_days}-day cycle" + ("" if pacing.feasible else ": too late"),
            )
        )
    return tuple(cards)


def _funnel(plan: Plan) -> Chart:
    stages = plan.stages
    notes = [
        f"↓ {format_rate(stage.conversion_to_next)} to next"
        for stage in stages[:-1]
        if stage.conversion_to_next is not None
    ]
    listed = "; ".join(f"{stage.name} {stage.needed:,}" for stage in stages)
    return funnel_chart(
        "Count needed at each stage",
        f"Count needed at each stage to book the target: {listed}. The stage table below has "
        "every figure.",
        [stage.name for stage in stages],
        [stage.needed for stage in stages],
        notes,
    )


def _stage_table(plan: Plan) -> Table:
    rows = stage_rows(plan)
    names = list(rows[0]) if rows else ["Stage", "Needed"]
    headers = (
        {"At confidence": f"At {format_rate(plan.confidence.level)}"} if plan.confidence else {}
    )
    columns = tuple(Column(headers.get(name, name), numeric=name != "Stage") for name in names)
    body = tuple(tuple(Cell(row[name]) for name in names) for row in rows)
    notes = (
        "Needed: the count whose expected yield reaches the won deals needed"
        + (
            f"; At {format_rate(plan.confidence.level)}: the count that reaches them with that probability"
            if plan.confidence
            else ""
        )
        + ". To won: the chance a deal at the stage is won."
        + (
            " Enter by: the last day a deal can enter the stage and still close by the deadline."
            if plan.pacing
            else ""
        ),
    )
    return Table("Stages", columns, body, notes)


def _schedule_chart(plan: Plan) -> Chart:
    assert plan.pacing is not None
    schedule = plan.pacing.schedule
    listed = "; ".join(f"{row.label} {row.leads:,}" for row in schedule)
    return column_chart(
        f"Leads to add per {plan.pacing.per}",
        f"Leads to add per {plan.pacing.per}: {listed}. The schedule table below has every figure.",
        [row.label for row in schedule],
        [row.leads for row in schedule],
    )


def _schedule_table(plan: Plan) -> Table:
    assert plan.pacing is not None
    pacing = plan.pacing
    columns = (
        Column(pacing.per.capitalize(), numeric=False),
        Column("From"),
        Column("To"),
        Column("Leads"),
    )
    body = tuple(
        (
            Cell(row.label),
            Cell(row.start.isoformat()),
            Cell(row.end.isoformat()),
            Cell(f"{row.leads:,}"),
        )
        for row in pacing.schedule
    )
    return Table(f"The schedule: leads to add per {pacing.per}", columns, body)


def _sensitivity_table(plan: Plan) -> Table:
    lever = plan.lever
    columns = (
        Column("Stage", numeric=False),
        Column("Rate"),
        Column("Leads needed"),
        Column("Saved"),
    )
    body = []
    for row in plan.sensitivity:
        first = (
            Cell(row.stage, LEVER, "the lever to pull first", strong=True, good=True)
            if lever is not None and row.stage == lever.stage
            else Cell(row.stage)
        )
        body.append(
            (
                first,
                Cell(f"{format_rate(row.current_rate)} → {format_rate(row.raised_rate)}"),
                Cell(f"{row.leads_needed:,}"),
                Cell(f"{row.leads_saved:,}"),
            )
        )
    notes = (
        (f"{LEVER} the lever to pull first: the stage whose 5-point rise saves the most leads.",)
        if lever is not None
        else ()
    )
    return Table("If one rate rose 5 points", columns, tuple(body), notes)
