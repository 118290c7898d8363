"""The plan use case from an export: ``funnel plan --rates-from`` and ``--credit-pipeline``.

The export is read as ``funnel report`` reads it (readers/export.py); its measured rates
and average won value make the plan (history_plan.py), and with --credit-pipeline its open
deals are credited first. A plan from the funnel file alone needs none of this: the
command calls :func:`funnelcli.plan.make_plan` itself, and its start-up stays light.

This module prints nothing: the command says what the read could not say (``on_read``)
and what a step warns of (``warn``), in the order it happens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

from funnelcli.history_plan import (
    few_resolved_note,
    measured_funnel,
    plan_from_history,
    stage_rates,
)
from funnelcli.loading import LoadedFunnel
from funnelcli.pacing import PacingRequest
from funnelcli.plan import Plan, PlanContext, covered_plan, make_plan
from funnelcli.readers.export import ReadOptions, report_export
from funnelcli.reporting import Warn
from funnelcli.results import ExportReport


def plan_from_export(
    loaded: LoadedFunnel,
    export: str,
    target: Decimal,
    *,
    credit: bool,
    deal_value: Decimal | None,
    booked: Decimal | None,
    confidence: Fraction | None,
    cost: Decimal | None,
    pacing: PacingRequest | None,
    today: dt.date,
    on_read: Callable[[ExportReport], None],
    warn: Warn,
    decimal: str | None = None,
    date_format: str | None = None,
) -> tuple[Plan, PlanContext]:
    """A plan with the export's measured rates, crediting its open deals when asked."""
    options = ReadOptions(date_format=date_format, decimal=decimal)
    read = report_export(export, loaded.funnel, as_of=today, options=options)
    # What the export could not say is said as in 'funnel report': rows skipped, lost
    # deals without a stage (then no rate can be measured: report.py).
    on_read(read)
    report = read.report
    # With no funnel file the stages are the export's own: say what ordered them.
    origin = (
        (f"No funnel file: stages and order from {loaded.funnel.evidence}.",)
        if loaded.funnel.evidence is not None
        else ()
    )
    rates, _ = stage_rates(loaded.funnel, report)
    # A rate resting on a handful of deals: said on stderr and in the plan's notes.
    few = tuple(few_resolved_note(rate) for rate in rates if rate.few)
    if not credit:
        measured, notes = measured_funnel(loaded.funnel, report, deal_value=deal_value)
        plan = make_plan(measured, target, confidence=confidence, cost_per_lead=cost, pacing=pacing)
        _warn_few(few, read.table.source, warn)
        return plan, PlanContext(rates_from=export, notes=(*origin, *notes, *few), rates=rates)
    history = plan_from_history(
        loaded.funnel,
        report,
        target,
        deal_value=deal_value,
        booked=booked or Decimal(0),
        confidence=confidence,
        cost_per_lead=cost,
        pacing=pacing,
    )
    # Covered: the plan is for the gap, as when there is one: no revenue, no deals.
    plan = history.plan or covered_plan(history.funnel, Decimal(0), history.credit.deal_value)
    context = PlanContext(
        rates_from=export,
        notes=(*origin, *history.notes, *few),
        credit=history.credit,
        credit_from=export,
        rates=rates,
    )
    _warn_few(few, read.table.source, warn)
    return plan, context


def _warn_few(notes: tuple[str, ...], source: str, warn: Warn) -> None:
    """Rates resting on few deals, on stderr too, once the plan is made."""
    for note in notes:
        warn(f"{source}: {note}")
