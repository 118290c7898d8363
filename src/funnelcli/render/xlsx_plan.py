"""A plan as an Excel workbook.

Sheets: Summary (headline figures, the chart of the counts needed, then the other figures
and the plan's sentences), Stages, Schedule (the leads to add per month or week, with a
deadline) and Sensitivity. Every figure is taken from :func:`plan_to_dict`, so the workbook
never disagrees with ``--format json``; the sentences are the plan view's.
"""

from __future__ import annotations

from typing import Any

from funnelcli.plan import Plan, PlanContext
from funnelcli.render.json_plan import plan_to_dict
from funnelcli.render.neutralise import forwarded_context
from funnelcli.render.plan_view import (
    context_lines,
    detail_lines,
    pacing_sentence,
    summary_sentence,
)
from funnelcli.render.xlsx import (
    COUNT,
    DATE,
    PERCENT,
    RATIO,
    SECTION,
    TENTHS,
    Column,
    Formatted,
    Sentence,
    add_funnel_chart,
    add_summary,
    add_table,
    file_name,
    money_format,
    new_workbook,
    to_date,
    workbook_bytes,
)

PLAN_STAGE_COLUMNS = (
    Column("Stage"),
    Column("Needed", COUNT),
    Column("Conversion to next", PERCENT),
    Column("Cumulative to won", PERCENT),
    Column("Needed at confidence", COUNT),
    Column("Enter by", DATE),
)
SCHEDULE_COLUMNS = (
    Column("Period"),
    Column("Start", DATE),
    Column("End", DATE),
    Column("Leads", COUNT),
)
SENSITIVITY_COLUMNS = (
    Column("Stage"),
    Column("Current rate", PERCENT),
    Column("Raised rate", PERCENT),
    Column("Leads needed", COUNT),
    Column("Leads saved", COUNT),
    Column("Budget saved"),  # in the plan's currency: set per workbook
)


def plan_xlsx(plan: Plan, funnel_source: str, context: PlanContext | None = None) -> bytes:
    """The plan's workbook, opening on its Summary (see the module's docstring)."""
    data = plan_to_dict(plan, funnel_source, context)
    money = money_format(data["currency"])
    workbook = new_workbook(f"Plan: {data['funnel']}")
    stages = add_table(workbook, "Stages", PLAN_STAGE_COLUMNS, _stage_rows(data))
    summary = add_summary(
        workbook, "Plan", data["funnel"], _summary_rows(plan, context, data, money)
    )
    add_funnel_chart(summary, stages, 2, len(data["stages"]), "Needed")
    pacing = data["pacing"]
    if pacing and pacing["schedule"]:
        schedule = [
            [row["period"], to_date(row["start"]), to_date(row["end"]), row["leads"]]
            for row in pacing["schedule"]
        ]
        add_table(workbook, "Schedule", SCHEDULE_COLUMNS, schedule)
    if data["sensitivity"]:
        sensitivity = [
            [
                row["stage"],
                row["current_rate"],
                row["raised_rate"],
                row["leads_needed"],
                row["leads_saved"],
                Formatted(row["budget_saved"], money),
            ]
            for row in data["sensitivity"]
        ]
        add_table(workbook, "Sensitivity", SENSITIVITY_COLUMNS, sensitivity)
    return workbook_bytes(workbook)


def _stage_rows(data: dict[str, Any]) -> list[list[object]]:
    confidence = data["confidence"]
    at_confidence = (
        [stage["needed"] for stage in confidence["stages"]]
        if confidence
        else [None] * len(data["stages"])
    )
    return [
        [
            stage["name"],
            stage["needed"],
            stage["conversion_to_next"],
            stage["cumulative_to_won"],
            needed,
            to_date(stage["enter_by"]),
        ]
        for stage, needed in zip(data["stages"], at_confidence, strict=True)
    ]


