"""Losses unattributed (report.py): lost deals with no stage. Figures worked out by hand.

tests/data/unattributed/SOURCE.md describes the exports: 12 won, 28 lost without a
stage, open Prospecting 10,000 + 20,000, Qualification 30,000, Proposal 40,000,
Negotiation 50,000 (open value 150,000).
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import pytest

from funnelcli.alerts import AlertRules, evaluate
from funnelcli.deal_records import Deal, Outcome, deal_row, open_stage
from funnelcli.history_plan import stage_rates
from funnelcli.loading import resolve_funnel
from funnelcli.readers.export import ReadOptions, report_export
from funnelcli.report_figures import Report, build_report
from funnelcli.stats import wilson_interval

from .conftest import DATA
from .processes import run_funnel

F = Fraction
FUNNEL = str(DATA / "exports" / "salesforce_funnel.yaml")
AS_OF = dt.date(2025, 6, 1)


def report_of(name: str) -> Report:
    funnel = resolve_funnel(FUNNEL).funnel
    path = str(DATA / "unattributed" / name)
    return report_export(path, funnel, as_of=AS_OF, options=ReadOptions()).report


def test_wilson_interval_for_12_of_40_by_hand() -> None:
    # p = 0.3, n = 40, z = 1.644854 (90%): z²/n = 0.0676386;
    # centre (0.3 + 0.0338193) / 1.0676386 = 0.312670;
    # half z sqrt(0.21/40 + 2.705543/6400) / 1.0676386 = 0.116038.
    low, high = wilson_interval(12, 40)
    assert low == pytest.approx(0.312670 - 0.116038, abs=1e-5)
    assert high == pytest.approx(0.312670 + 0.116038, abs=1e-5)


def test_weighted_by_the_overall_win_rate() -> None:
    report = report_of("salesforce_like.csv")
    assert report.win_probability_from == "the overall win rate"
    # 12 / (12 + 28) = 3/10 at every open stage: 150,000 x 3/10 = 45,000.
    assert report.win_probabilities == (F(3, 10),) * 4 + (F(1),)
    money = report.primary_money
    assert money is not None and money.weighted_open_value == F(45000)
    assert all(stage.resolved_conversion is None for stage in report.stages)


def test_weighted_by_the_probability_column() -> None:
    report = report_of("salesforce_probability.csv")
    assert report.win_probability_from == "the export's 'Probability (%)' column"
    # Prospecting (10% + 30%) / 2 = 20%, Qualification 25%, Proposal 60%, Negotiation 80%:
    # 30,000 x 0.2 + 30,000 x 0.25 + 40,000 x 0.6 + 50,000 x 0.8 = 77,500.
    assert report.win_probabilities == (F(1, 5), F(1, 4), F(3, 5), F(4, 5), F(1))
    money = report.primary_money
    assert money is not None and money.weighted_open_value == F(77500)


def test_rates_from_the_probability_column() -> None:
    report = report_of("salesforce_probability.csv")
    rates, notes = stage_rates(resolve_funnel(FUNNEL).funnel, report)
    # P_i / P_{i+1}: 0.2/0.25 = 4/5, 0.25/0.6 = 5/12, 0.6/0.8 = 3/4, 0.8/1 = 4/5.
    assert [rate.rate for rate in rates] == [F(4, 5), F(5, 12), F(3, 4), F(4, 5)]
    assert all(rate.interval is None for rate in rates)
    assert "Probability (%)" in notes[0]


def test_rates_from_the_win_rate() -> None:
    report = report_of("salesforce_like.csv")
    rates, notes = stage_rates(resolve_funnel(FUNNEL).funnel, report)
    # 100% above Negotiation, the win rate 12/40 at Negotiation: P(win) 30% everywhere.
    assert [rate.rate for rate in rates] == [F(1), F(1), F(1), F(3, 10)]
    last = rates[-1]
    assert (last.moved_on, last.resolved, last.few) == (12, 40, False)  # 40 >= 30
    assert last.interval == pytest.approx((0.196632, 0.428708), abs=1e-5)
    assert notes[0].startswith("Rates from the overall win rate (12 won of 40 closed)")


def test_alerts_on_conversion_are_not_judged() -> None:
    # No stage's conversion is measured: a fail_below or bottleneck rule can neither fire
    # nor pass; each says why instead.
    report = report_of("salesforce_like.csv")
    result = evaluate(
        AlertRules(fail_below={"Prospecting": F(1, 2)}, fail_on_bottleneck=True), report
    )
    assert result.fired == ()
    assert result.not_judged == (
        "Prospecting resolved conversion not judged against 50%: "
        "the export does not say where deals were lost",
        "bottlenecks not judged: the export does not say where deals were lost",
    )


def test_init_from_an_export_without_lost_stages_writes_no_rate(tmp_path: Path) -> None:
    # zoho_default.csv: its Closed Lost deals carry no stage, so no stage's rate can be
    # measured; the file then has no conversion at all (a funnel needs all or none), and
    # says why, rather than a placeholder rate a plan would use.
    out = tmp_path / "funnel.yaml"
    result = run_funnel("init", str(out), "--from", str(DATA / "crm" / "zoho_default.csv"))
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "conversion:" not in text
    assert (
        "# No conversion rates: the export does not say at which stage its lost deals were "
        "lost (no stage dates, no history, no kept stage). Add your plan's rates to every stage.\n"
    ) in text
    assert run_funnel("validate", str(out)).returncode == 0


def test_probabilities_written_as_fractions() -> None:
    # 0.1 and 0,3 -> 0.2; 0.25; 0.6; 0.8: the same means as the percentages, so 77,500.
    report = report_of("probability_fractions.csv")
    assert report.win_probabilities == (F(1, 5), F(1, 4), F(3, 5), F(4, 5), F(1))
    money = report.primary_money
    assert money is not None and money.weighted_open_value == F(77500)


def test_a_cell_that_is_no_probability_is_refused() -> None:
    path = str(DATA / "unattributed" / "probability_bad.csv")
    result = run_funnel("report", path, "--funnel", FUNNEL, "--as-of", "2025-06-01")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"error: {path}: row 46: Probability (%) 'high' is not a probability; "
        "write it like 90, 90% or 0.9, or leave it blank"
    )


@pytest.mark.parametrize(
    ("stage", "entered", "timeline", "expected"),
    [
        (1, None, None, 1),  # the current stage
        (None, None, None, 0),  # no stage: the first
        (0, [None, None, dt.date(2025, 1, 2), None, None], None, 2),  # a later dated stage
        (3, [dt.date(2025, 1, 2), None, None, None, None], None, 3),  # the current is further
        (0, None, ((dt.date(2025, 1, 2), 1), (dt.date(2025, 1, 5), 3)), 3),  # its history
    ],
)
def test_open_stage_is_where_the_report_counts_the_deal(
    stage: int | None,
    entered: list[dt.date | None] | None,
    timeline: tuple[tuple[dt.date, int], ...] | None,
    expected: int,
) -> None:
    funnel = resolve_funnel(FUNNEL).funnel
    deal = Deal(row=2, outcome=Outcome.OPEN, stage=stage, entered=entered, timeline=timeline)
    assert open_stage(deal, len(funnel.stages)) == expected
    counted = build_report([deal], funnel, AS_OF)
    assert [figures.current for figures in counted.stages] == [
        int(index == expected) for index in range(len(funnel.stages))
    ]
    if timeline is None:  # the fast lane's tuple says the same (it carries no timeline)
        assert open_stage(deal_row(deal), len(funnel.stages)) == expected
