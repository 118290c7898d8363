"""The funnel file ``funnel init --from EXPORT`` writes: YAML text with comments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import yaml

from funnelcli.inference import InferredFunnel
from funnelcli.report import Report
from funnelcli.stats import wilson_interval
from funnelcli.values import format_rate


def yaml_scalar(text: str) -> str:
    """A YAML scalar for a label, quoted only when it needs to be."""
    dumped = yaml.safe_dump(text, default_flow_style=True, allow_unicode=True, width=1000).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()


SMALL_SAMPLE = 30
"""A measured rate resting on fewer resolved deals than this is marked uncertain."""


@dataclass(frozen=True)
class MeasuredRate:
    """A stage's resolved conversion: of the deals that left it, the share that moved on."""

    moved_on: int
    resolved: int
    interval: tuple[float, float]  # 90% Wilson

    @property
    def rate(self) -> Fraction:
        return Fraction(self.moved_on, self.resolved)


def measured_rates(report: Report) -> list[MeasuredRate] | str:
    """Each stage's measured rate, or why the export cannot give them all."""
    rates = []
    for index, stage in enumerate(report.stages[:-1]):
        if stage.resolved_conversion is None:
            if report.lost_unknown_stage:
                return (
                    "the export does not say at which stage its lost deals were lost "
                    "(no stage dates, no history, no kept stage)"
                )
            return f"no deal has left '{stage.name}' yet"
        resolved = stage.reached - stage.current
        moved_on = report.stages[index + 1].reached
        rates.append(MeasuredRate(moved_on, resolved, wilson_interval(moved_on, resolved)))
    return rates


def starter_yaml(
    *,
    export: str,
    today: dt.date,
    inferred: InferredFunnel,
    data: Mapping[str, object],
    columns: Mapping[str, str],
    measured: list[MeasuredRate] | str | None,
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
    if isinstance(measured, list):
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
        if index < len(stages) - 1 and isinstance(measured, list):
            lines.append(f"    conversion: {_rate_line(measured[index])}")
    lost = data["lost"]
    assert isinstance(lost, list)
    lines.append("lost: [" + ", ".join(yaml_scalar(label) for label in lost) + "]")
    if columns:
        lines.append("columns:  # the export's headers the reader recognised")
        lines += [f"  {field}: {yaml_scalar(header)}" for field, header in columns.items()]
    return "\n".join(lines) + "\n"


def _rate_line(measured: MeasuredRate) -> str:
    low, high = measured.interval
    counts = f"{measured.moved_on:,} of {measured.resolved:,} resolved deals moved on"
    interval = f"90% interval {format_rate(Fraction(low), 1)} to {format_rate(Fraction(high), 1)}"
    few = f"; under {SMALL_SAMPLE} deals: uncertain" if measured.resolved < SMALL_SAMPLE else ""
    if measured.rate < Fraction(1, 1000):
        # A planned rate must be above 0; 0.1% stands for "none moved on".
        return f"0.1%  # measured {format_rate(measured.rate, 2)}: {counts}; {interval}{few}"
    return f"{format_rate(measured.rate, 1)}  # {counts}; {interval}{few}"