def _summary_rows(
    plan: Plan, context: PlanContext | None, data: dict[str, Any], money: str
) -> list[list[object]]:
    """The headline figures first: target, deals and leads needed (at the confidence),
    budget, pacing and lever; then the others, the plan's sentences last."""
    currency = data["currency"]
    credit = data["pipeline_credit"]
    rows: list[list[object]] = []
    if credit is not None:  # the target the new leads serve is what the pipeline leaves
        rows += [
            [f"Full target revenue ({currency})", Formatted(credit["target_revenue"], money)],
            [f"Booked ({currency})", Formatted(credit["booked"], money)],
        ]
    rows += [
        [f"Target revenue ({currency})", Formatted(data["target_revenue"], money)],
        ["Won deals needed", Formatted(data["deals_needed"], COUNT)],
        ["Leads needed", Formatted(data["leads_needed"], COUNT)],
    ]
    confidence = data["confidence"]
    if confidence:
        rows += [
            ["Confidence", Formatted(confidence["level"], PERCENT)],
            ["Leads needed at confidence", Formatted(confidence["leads_needed"], COUNT)],
        ]
    budget = data["budget"]
    if budget:
        rows.append([f"Lead budget ({currency})", Formatted(budget["lead_budget"], money)])
        if budget["lead_budget_at_confidence"] is not None:
            rows.append(
                [
                    f"Lead budget at confidence ({currency})",
                    Formatted(budget["lead_budget_at_confidence"], money),
                ]
            )
    if plan.pacing:
        late = not plan.pacing.feasible  # the plan's alert: red, as the terminal says it
        rows.append(["Pacing", Sentence(pacing_sentence(plan), warning=late)])
    if data["lever"]:
        rows.append(["Lever to pull first", data["lever"]])
    rows.append(["Plan", Sentence(summary_sentence(plan, context))])
    if plan.pacing:
        rows.append(["As of", Formatted(to_date(data["pacing"]["as_of"]), DATE)])
    rows.append(["Funnel file", file_name(data["funnel_source"])])
    if data["rates_from"]:
        rows.append(["Rates from", file_name(data["rates_from"])])
    rows += [
        ["More figures", SECTION],
        *_more_figures(data, money),
        *_credit_rows(data, money),
        *_sentences(plan, context),
    ]
    return rows


def _more_figures(data: dict[str, Any], money: str) -> list[list[object]]:
    currency = data["currency"]
    rows: list[list[object]] = [
        [f"Average deal value ({currency})", Formatted(data["average_deal_value"], money)],
    ]
    budget = data["budget"]
    if budget:
        rows += [
            [f"Cost per lead ({currency})", Formatted(budget["cost_per_lead"], money)],
            [f"Cost per won deal ({currency})", Formatted(budget["cost_per_won_deal"], money)],
        ]
    pacing = data["pacing"]
    if pacing:
        rows += [
            ["Deadline", Formatted(to_date(pacing["deadline"]), DATE)],
            ["Cycle days", Formatted(pacing["cycle_days"], COUNT)],
            ["Leads enter from", Formatted(to_date(pacing["window_start"]), DATE)],
            ["Last lead entry", Formatted(to_date(pacing["last_lead_entry"]), DATE)],
            ["Window days", Formatted(pacing["window_days"], COUNT)],
            [f"Leads per {pacing['per']}", Formatted(pacing["leads_per_period"], COUNT)],
        ]
    return rows


def _credit_rows(data: dict[str, Any], money: str) -> list[list[object]]:
    """With --credit-pipeline: what the open deals of the export bring."""
    credit = data["pipeline_credit"]
    if credit is None:
        return []
    currency = data["currency"]
    return [
        ["Pipeline credit from", file_name(credit["export"])],
        [f"Remaining target ({currency})", Formatted(credit["remaining_target"], money)],
        ["Deals needed for the remaining target", Formatted(credit["deals_needed"], COUNT)],
        ["Open deals", Formatted(credit["open_deals"], COUNT)],
        [
            "Deals expected from the pipeline",
            Formatted(credit["expected_deals_from_pipeline"], TENTHS),
        ],
        [
            f"Revenue expected from the pipeline ({currency})",
            Formatted(credit["expected_revenue_from_pipeline"], money),
        ],
        ["Gap deals", Formatted(credit["gap_deals"], COUNT)],
        [f"Gap revenue ({currency})", Formatted(credit["gap_revenue"], money)],
        [f"Open value ({currency})", Formatted(credit["open_value"], money)],
        ["Pipeline coverage", Formatted(credit["coverage"], RATIO)],
        ["Win rate", Formatted(credit["win_rate"], PERCENT)],
        ["Coverage needed", Formatted(credit["coverage_needed"], RATIO)],
    ]


def _sentences(plan: Plan, context: PlanContext | None) -> list[list[object]]:
    """Where the rates came from, the credit, budget and lever, as the terminal says them;
    files by name only."""
    named = forwarded_context(context) if context is not None else None
    shown = pacing_sentence(plan) if plan.pacing else None  # in the headline already
    lines = [
        *(context_lines(plan, named) if named else []),
        *(line for line in detail_lines(plan) if line != shown),
    ]
    return [["Notes" if index == 0 else "", Sentence(line)] for index, line in enumerate(lines)]
