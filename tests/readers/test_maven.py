"""The real public Maven CRM pipeline: the report matches figures computed independently.

``examples/maven_pipeline.csv`` (8,800 opportunities) is read here twice more, with the
csv module and with SQL in sqlite3, and every figure is derived from the rows directly:
Prospecting rows are open at stage 0, Engaging rows open at stage 1, Won rows won, and
Lost rows lost at Engaging (each has an engage_date, the Engaging entered date).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pytest

from funnelcli.loading import load_funnel_file
from funnelcli.readers.export import ReadOptions, report_export
from funnelcli.results import ExportReport

from ..conftest import ROOT

EXPORT = ROOT / "examples" / "maven_pipeline.csv"
FUNNEL = ROOT / "sample_funnels" / "maven_crm.yaml"
AS_OF = dt.date(2017, 12, 31)
PLANNED_ENGAGING = Fraction(7, 10)  # maven_crm.yaml: Engaging conversion 70%
ENGAGING_STALE_AFTER = 2 * 60  # 2 x Engaging's days: 60


@pytest.fixture(scope="module")
def exported() -> ExportReport:
    funnel = load_funnel_file(str(FUNNEL)).funnel
    return report_export(str(EXPORT), funnel, as_of=AS_OF, options=ReadOptions())


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with EXPORT.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def linear_quantile(values: list[int], fraction: Fraction) -> Fraction:
    """Linear interpolation between closest ranks, in exact arithmetic."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def days_between(row: dict[str, str]) -> int:
    engaged = dt.date.fromisoformat(row["engage_date"])
    return (dt.date.fromisoformat(row["close_date"]) - engaged).days


@dataclass(frozen=True)
class Expected:
    reached: list[int]
    current: list[int]
    lost: list[int]
    won_values: list[int]
    cycle_days: list[int]
    engaging_days: list[int]
    stale_engaging: int


@pytest.fixture(scope="module")
def expected(rows: list[dict[str, str]]) -> Expected:
    by_stage: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_stage.setdefault(row["deal_stage"], []).append(row)
    prospecting, engaging = by_stage["Prospecting"], by_stage["Engaging"]
    won, lost = by_stage["Won"], by_stage["Lost"]
    stale = [
        row
        for row in engaging
        if (AS_OF - dt.date.fromisoformat(row["engage_date"])).days > ENGAGING_STALE_AFTER
    ]
    return Expected(
        reached=[len(rows), len(engaging) + len(won) + len(lost), len(won)],
        current=[len(prospecting), len(engaging), 0],
        lost=[0, len(lost), 0],
        won_values=[int(row["close_value"]) for row in won],
        cycle_days=[days_between(row) for row in won],
        engaging_days=[days_between(row) for row in won + lost],
        stale_engaging=len(stale),
    )


def test_every_row_is_used(exported: ExportReport, rows: list[dict[str, str]]) -> None:
    assert len(rows) == 8800
    assert (exported.account.read, exported.account.used) == (8800, 8800)
    assert exported.account.skipped_total == 0


def test_stage_counts(exported: ExportReport, expected: Expected) -> None:
    report = exported.report
    assert [stage.name for stage in report.stages] == ["Prospecting", "Engaging", "Won"]
    assert [stage.reached for stage in report.stages] == expected.reached
    assert [stage.current for stage in report.stages] == expected.current
    assert [stage.lost for stage in report.stages] == expected.lost
    assert report.won == expected.reached[2]
    assert report.lost == expected.lost[1]
    assert report.open == sum(expected.current)
    assert report.lost_unknown_stage == 0  # every Lost row has its engage_date
    assert report.negative_durations == 0


def test_conversions(exported: ExportReport, expected: Expected) -> None:
    reached, current = expected.reached, expected.current
    stages = exported.report.stages
    assert [stage.conversion_to_next for stage in stages] == [
        Fraction(reached[1], reached[0]),
        Fraction(reached[2], reached[1]),
        None,
    ]
    assert [stage.resolved_conversion for stage in stages] == [
        Fraction(reached[1], reached[0] - current[0]),
        Fraction(reached[2], reached[1] - current[1]),
        None,
    ]
    assert [stage.cumulative_conversion for stage in stages] == [
        Fraction(reached[i], reached[0]) for i in range(3)
    ]
    won, lost = expected.reached[2], expected.lost[1]
    assert exported.report.win_rate == Fraction(won, won + lost)


def test_money(exported: ExportReport, expected: Expected) -> None:
    money = exported.report.primary_money
    assert money is not None
    assert exported.report.currency == "USD"
    assert money.won_value == Decimal(sum(expected.won_values))
    average = Fraction(sum(expected.won_values), len(expected.won_values))
    assert money.average_won_value == average
    assert money.median_won_value == pytest.approx(
        float(linear_quantile(expected.won_values, Fraction(1, 2)))
    )
    assert money.lost_value == 0  # Lost rows carry close_value 0
    assert money.open_value == 0  # open rows have no close_value
    assert money.weighted_open_value == 0


def test_cycle_days_and_velocity(exported: ExportReport, expected: Expected) -> None:
    report = exported.report
    median = linear_quantile(expected.cycle_days, Fraction(1, 2))
    assert report.median_cycle_days == pytest.approx(float(median))
    assert report.p90_cycle_days == pytest.approx(
        float(linear_quantile(expected.cycle_days, Fraction(9, 10)))
    )
    won, lost = expected.reached[2], expected.lost[1]
    average = Fraction(sum(expected.won_values), len(expected.won_values))
    velocity = sum(expected.current) * Fraction(won, won + lost) * average / median
    assert report.sales_velocity_per_day == velocity


