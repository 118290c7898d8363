"""A plan as an Excel workbook: Summary, Stages (with a chart), Pacing, Sensitivity.

Every figure is taken from :func:`plan_to_dict`, so the workbook never disagrees with
``--format json``; the sentences are the plan view's.
"""

from __future__ import annotations

from typing import Any

from funnelcli.plan import Plan, PlanContext
from funnelcli.render.json_plan import plan_to_dict
from funnelcli.render.plan_view import (
    context_lines,
    detail_lines,
    summary_sentence,
)
from funnelcli.render.xlsx import (
    COUNT,
    DATE,
    MONEY,
    PERCENT,
    RATIO,
    TENTHS,
    Column,
    Formatted,
    add_funnel_chart,
    add_table,
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
PACING_COLUMNS = (
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
    Column("Budget saved", MONEY),
)


def plan_xlsx(plan: Plan, funnel_source: str, context: PlanContext | None = None) -> bytes:
    """Sheets Summary (with where the rates came from and the pipeline credit), Stages
    (with a chart of the counts needed), and Pacing and Sensitivity when the plan has them."""
    data = plan_to_dict(plan, funnel_source, context)
    workbook = new_workbook(f"Plan: {data['funnel']}")
    lines = [*(context_lines(plan, context) if context else []), *detail_lines(plan)]
    notes = [("Plan", summary_sentence(plan, context)), *(("", line) for line in lines)]
    add_table(workbook, "Summary", (Column("Figure"), Column("Value")), _plan_summary(data), notes)
    confidence = data["confidence"]
    at_confidence = (
        [stage["needed"] for stage in confidence["stages"]]
        if confidence
        else [None] * len(data["stages"])
    )
    stage_rows = [
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
    stages = add_table(workbook, "Stages", PLAN_STAGE_COLUMNS, stage_rows)
    add_funnel_chart(stages, 2, len(stage_rows), "Needed")
    pacing = data["pacing"]
    if pacing and pacing["schedule"]:
        schedule = [
            [row["period"], to_date(row["start"]), to_date(row["end"]), row["leads"]]
            for row in pacing["schedule"]
        ]
        add_table(workbook, "Pacing", PACING_COLUMNS, schedule)
    if data["sensitivity"]:
        sensitivity = [
            [
                row["stage"],
                row["current_rate"],
                row["raised_rate"],
                row["leads_needed"],
                row["leads_saved"],
                row["budget_saved"],
            ]
            for row in data["sensitivity"]
        ]
        add_table(workbook, "Sensitivity", SENSITIVITY_COLUMNS, sensitivity)
    return workbook_bytes(workbook)


def _plan_summary(data: dict[str, Any]) -> list[list[object]]:
    currency = data["currency"]
    rows: list[list[object]] = [
        ["Funnel", data["funnel"]],
        ["Funnel file", data["funnel_source"]],
        *_context_rows(data),
        [f"Target revenue ({currency})", Formatted(data["target_revenue"], MONEY)],
        [f"Average deal value ({currency})", Formatted(data["average_deal_value"], MONEY)],
        ["Deals needed", Formatted(data["deals_needed"], COUNT)],
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
        rows += [
            [f"Cost per lead ({currency})", Formatted(budget["cost_per_lead"], MONEY)],
            [f"Lead budget ({currency})", Formatted(budget["lead_budget"], MONEY)],
            [f"Cost per won deal ({currency})", Formatted(budget["cost_per_won_deal"], MONEY)],
        ]
        if budget["lead_budget_at_confidence"] is not None:
            rows.append(
                [
                    f"Lead budget at confidence ({currency})",
                    Formatted(budget["lead_budget_at_confidence"], MONEY),
                ]
            )
    pacing = data["pacing"]
    if pacing:
        rows += [
            ["Deadline", Formatted(to_date(pacing["deadline"]), DATE)],
            ["As of", Formatted(to_date(pacing["as_of"]), DATE)],
            ["Cycle days", Formatted(pacing["cycle_days"], COUNT)],
            ["Leads enter from", Formatted(to_date(pacing["window_start"]), DATE)],
            ["Last lead entry", Formatted(to_date(pacing["last_lead_entry"]), DATE)],
            ["Window days", Formatted(pacing["window_days"], COUNT)],
            [f"Leads per {pacing['per']}", Formatted(pacing["leads_per_period"], COUNT)],
        ]
    if data["lever"]:
        rows.append(["Lever to pull first", data["lever"]])
    return rows


def _context_rows(data: dict[str, Any]) -> list[list[object]]:
    """Where the rates came from and, with --credit-pipeline, what the open deals bring."""
    rows: list[list[object]] = []
    if data["rates_from"]:
        rows.append(["Rates from", data["rates_from"]])
    credit = data["pipeline_credit"]
    if credit is None:
        return rows
    currency = data["currency"]
    rows += [
        ["Pipeline credit from", credit["export"]],
        [f"Full target revenue ({currency})", Formatted(credit["target_revenue"], MONEY)],
        [f"Booked ({currency})", Formatted(credit["booked"], MONEY)],
        [f"Remaining target ({currency})", Formatted(credit["remaining_target"], MONEY)],
        ["Deals needed for the remaining target", Formatted(credit["deals_needed"], COUNT)],
        ["Open deals", Formatted(credit["open_deals"], COUNT)],
        [
            "Deals expected from the pipeline",
            Formatted(credit["expected_deals_from_pipeline"], TENTHS),
        ],
        [
            f"Revenue expected from the pipeline ({currency})",
            Formatted(credit["expected_revenue_from_pipeline"], MONEY),
        ],
        ["Gap deals", Formatted(credit["gap_deals"], COUNT)],
        [f"Gap revenue ({currency})", Formatted(credit["gap_revenue"], MONEY)],
        [f"Open value ({currency})", Formatted(credit["open_value"], MONEY)],
        ["Pipeline coverage", Formatted(credit["coverage"], RATIO)],
        ["Win rate", Formatted(credit["win_rate"], PERCENT)],
        ["Coverage needed", Formatted(credit["coverage_needed"], RATIO)],
    ]
    return rows
