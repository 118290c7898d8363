"""A plan as JSON: the contract.

The JSON keys are a contract, documented in the README and pinned by
``tests/render/test_plan_json_csv_md.py``; bump ``schema_version`` when one changes meaning.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from funnelcli.plan import Plan, PlanContext
from funnelcli.render.numbers import money, rate

if TYPE_CHECKING:
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
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
