"""Bottlenecks: the noise rule with a plan, the revenue leak without one, worked by hand.

Deals are built here (as in ``tests/test_report.py``); each case shows its arithmetic.
The Wilson interval's ends are worked with z = 1.644854 (the standard normal's 95th
percentile, from any table) in the comments, and checked to four places.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
from typer.testing import CliRunner, Result

from funnelcli.cli import app
from funnelcli.deal_records import Deal
from funnelcli.render.report_view import bottleneck_sentence
from funnelcli.report import new_builder
from funnelcli.report_figures import Report, build_report
from funnelcli.segments import finish_slices

from .conftest import DATA
from .test_report import AS_OF, LOST, OPEN, WON, deal, make_funnel

F = Fraction
LEAD_DEMO_WON = ("Lead", "Demo", "Won")


def deals_by_stage(
    lost: list[int], won_amounts: list[int | None], open_at: list[int] | None = None
) -> list[Deal]:
    """``lost[i]`` deals lost at stage i, one won deal per amount, ``open_at[i]`` open at i."""
    deals: list[Deal] = []
    won_stage = len(lost)
    for stage, count in enumerate(lost):
        deals += [deal(len(deals) + 1, LOST, stage) for _ in range(count)]
    for stage, count in enumerate(open_at or []):
        deals += [deal(len(deals) + 1, OPEN, stage) for _ in range(count)]
    deals += [deal(len(deals) + 1, WON, won_stage, amount) for amount in won_amounts]
    return deals


# --- with a plan: the noise rule -----------------------------------------------------------
#
# Lead > Demo > Won. Lead: 100 deals left it, 30 reached Demo (70 lost at Lead): resolved
# 30/100. Demo: 15 won, 15 lost: resolved 50%, on its plan of 50%. Won amounts $1,000.
#
# 90% Wilson interval of 30/100: z^2/n = 2.705545/100 = 0.02705545;
#   centre = (0.3 + 0.01352773) / 1.02705545 = 0.3052685
#   half   = 1.644854 / 1.02705545 x sqrt(0.3 x 0.7 / 100 + 0.02705545 / 400)
#          = 1.601524 x sqrt(0.0021676386) = 1.601524 x 0.0465579 = 0.0745636
#   interval = [0.2307049, 0.3798322]


def thirty_of_a_hundred(lead_plan: str) -> Report:
    deals = deals_by_stage(lost=[70, 15], won_amounts=[1000] * 15)
    return build_report(deals, make_funnel((lead_plan, "50%"), (5, 5), LEAD_DEMO_WON), AS_OF)


def test_a_plan_inside_the_interval_names_no_bottleneck() -> None:
    report = thirty_of_a_hundred("35%")  # 0.35 <= 0.3798: within sampling noise
    assert report.bottleneck_by == "revenue"
    assert report.bottlenecks == ()
    (lead,) = report.within_noise
    assert (lead.stage, lead.actual, lead.planned) == ("Lead", F(3, 10), F(35, 100))
    assert lead.interval == pytest.approx((0.2307049, 0.3798322), abs=1e-6)
    assert bottleneck_sentence(report) == (
        "Every stage is within sampling noise of its plan; Lead is the furthest below: "
        "30% against 35% planned (90% interval 23.1%–38%)."
    )


def test_a_plan_outside_the_interval_is_a_bottleneck_with_its_impact() -> None:
    report = thirty_of_a_hundred("45%")  # 0.45 > 0.3798: beyond sampling noise
    # impact = (reached - current) x (planned - actual) x P(win | Demo) x average won
    #        = 100 x (45% - 30%) x 15/30 x 1000 = 7500
    (lead,) = report.bottlenecks
    assert (lead.stage, lead.next_stage, lead.revenue_impact) == ("Lead", "Demo", F(7500))
    assert report.within_noise == ()
    assert bottleneck_sentence(report) == (
        "Lead to Demo converts 30% against 45% planned (90% interval 23.1%–38%): "
        "about $7,500 lost. Fix this first."
    )


def test_the_interval_counts_only_the_deals_that_left_the_stage() -> None:
    # 400 more deals still open in Lead: reached 500, current 400; the trials stay 100, so
    # the interval is that of 30/100 and 35% is still within noise.
    deals = deals_by_stage(lost=[70, 15], won_amounts=[1000] * 15, open_at=[400])
    report = build_report(deals, make_funnel(("35%", "50%"), (5, 5), LEAD_DEMO_WON), AS_OF)
    assert report.bottlenecks == ()
    assert report.within_noise[0].interval == pytest.approx((0.2307049, 0.3798322), abs=1e-6)


# Two stages beyond noise, ranked by impact, not by gap. Lead: 300 left, 90 reached Demo
# (30%), planned 40% (gap 10 points). Demo: 90 left, 36 won (40%), planned 52% (gap 12).
#   Lead 90/300: z^2/n = 0.00901848; centre = 0.30450924 / 1.00901848 = 0.3017876;
#     half = 1.630152 x sqrt(0.0007 + 0.00000752) = 1.630152 x 0.0265992 = 0.0433607;
#     interval [0.2584269, 0.3451483]; 0.3451483 < 0.40: beyond.
#   Demo 36/90: z^2/n = 0.03006161; centre = 0.41503081 / 1.03006161 = 0.4029184;
#     half = 1.596850 x sqrt(0.00266667 + 0.00008351) = 1.596850 x 0.0524421 = 0.0837421;
#     interval [0.3191763, 0.4866606]; 0.4866606 < 0.52: beyond.
#   impact Lead = 300 x 1/10 x P(win | Demo) 2/5 x 1000 = 12000
#   impact Demo =  90 x 3/25 x P(win | Won) 1 x 1000 = 10800


def test_bottlenecks_beyond_noise_rank_by_revenue_impact() -> None:
    deals = deals_by_stage(lost=[210, 54], won_amounts=[1000] * 36)
    report = build_report(deals, make_funnel(("40%", "52%"), (5, 5), LEAD_DEMO_WON), AS_OF)
    ranked = [(b.stage, b.revenue_impact) for b in report.bottlenecks]
    assert ranked == [("Lead", F(12000)), ("Demo", F(10800))]
    assert report.bottlenecks[0].interval == pytest.approx((0.2584269, 0.3451483), abs=1e-6)
    assert report.bottlenecks[1].interval == pytest.approx((0.3191763, 0.4866606), abs=1e-6)


def test_the_largest_gap_within_noise_is_named_first() -> None:
    # Lead 30/100 planned 35% (5 points, within); Demo 15/30 planned 60% (10 points):
    # 15/30: z^2/n = 0.0901848; centre = 0.5; half = 1.508781 x sqrt(0.0083333 + 0.00075154)
    # = 1.508785 x 0.0953146 = 0.1438092; interval [0.3561908, 0.6438092]; 0.6438092 >= 0.60:
    # within.
    deals = deals_by_stage(lost=[70, 15], won_amounts=[1000] * 15)
    report = build_report(deals, make_funnel(("35%", "60%"), (5, 5), LEAD_DEMO_WON), AS_OF)
    assert report.bottlenecks == ()
    assert [(b.stage, b.gap) for b in report.within_noise] == [
        ("Demo", F(1, 10)),
        ("Lead", F(1, 20)),
    ]
    assert report.within_noise[0].interval == pytest.approx((0.3561908, 0.6438092), abs=1e-6)


def test_a_plan_met_is_no_bottleneck_at_any_count() -> None:
    report = thirty_of_a_hundred("30%")
    assert (report.bottlenecks, report.within_noise) == ((), ())
    assert bottleneck_sentence(report) == "Every stage converts at or above its planned rate."


# --- without a plan: the revenue leak ------------------------------------------------------
#
# Lead > Demo > Proposal > Won, no planned rates. Lost: Lead 30, Demo 12, Proposal 3;
# won: 2, at $5,000 and $15,000 (average $10,000).
#   reached: Won 2, Proposal 5, Demo 17, Lead 47
#   P(win | Won) = 1; P(win | Proposal) = 2/5; P(win | Demo) = 5/17 x 2/5 = 2/17
#   leak = lost x P(win | reached the next stage) x average won:
#     Lead     30 x 2/17 x 10000 = 600000/17 = 35294.12
#     Demo     12 x 2/5  x 10000 = 48000
#     Proposal  3 x 1    x 10000 = 30000
#   Lead lost the most deals; Demo leaks the most revenue.

FOUR_STAGES = ("Lead", "Demo", "Proposal", "Won")


def leak_report(won_amounts: list[int | None]) -> Report:
    deals = deals_by_stage(lost=[30, 12, 3], won_amounts=won_amounts)
    return build_report(deals, make_funnel((None, None, None), names=FOUR_STAGES), AS_OF)


def test_without_a_plan_the_bottleneck_is_the_largest_revenue_leak() -> None:
    report = leak_report([5000, 15000])
    assert report.bottleneck_by == "revenue leak"
    ranked = [(b.stage, b.lost, b.win_from_next, b.revenue_leak) for b in report.bottlenecks]
    assert ranked == [
        ("Demo", 12, F(2, 5), F(48000)),
        ("Lead", 30, F(2, 17), F(600000, 17)),
        ("Proposal", 3, F(1), F(30000)),
    ]
    assert all(b.planned is None and b.interval is None for b in report.bottlenecks)
    assert bottleneck_sentence(report) == (
        "Most revenue leaks at Demo: 12 deals lost there; deals that reached Proposal won 40% "
        "of the time at $10,000 per won deal on average: about $48,000 lost."
    )


def test_without_won_amounts_the_leak_is_counted_in_wins() -> None:
    # expected wins lost = lost x P(win | next): Demo 12 x 2/5 = 4.8, Lead 30 x 2/17 = 3.53,
    # Proposal 3 x 1 = 3.
    report = leak_report([None, None])
    assert report.bottleneck_by == "expected wins lost"
    ranked = [(b.stage, b.expected_wins_lost, b.revenue_leak) for b in report.bottlenecks]
    assert ranked == [("Demo", F(24, 5), None), ("Lead", F(60, 17), None), ("Proposal", 3, None)]
    assert bottleneck_sentence(report) == (
        "Most wins are lost at Demo: 12 deals lost there; deals that reached Proposal won 40% "
        "of the time: about 4.8 wins lost (not priced: no won deal has an amount)."
    )


def test_a_leak_before_the_won_stage_needs_no_odds() -> None:
    # Only Proposal loses deals: 3 lost; leak 3 x 1 x 10000.
    deals = deals_by_stage(lost=[0, 0, 3], won_amounts=[5000, 15000])
    report = build_report(deals, make_funnel((None, None, None), names=FOUR_STAGES), AS_OF)
    assert bottleneck_sentence(report) == (
        "Most revenue leaks at Proposal: 3 deals lost there; each a won deal lost, $10,000 "
        "on average: about $30,000 lost."
    )


def test_with_several_currencies_the_leak_is_counted_in_wins() -> None:
    # Lost: Lead 4, Demo 1; won: $1,000 and EUR 1,000 (no single average won value).
    # reached: Won 2, Demo 3; P(win | Demo) = 2/3, P(win | Won) = 1.
    # expected wins lost: Lead 4 x 2/3 = 8/3 (2.7 shown), Demo 1 x 1 = 1.
    deals = deals_by_stage(lost=[4, 1], won_amounts=[1000])
    deals.append(deal(len(deals) + 1, WON, 2, 1000, currency="EUR"))
    report = build_report(deals, make_funnel((None, None), (5, 5), LEAD_DEMO_WON), AS_OF)
    assert report.bottleneck_by == "expected wins lost"
    assert [(b.stage, b.expected_wins_lost) for b in report.bottlenecks] == [
        ("Lead", F(8, 3)),
        ("Demo", F(1)),
    ]
    assert bottleneck_sentence(report) == (
        "Most wins are lost at Lead: 4 deals lost there; deals that reached Demo won 66.7% "
        "of the time: about 2.7 wins lost (not priced: the export mixes currencies)."
    )


def test_a_leak_whose_odds_are_unknown_ranks_by_lost_deals() -> None:
    # Lead: 5 lost, 3 reached Demo and are still open there: nothing has left Demo, so
    # P(win | reached Demo) is unknown (no plan stands in) and no leak can be priced.
    deals = deals_by_stage(lost=[5, 0], won_amounts=[], open_at=[0, 3])
    report = build_report(deals, make_funnel((None, None), (5, 5), LEAD_DEMO_WON), AS_OF)
    (lead,) = report.bottlenecks
    assert (lead.stage, lead.lost, lead.win_from_next, lead.revenue_leak) == ("Lead", 5, None, None)
    assert bottleneck_sentence(report) == (
        "Most deals are lost at Lead: 5 deals lost there; how often deals that reached Demo "
        "win is not known yet."
    )


# --- segments follow the same rules --------------------------------------------------------


def test_a_segment_is_named_only_beyond_noise() -> None:
    # Both segments convert Lead 30% (planned 45%) and Demo 50% (planned 50%): "small"
    # with 6/20 at Lead, "large" with 30/100. Only "large" is beyond noise at Lead.
    # small, 6/20: z^2/n = 0.13527723; centre = 0.36763862 / 1.13527723 = 0.3238316;
    # half = 1.448857 x sqrt(0.0105 + 0.00169097) = 1.448857 x 0.1104127 = 0.1599722;
    # high = 0.4838038 >= 0.45: within noise. large: high 0.3798322 < 0.45 (see above).
    funnel = make_funnel(("45%", "50%"), (5, 5), LEAD_DEMO_WON)
    builders = {}
    for name, scale in (("small", 1), ("large", 5)):
        builder = new_builder(funnel, AS_OF)
        for one in deals_by_stage(lost=[14 * scale, 3 * scale], won_amounts=[1000] * 3 * scale):
            builder.add(one)
        builders[name] = builder
    rows = finish_slices(builders, funnel, sort_by_name=True)
    assert [(row.name, row.bottleneck) for row in rows] == [("large", "Lead"), ("small", None)]


def test_wilson_arithmetic_of_the_comments() -> None:
    """The comments' interval ends, from the formula with a tabled z."""
    z = 1.644854

    def ends(successes: int, trials: int) -> tuple[float, float]:
        p, z2n = successes / trials, z * z / trials
        centre = (p + z2n / 2) / (1 + z2n)
        half = z / (1 + z2n) * math.sqrt(p * (1 - p) / trials + z2n / (4 * trials))
        return centre - half, centre + half

    assert ends(30, 100) == pytest.approx((0.2307049, 0.3798322), abs=1e-7)
    assert ends(90, 300) == pytest.approx((0.2584269, 0.3451483), abs=1e-7)
    assert ends(36, 90) == pytest.approx((0.3191763, 0.4866606), abs=1e-7)
    assert ends(15, 30) == pytest.approx((0.3561908, 0.6438092), abs=1e-7)
    assert ends(6, 20) == pytest.approx((0.1638594, 0.4838038), abs=1e-7)
    # The README's segment example: GTK 500's Engaging, 15 won of 25 resolved, 70% planned.
    assert ends(15, 25) == pytest.approx((0.4368325, 0.7436368), abs=1e-7)