def test_days_in_engaging(exported: ExportReport, expected: Expected) -> None:
    prospecting, engaging, won = exported.report.stages
    assert engaging.median_days_in_stage == pytest.approx(
        float(linear_quantile(expected.engaging_days, Fraction(1, 2)))
    )
    assert engaging.p90_days_in_stage == pytest.approx(
        float(linear_quantile(expected.engaging_days, Fraction(9, 10)))
    )
    # No Prospecting entered date in the export; the won stage has no duration.
    assert prospecting.median_days_in_stage is None
    assert won.median_days_in_stage is None


def test_bottleneck_against_planned_rates(exported: ExportReport, expected: Expected) -> None:
    reached, current = expected.reached, expected.current
    # Prospecting resolves at 100% (every resolved deal engaged), above its 95%:
    assert Fraction(reached[1], reached[0] - current[0]) == 1
    actual = Fraction(reached[2], reached[1] - current[1])
    assert actual < PLANNED_ENGAGING
    average = Fraction(sum(expected.won_values), len(expected.won_values))
    # (reached - current) x (planned - actual) x P(win from Won) = 1 x average won
    impact = (reached[1] - current[1]) * (PLANNED_ENGAGING - actual) * 1 * average
    report = exported.report
    assert report.bottleneck_by == "revenue"
    assert [(b.stage, b.next_stage) for b in report.bottlenecks] == [("Engaging", "Won")]
    bottleneck = report.bottlenecks[0]
    assert (bottleneck.actual, bottleneck.planned) == (actual, PLANNED_ENGAGING)
    assert bottleneck.revenue_impact == impact
    assert bottleneck.lost == expected.lost[1]
    # Beyond sampling noise: 70% is above the 90% Wilson interval of the resolved rate,
    # worked from the formula with z = 1.644854 (the README shows 62.2%–64.1%).
    trials, p = reached[1] - current[1], float(actual)
    z2n = 1.644854**2 / trials
    centre = (p + z2n / 2) / (1 + z2n)
    half = 1.644854 / (1 + z2n) * math.sqrt(p * (1 - p) / trials + z2n / (4 * trials))
    assert bottleneck.interval == pytest.approx((centre - half, centre + half), abs=1e-7)
    assert centre + half < PLANNED_ENGAGING


def test_stale_engaging_deals(exported: ExportReport, expected: Expected) -> None:
    # Prospecting rows have no date at all, so only Engaging rows can be stale.
    stale = exported.report.stale
    # All are counted; the oldest STALE_KEPT (1,000) are listed.
    assert exported.report.stale_count == expected.stale_engaging
    assert len(stale) == min(expected.stale_engaging, 1000)
    assert {deal.stage for deal in stale} == {"Engaging"}
    assert [deal.days for deal in stale] == sorted((deal.days for deal in stale), reverse=True)
    assert all(deal.days > ENGAGING_STALE_AFTER for deal in stale)


# --- a second, independent method: SQL over the same rows ---------------------------------


@pytest.fixture(scope="module")
def database(rows: list[dict[str, str]]) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE TABLE pipeline (id TEXT, stage TEXT, engage_date TEXT, close_date TEXT, "
        "close_value INTEGER)"
    )
    connection.executemany(
        "INSERT INTO pipeline VALUES (?, ?, NULLIF(?, ''), NULLIF(?, ''), NULLIF(?, ''))",
        [
            (
                row["opportunity_id"],
                row["deal_stage"],
                row["engage_date"],
                row["close_date"],
                row["close_value"],
            )
            for row in rows
        ],
    )
    return connection


def test_sql_counts_match(exported: ExportReport, database: sqlite3.Connection) -> None:
    reached = database.execute(
        "SELECT COUNT(*),"
        " SUM(stage IN ('Engaging', 'Won', 'Lost')),"
        " SUM(stage = 'Won') FROM pipeline"
    ).fetchone()
    current = database.execute(
        "SELECT SUM(stage = 'Prospecting'), SUM(stage = 'Engaging'), 0 FROM pipeline"
    ).fetchone()
    lost_at_engaging = database.execute(
        "SELECT COUNT(*) FROM pipeline WHERE stage = 'Lost' AND engage_date IS NOT NULL"
    ).fetchone()[0]
    report = exported.report
    assert tuple(stage.reached for stage in report.stages) == reached
    assert tuple(stage.current for stage in report.stages) == current
    assert [stage.lost for stage in report.stages] == [0, lost_at_engaging, 0]


def test_sql_won_value_matches(exported: ExportReport, database: sqlite3.Connection) -> None:
    total, count = database.execute(
        "SELECT SUM(close_value), COUNT(*) FROM pipeline WHERE stage = 'Won'"
    ).fetchone()
    money = exported.report.primary_money
    assert money is not None
    assert money.won_value == Decimal(total)
    assert money.average_won_value == Fraction(total, count)
    # The median cycle: the middle row, or the mean of the two middle rows.
    median_cycle = database.execute(
        "SELECT AVG(days) FROM (SELECT julianday(close_date) - julianday(engage_date) AS days"
        " FROM pipeline WHERE stage = 'Won' ORDER BY days LIMIT 2 - ? % 2 OFFSET (? - 1) / 2)",
        (count, count),
    ).fetchone()[0]
    assert exported.report.median_cycle_days == pytest.approx(median_cycle)
