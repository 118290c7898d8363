"""A trend of saved snapshots as a plain text table, JSON (the contract) and CSV.

Rates are decimals in JSON and CSV, percents in the table; a change is in percentage
points (pp): from 50% to 62.5% is +12.5 pp. A figure that is unknown is null in JSON,
empty in CSV and ``–`` in the table.
"""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction
from typing import Any

from funnelcli.render.neutralise import neutralise
from funnelcli.trend import Change, Trend
from funnelcli.values import format_rate

SCHEMA_VERSION = 1
CSV_COLUMNS = ("as_of", "win_rate", "won", "open", "stage", "resolved_conversion")
_GAP = "  "


def trend_text(trend: Trend) -> str:
    """A title line, then one row per snapshot and a ``change`` row (first to last)."""
    header = ["As of", "Win rate", "Won", "Open", *trend.stages]
    rows = [
        [
            row.as_of.isoformat(),
            _percent(row.win_rate),
            f"{row.won:,}",
            f"{row.open:,}",
            *(_percent(rate) for rate in row.conversions),
        ]
        for row in trend.rows
    ]
    change = [
        "change",
        _points(trend.win_rate_change),
        "",
        "",
        *(_points(stage) for stage in trend.changes),
    ]
    table = [header, *rows, change]
    widths = [max(len(line[column]) for line in table) for column in range(len(header))]
    count = len(trend.rows)
    title = (
        f"{trend.funnel}: {count:,} snapshot{'' if count == 1 else 's'} in {trend.source}, "
        "resolved conversion per stage"
    )
    lines = [title, "", *(_line(cells, widths) for cells in table)]
    return "\n".join(lines) + "\n"


def _line(cells: list[str], widths: list[int]) -> str:
    first = cells[0].ljust(widths[0])
    rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
    return _GAP.join([first, *rest]).rstrip()


def _percent(rate: float | None) -> str:
    return "–" if rate is None else format_rate(Fraction(rate), 1)


def _points(change: Change) -> str:
    if change.points is None:
        return "–"
    points = round(change.points, 1) + 0.0  # + 0.0: no "-0.0" for a tiny fall
    return "0.0 pp" if points == 0 else f"{points:+.1f} pp"


def trend_to_dict(trend: Trend) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "trend",
        "funnel": trend.funnel,
        "snapshots": [
            {
                "as_of": row.as_of.isoformat(),
                "win_rate": row.win_rate,
                "won": row.won,
                "open": row.open,
                "stages": [
                    {"name": name, "resolved_conversion": rate}
                    for name, rate in zip(trend.stages, row.conversions, strict=True)
                ],
            }
            for row in trend.rows
        ],
        "change": [
            {"stage": change.name, "from": change.first, "to": change.last, "points": change.points}
            for change in trend.changes
        ],
    }


def trend_json(trend: Trend) -> str:
    return json.dumps(trend_to_dict(trend), indent=2, ensure_ascii=False) + "\n"


def trend_csv(trend: Trend) -> str:
    """One row per snapshot and stage, the columns of :data:`CSV_COLUMNS`; empty when unknown."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in trend.rows:
        for name, rate in zip(trend.stages, row.conversions, strict=True):
            writer.writerow(
                [
                    row.as_of.isoformat(),
                    _blank(row.win_rate),
                    row.won,
                    row.open,
                    neutralise(name),
                    _blank(rate),
                ]
            )
    return buffer.getvalue()


def _blank(value: float | None) -> float | str:
    return "" if value is None else value