# --- through the command: every format says the same (tests/data/bottleneck/SOURCE.md) ---

CASES = DATA / "bottleneck"
runner = CliRunner()


def run_report(export: str, funnel: str, *args: str) -> Result:
    result = runner.invoke(
        app,
        ["report", str(CASES / export), "-F", str(CASES / funnel), "--as-of", "2025-01-01", *args],
        prog_name="funnel",
    )
    assert result.exit_code == 0, result.stderr
    return result


def test_json_bottleneck_beyond_noise() -> None:
    # As test_a_plan_outside_the_interval_is_a_bottleneck_with_its_impact, from a file.
    data = json.loads(
        run_report("thirty_of_a_hundred.csv", "lead_demo_45.yaml", "-f", "json").stdout
    )
    assert data["bottleneck_by"] == "revenue"
    (lead,) = data["bottlenecks"]
    assert (lead["stage"], lead["planned"], lead["revenue_impact"]) == ("Lead", 0.45, 7500)
    assert lead["interval"] == pytest.approx([0.2307049, 0.3798322], abs=1e-6)
    assert (lead["win_from_next"], lead["revenue_leak"]) == (0.5, None)
    assert data["below_plan_within_noise"] == []


def test_json_within_noise_lists_the_stage_and_names_no_bottleneck() -> None:
    data = json.loads(
        run_report("thirty_of_a_hundred.csv", "lead_demo_35.yaml", "-f", "json").stdout
    )
    assert data["bottlenecks"] == []
    assert [row["stage"] for row in data["below_plan_within_noise"]] == ["Lead"]


