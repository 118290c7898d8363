"""The funnel file ``funnel init --from EXPORT`` writes: YAML text with comments."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from fractions import Fraction

import yaml

from funnelcli.definition import Funnel
from funnelcli.history_plan import FEW_RESOLVED, StageRate, interval_text, stage_rates
from funnelcli.inference import InferredFunnel
from funnelcli.report_figures import Report
from funnelcli.values import format_rate


def yaml_scalar(text: str) -> str:
    """A YAML scalar for a label, quoted only when it needs to be."""
    dumped = yaml.safe_dump(text, default_flow_style=True, allow_unicode=True, width=1000).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()


def measured_rates(funnel: Funnel, report: Report) -> tuple[StageRate, ...] | str:
    """Each stage's rate measured on the export (history_plan.stage_rates, the one home of
    a measured rate and its interval), or why the export cannot measure them all."""
    if report.losses_unattributed:
        return (
            "the export does not say at which stage its lost deals were lost "
            "(no stage dates, no history, no kept stage)"
        )
    for stage in report.stages[:-1]:
        if stage.resolved_conversion is None:
            return f"no deal has left '{stage.name}' yet"
    return stage_rates(funnel, report)[0]


def starter_yaml(
    *,
    export: str,
    today: dt.date,
    inferred: InferredFunnel,
    data: Mapping[str, object],
    columns: Mapping[str, str],
    measured: tuple[StageRate, ...] | str | None,
) -> str:
    """The funnel file: the inferred funnel, its evidence as comments, measured rates.

    ``measured`` is None when some stages' order is unknown (rates measured on a wrong
    order would mislead), or says why the export cannot measure them: then no stage gets
    a conversion (a report-only funnel), since the file needs all of them or none.
    """
    stages = data["stages"]
    assert isinstance(stages, list)
    lines = [
        f"# Written by `funnel init --from {export}` on {today.isoformat()}.",
        f"# Stages and order from {inferred.evidence}.",
    ]
    if inferred.unordered:
        lines += [
            "# ORDER UNKNOWN: nothing in the export gives the place of "
            + ", ".join(yaml_scalar(label) for label in inferred.unordered)
            + ";",
            "# they follow the others by row count. Move each to its place, then add rates.",
        ]
    for label, why in inferred.not_stages:
        lines.append(f"# Left out: {yaml_scalar(label)}, {why}; its rows are skipped.")
    if isinstance(measured, tuple):
        lines += [
            "# Each conversion is measured on the export: of the deals that left the stage, the",
            "# share that moved on, with the number of those deals and the 90% interval (Wilson).",
            "# Replace them with your plan.",
        ]
    elif isinstance(measured, str):
        lines.append(f"# No conversion rates: {measured}. Add your plan's rates to every stage.")
    lines += [
        f"name: {yaml_scalar(str(data['name']))}",
        f"currency: {data['currency']}",
        "stages:",
    ]
    for index, stage in enumerate(stages):
        lines.append(f"  - name: {yaml_scalar(stage['name'])}")
        if stage.get("aliases"):
            lines.append(
                "    aliases: [" + ", ".join(yaml_scalar(alias) for alias in stage["aliases"]) + "]"
            )
        if index < len(stages) - 1 and isinstance(measured, tuple):
            lines.append(f"    conversion: {_rate_line(measured[index])}")
    lost = data["lost"]
    assert isinstance(lost, list)
    lines.append("lost: [" + ", ".join(yaml_scalar(label) for label in lost) + "]")
    if columns:
        lines.append("columns:  # the export's headers the reader recognised")
        lines += [f"  {field}: {yaml_scalar(header)}" for field, header in columns.items()]
    return "\n".join(lines) + "\n"


def _rate_line(measured: StageRate) -> str:
    counts = f"{measured.moved_on or 0:,} of {measured.resolved or 0:,} resolved deals moved on"
    few = f"; under {FEW_RESOLVED} deals: uncertain" if measured.few else ""
    if measured.rate < Fraction(1, 1000):
        # A planned rate must be above 0; 0.1% stands for "none moved on".
        return (
            f"0.1%  # measured {format_rate(measured.rate, 2)}: {counts}; "
            f"{interval_text(measured)}{few}"
        )
    # Rounded down to 0.1%: the plan written never exceeds what was measured, so a report
    # with this file never finds a stage "below plan" at exactly its planned rate.
    written = Fraction(math.floor(measured.rate * 1000), 1000)
    if written != measured.rate:
        counts += f" ({format_rate(measured.rate, 2)}, written rounded down)"
    return f"{format_rate(written, 1)}  # {counts}; {interval_text(measured)}{few}"
