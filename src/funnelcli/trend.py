"""Snapshots -> the trend: one row per snapshot, its stages lined up by name, and the
change of each rate from the first snapshot to the last in percentage points.

Pure: snapshots.py reads the rows from the SQLite file; render/trend.py shows the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal


@dataclass(frozen=True)
class TrendRow:
    """One snapshot: ``conversions`` lines up with :attr:`Trend.stages` (None: stage absent)."""

    snapshot_id: int
    taken_at: str
    as_of: dt.date
    win_rate: float | None
    won: int
    open: int
    conversions: tuple[float | None, ...]


@dataclass(frozen=True)
class Change:
    """A rate in the first row and in the last, and the move in percentage points.

    ``points`` is None when either end is unknown: a stage the first snapshot lacked
    has no change to show, even if a later snapshot has it.
    """

    name: str
    first: float | None
    last: float | None
    points: float | None


@dataclass(frozen=True)
class Trend:
    """Snapshots of one funnel, oldest first (by as_of, then by the order saved).

    ``stages`` are the stages of the latest snapshot that convert to a next one: the
    final (won) stage has nothing left to convert, so it has no column.
    """

    source: str
    funnel: str
    stages: tuple[str, ...]
    rows: tuple[TrendRow, ...]
    changes: tuple[Change, ...]  # one per stage, in the order of ``stages``
    win_rate_change: Change


@dataclass(frozen=True)
class StoredSnapshot:
    """A snapshot as stored: its trend row, whose conversions wait for the stages to line up."""

    row: TrendRow  # conversions=() until build_trend
    stages: tuple[tuple[str, float | None], ...]  # (name, resolved conversion) by position


def build_trend(source: str, funnel: str, stored: Sequence[StoredSnapshot]) -> Trend:
    latest = stored[-1].stages
    names = tuple(name for name, _ in latest[:-1])
    rows = tuple(replace(row.row, conversions=_aligned(row.stages, names)) for row in stored)
    first, last = rows[0], rows[-1]
    changes = tuple(
        _change(name, first.conversions[index], last.conversions[index])
        for index, name in enumerate(names)
    )
    return Trend(
        source,
        funnel,
        names,
        rows,
        changes,
        _change("win rate", first.win_rate, last.win_rate),
    )


def _aligned(
    stages: Sequence[tuple[str, float | None]], names: Sequence[str]
) -> tuple[float | None, ...]:
    """Stages matched by name, so a stage added or renamed later lines up with its column."""
    by_name: dict[str, float | None] = {}
    for name, rate in stages:
        by_name.setdefault(name, rate)
    return tuple(by_name.get(name) for name in names)


def _change(name: str, first: float | None, last: float | None) -> Change:
    if first is None or last is None:
        return Change(name, first, last, None)
    # Through the decimals the rates were written as: 0.6 - 0.5 is 10 points, not 9.999...
    points = (Decimal(repr(last)) - Decimal(repr(first))) * 100
    return Change(name, first, last, float(points))
