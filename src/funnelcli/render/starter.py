"""The funnel file ``funnel init --from EXPORT`` writes: YAML text with comments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from fractions import Fraction

import yaml

from funnelcli.values import format_rate


def starter_data(
    name: str,
    currency: str,
    stages: Sequence[str],
    won: str,
    lost: Sequence[str],
    columns: Mapping[str, str],
) -> dict[str, object]:
    """A funnel definition (as plain data) with no rates: the report measures them."""
    return {
        "name": name,
        "currency": currency,
        "stages": [{"name": stage} for stage in (*stages, won)],
        "lost": list(lost),
        "columns": dict(columns),
    }


def yaml_scalar(text: str) -> str:
    """A YAML scalar for a label, quoted only when it needs to be."""
    dumped = yaml.safe_dump(text, default_flow_style=True, allow_unicode=True, width=1000).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()


def starter_yaml(
    *,
    export: str,
    today: dt.date,
    how: str,
    data: Mapping[str, object],
    measured: Sequence[tuple[Fraction | None, int]],
) -> str:
    """``measured[i]``: stage i's resolved conversion and how many deals left it."""
    stages = data["stages"]
    assert isinstance(stages, list)
    lines = [
        f"# Written by `funnel init --from {export}` on {today.isoformat()}.",
        "# Stages, lost labels and columns come from the export. Each conversion is the export's",
        "# measured resolved conversion: of the deals that left the stage, the share that moved on.",
        f"# Stage order: {how}.",
        f"name: {yaml_scalar(str(data['name']))}",
        f"currency: {data['currency']}",
        "stages:",
    ]
    for index, stage in enumerate(stages):
        lines.append(f"  - name: {yaml_scalar(stage['name'])}")
        if index == len(stages) - 1:
            break
        rate, left = measured[index]
        if rate is None and left > 0:  # losses unattributed (report.py): not measurable
            lines.append(
                "    conversion: 50%   # the export does not say where deals were lost: set your own"
            )
        elif rate is None:
            lines.append("    conversion: 50%   # no deal has left this stage yet: set your own")
        elif rate < Fraction(1, 1000):
            lines.append(
                f"    conversion: 0.1%  # measured {format_rate(rate, 2)} of {left:,} deals: set your own"
            )
        else:
            lines.append(
                f"    conversion: {format_rate(rate, 1)}   # {left:,} deals left this stage"
            )
    lost = data["lost"]
    assert isinstance(lost, list)
    lines.append("lost: [" + ", ".join(yaml_scalar(label) for label in lost) + "]")
    columns = data["columns"]
    assert isinstance(columns, dict)
    if columns:
        lines.append("columns:")
        lines += [f"  {field}: {yaml_scalar(header)}" for field, header in columns.items()]
    else:
        lines.append("columns: {}")
    return "\n".join(lines) + "\n"