def test_fail_on_bottleneck_fires_only_beyond_noise() -> None:
    beyond = runner.invoke(
        app,
        [
            "report",
            str(CASES / "thirty_of_a_hundred.csv"),
            "-F",
            str(CASES / "lead_demo_45.yaml"),
            "--fail-on-bottleneck",
            "-q",
        ],
    )
    assert beyond.exit_code == 1
    within = run_report("thirty_of_a_hundred.csv", "lead_demo_35.yaml", "--fail-on-bottleneck")
    assert "alert:" not in within.stderr


def test_without_rates_the_table_has_no_plan_column_and_names_the_leak() -> None:
    # Markdown: the Plan column goes; the sentence is the leak one (see leak_report).
    lines = run_report("leak.csv", "four_stages_no_rates.yaml", "-f", "markdown").stdout
    assert lines.splitlines()[4:9] == [
        "### Stages",
        "",
        "| Stage | Reached | Open | Lost | To next | Resolved | Cum. | Open value | Days |",
        "|:---|---:|---:|---:|---:|---:|---:|---:|---:|",
        # reached 47, lost 30; to next 17/47 = 36.2%; cumulative 100%.
        "| Lead | 47 | 0 | 30 | 36.2% | 36.2% | 100% | $0 | – |",
    ]
    assert (
        "**Bottleneck:** Most revenue leaks at Demo: 12 deals lost there; deals that reached "
        "Proposal won 40% of the time at $10,000 per won deal on average: about $48,000 lost."
    ) in lines.splitlines()
    data = json.loads(run_report("leak.csv", "four_stages_no_rates.yaml", "-f", "json").stdout)
    assert data["bottleneck_by"] == "revenue leak"
    assert [(row["stage"], row["revenue_leak"]) for row in data["bottlenecks"]] == [
        ("Demo", 48000),
        ("Lead", round(600000 / 17, 2)),
        ("Proposal", 30000),
    ]
    assert all(stage["planned_conversion"] is None for stage in data["stages"])


def test_without_rates_the_terminal_table_has_no_plan_column(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for every column in one table

    def header(export: str, funnel: str) -> list[str]:
        lines = run_report(export, funnel).stdout.splitlines()
        return next(line for line in lines if line.startswith("Stage")).split()

    planned = header("thirty_of_a_hundred.csv", "lead_demo_45.yaml")
    assert planned[planned.index("Resolved") + 1] == "Plan"  # beside the rate it plans
    assert "Plan" not in header("leak.csv", "four_stages_no_rates.yaml")
