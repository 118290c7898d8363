"""The report's pure core: deal lists built here, every expected figure worked out by hand.

The definitions are those of ``funnelcli/report.py``'s docstring. Each hand case shows
its arithmetic in comments; the property tests check the identities on random deals.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelcli.deal_records import Deal, Outcome
from funnelcli.definition import Funnel, build_funnel
from funnelcli.report import new_builder
from funnelcli.report_figures import Report, build_report, finish

F = Fraction
WON, LOST, OPEN = Outcome.WON, Outcome.LOST, Outcome.OPEN
AS_OF = dt.date(2024, 3, 1)
STAGE_NAMES = ("Lead", "Qualified", "Proposal", "Won")


def make_funnel(
    rates: Sequence[str | None] = ("90%", "90%", "90%"),
    days: Sequence[int | None] = (5, 10, 7),
    names: Sequence[str] = STAGE_NAMES,
) -> Funnel:
    """A funnel built the way a YAML file is: rates and days on every stage but the last."""
    stages: list[dict[str, object]] = []
    for index, name in enumerate(names[:-1]):
        stage: dict[str, object] = {"name": name}
        if rates[index] is not None:
            stage["conversion"] = rates[index]
        if days[index] is not None:
            stage["days"] = days[index]
        stages.append(stage)
    stages.append({"name": names[-1]})
    return build_funnel({"name": "Test funnel", "stages": stages}, "test.yaml").funnel


def day(month: int, day_of_month: int) -> dt.date:
    return dt.date(2024, month, day_of_month)


def deal(
    row: int,
    outcome: Outcome,
    stage: int | None,
    amount: int | None = None,
    **fields: object,
) -> Deal:
    return Deal(
        row=row,
        outcome=outcome,
        stage=stage,
        id=f"D{row}",
        amount=Decimal(amount) if amount is not None else None,
        currency=fields.pop("currency", "USD"),  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )


# --- the main hand case: 11 deals, no stage dates ------------------------------------------
#
# Stages Lead(0) > Qualified(1) > Proposal(2) > Won(3); planned 90%, 90%, 90%; days 5, 10, 7.
#
#  row outcome stage amount  created  closed   furthest f
#   1  won     3     1000    01-01    01-31    3   cycle 30
#   2  won     3     3000    01-01    02-20    3   cycle 50
#   3  won     3     2000    01-10    01-20    3   cycle 10
#   4  lost    0      500                      0
#   5  lost    1      700                      1
#   6  lost    2        -                      2
#   7  lost    ?        -                      0   (unknown: no stage, no dates)
#   8  open    0      400    02-01             0   29 days in stage as of 03-01
#   9  open    1     1000    02-25             1    5 days
#  10  open    2     2000    02-10             2   20 days
#  11  open    2        -    02-16             2   14 days


def main_deals() -> list[Deal]:
    return [
        deal(1, WON, 3, 1000, created=day(1, 1), closed=day(1, 31)),
        deal(2, WON, 3, 3000, created=day(1, 1), closed=day(2, 20)),
        deal(3, WON, 3, 2000, created=day(1, 10), closed=day(1, 20)),
        deal(4, LOST, 0, 500),
        deal(5, LOST, 1, 700),
        deal(6, LOST, 2),
        deal(7, LOST, None),
        deal(8, OPEN, 0, 400, created=day(2, 1)),
        deal(9, OPEN, 1, 1000, created=day(2, 25)),
        deal(10, OPEN, 2, 2000, created=day(2, 10)),
        deal(11, OPEN, 2, created=day(2, 16)),
    ]


@pytest.fixture
def main_report() -> Report:
    return build_report(main_deals(), make_funnel(), AS_OF)


def attributed_deals() -> list[Deal]:
    """The main case with row 7 lost at Lead, where the main case counts it: the same
    counts, and losses all attributed, so that conversions can be measured."""
    return [deal(7, LOST, 0) if item.row == 7 else item for item in main_deals()]


@pytest.fixture
def attributed_report() -> Report:
    return build_report(attributed_deals(), make_funnel(), AS_OF)


def test_unattributed_losses_measure_no_conversion_by_hand(main_report: Report) -> None:
    # Row 7 is lost at an unknown stage: no stage's resolved conversion is measured.
    assert main_report.losses_unattributed
    assert [stage.resolved_conversion for stage in main_report.stages] == [None] * 4
    # Open deals are weighted by the overall win rate 3 / (3 + 4) = 3/7 at every open
    # stage: (400 + 1000 + 2000) x 3/7 = 10200/7; the won stage keeps 1.
    assert main_report.win_probabilities == (F(3, 7), F(3, 7), F(3, 7), F(1))
    assert main_report.win_probability_from == "the overall win rate"
    money = main_report.primary_money
    assert money is not None
    assert money.weighted_open_value == F(10200, 7)
    # Nothing is measured, so nothing is ranked; the note says how to fix the export.
    assert main_report.bottlenecks == ()
    assert len(main_report.notes) == 1
    assert "--history" in main_report.notes[0]


def test_stage_counts_by_hand(main_report: Report) -> None:
    # f = 0: rows 4, 7, 8; f = 1: rows 5, 9; f = 2: rows 6, 10, 11; f = 3: rows 1, 2, 3.
    # reached = [3+2+3+3, 2+3+3, 3+3, 3] = [11, 8, 6, 3]
    stages = main_report.stages
    assert [stage.reached for stage in stages] == [11, 8, 6, 3]
    assert [stage.current for stage in stages] == [1, 1, 2, 0]
    assert [stage.lost for stage in stages] == [2, 1, 1, 0]  # rows 4 and 7 at Lead
    assert [stage.name for stage in stages] == list(STAGE_NAMES)
    assert (main_report.won, main_report.lost, main_report.open) == (3, 4, 4)
    assert main_report.lost_unknown_stage == 1  # row 7


def test_conversions_by_hand(attributed_report: Report) -> None:
    stages = attributed_report.stages
    # conversion_to_next = reached[i+1] / reached[i]: 8/11, 6/8, 3/6
    assert [stage.conversion_to_next for stage in stages] == [F(8, 11), F(3, 4), F(1, 2), None]
    # resolved = reached[i+1] / (reached[i] - current[i]): 8/(11-1), 6/(8-1), 3/(6-2)
    assert [stage.resolved_conversion for stage in stages] == [F(4, 5), F(6, 7), F(3, 4), None]
    # cumulative = reached[i] / reached[0]: 11/11, 8/11, 6/11, 3/11
    assert [stage.cumulative_conversion for stage in stages] == [F(1), F(8, 11), F(6, 11), F(3, 11)]
    assert [stage.planned_conversion for stage in stages] == [F(9, 10)] * 3 + [None]
    # won / (won + lost) = 3 / (3 + 4)
    assert attributed_report.win_rate == F(3, 7)


def test_money_by_hand(attributed_report: Report) -> None:
    assert attributed_report.currency == "USD"
    assert len(attributed_report.money) == 1
    money = attributed_report.primary_money
    assert money is not None
    assert money.currency == "USD"
    assert money.won_value == Decimal(6000)  # 1000 + 3000 + 2000
    assert money.average_won_value == F(2000)  # 6000 / 3
    assert money.median_won_value == 2000.0  # middle of 1000, 2000, 3000
    assert money.lost_value == Decimal(1200)  # 500 + 700; rows 6 and 7 have no amount
    assert money.open_by_stage == (Decimal(400), Decimal(1000), Decimal(2000), Decimal(0))
    assert money.open_value == Decimal(3400)
    # P(win from i) = product of resolved conversions from i down:
    #   P3 = 1, P2 = 3/4, P1 = 6/7 * 3/4 = 9/14, P0 = 4/5 * 9/14 = 18/35
    # weighted = 400 * 18/35 + 1000 * 9/14 + 2000 * 3/4 = 1440/7 + 4500/7 + 1500 = 16440/7
    assert money.weighted_open_value == F(16440, 7)
    assert attributed_report.won_without_amount == 0


def test_cycle_and_velocity_by_hand(main_report: Report) -> None:
    # cycle days sorted [10, 30, 50]; median 30;
    # p90: position (3 - 1) * 0.9 = 1.8 -> 30 + 0.8 * (50 - 30) = 46
    assert main_report.median_cycle_days == 30
    assert main_report.p90_cycle_days == pytest.approx(46)
    # velocity = open deals x win rate x average won / median cycle = 4 * 3/7 * 2000 / 30
    assert main_report.sales_velocity_per_day == F(800, 7)
    assert main_report.negative_durations == 0
    assert main_report.has_stage_dates is False
    assert all(stage.median_days_in_stage is None for stage in main_report.stages)


def test_gaps_within_noise_name_no_bottleneck_impact_by_hand(attributed_report: Report) -> None:
    # Every stage is below its 90% plan, but within sampling noise: the 90% Wilson
    # interval's high end (z = 1.644854, as in tests/test_bottleneck.py) is above 90%:
    #   Lead 8/10 -> 0.9314; Qualified 6/7 -> 0.9675; Proposal 3/4 -> 0.9421.
    # impact = (reached - current) x (planned - actual) x P(win from next) x average won
    #   Lead:      (11 - 1) x (9/10 - 4/5)  x 9/14 x 2000 = 10 x 1/10 x 9/14 x 2000 = 9000/7
    #   Qualified: (8 - 1)  x (9/10 - 6/7)  x 3/4  x 2000 = 7 x 3/70 x 3/4 x 2000   = 450
    #   Proposal:  (6 - 2)  x (9/10 - 3/4)  x 1    x 2000 = 4 x 3/20 x 2000         = 1200
    # Within noise they are listed furthest below plan first: Proposal (15 points),
    # Lead (10), Qualified (3/70, 4.3).
    assert attributed_report.bottleneck_by == "revenue"
    assert attributed_report.bottlenecks == ()
    ranked = [(b.stage, b.next_stage, b.revenue_impact) for b in attributed_report.within_noise]
    assert ranked == [
        ("Proposal", "Won", F(1200)),
        ("Lead", "Qualified", F(9000, 7)),
        ("Qualified", "Proposal", F(450)),
    ]
    highs = [b.interval[1] for b in attributed_report.within_noise if b.interval]
    assert highs == pytest.approx([0.9421, 0.9314, 0.9675], abs=1e-4)
    lead = attributed_report.within_noise[1]
    assert (lead.actual, lead.planned, lead.lost) == (F(4, 5), F(9, 10), 2)


def test_stage_at_or_above_plan_is_not_below_plan() -> None:
    # Same deals; planned Lead 80% equals its actual 4/5, Qualified 50% is below 6/7:
    # only Proposal (planned 90% > 3/4) remains, impact 4 x 3/20 x 1 x 2000 = 1200, and
    # within noise (see above).
    report = build_report(attributed_deals(), make_funnel(rates=("80%", "50%", "90%")), AS_OF)
    assert report.bottlenecks == ()
    assert [(b.stage, b.revenue_impact) for b in report.within_noise] == [("Proposal", F(1200))]


def test_stale_by_hand(main_report: Report) -> None:
    # limits 2 x days: Lead 10, Qualified 20, Proposal 14; days since created as of 03-01
    # (2024 is a leap year): row 8 29 > 10 stale; row 9 5 <= 20; row 10 20 > 14 stale;
    # row 11 14, not above 14. Oldest first.
    assert [(s.id, s.stage, s.days, s.value) for s in main_report.stale] == [
        ("D8", "Lead", 29, Decimal(400)),
        ("D10", "Proposal", 20, Decimal(2000)),
    ]


def test_stale_days_option_overrides_stage_days() -> None:
    # --stale-days 15: row 8 (29) and row 10 (20) are above 15; row 11 (14), row 9 (5) not.
    report = build_report(main_deals(), make_funnel(), AS_OF, stale_days=15)
    assert [s.id for s in report.stale] == ["D8", "D10"]
    report = build_report(main_deals(), make_funnel(), AS_OF, stale_days=13)
    assert [s.id for s in report.stale] == ["D8", "D10", "D11"]


def test_stale_counts_days_in_the_stage_when_dated() -> None:
    # Created long ago, but in Qualified since 02-20: 10 days, below the limit of 20.
    # The other entered Qualified on 01-20: 41 days, above 20.
    deals = [
        deal(1, OPEN, 1, created=day(1, 1), entered=[day(1, 1), day(2, 20), None, None]),
        deal(2, OPEN, 1, created=day(1, 1), entered=[day(1, 1), day(1, 20), None, None]),
    ]
    report = build_report(deals, make_funnel(), AS_OF)
    assert [(s.id, s.days) for s in report.stale] == [("D2", 41)]


def test_stage_without_days_has_no_stale_deals() -> None:
    deals = [deal(1, OPEN, 0, created=day(1, 1))]  # 60 days in Lead
    assert build_report(deals, make_funnel(days=(None, 10, 7)), AS_OF).stale == ()
    assert len(build_report(deals, make_funnel(), AS_OF).stale) == 1


# --- stage dates: skipped stages, days in stage, negative durations -------------------------
#
#  row outcome stage entered (Lead, Qualified, Proposal, Won)  closed  f
#   A  lost    ?     01-01, -,     01-11, -                   01-21   2 (skips Qualified)
#   B  won     3     01-01, 01-05, 01-15, 02-01               02-01   3 (created 01-01)
#   C  open    1     01-01, 01-03, -,     -                           1
#   D  open    0     01-10, -,     -,     -                           0
#   E  lost    ?     01-01, 01-21, -,     -                   01-11   1
#   F  won     3     (none), created 02-01                    01-01   3 (negative cycle)
#
# days in stage, entering i to entering the next dated stage (or closing):
#   Lead:      A 01-01..01-11 = 10, B 4, C 2, E 20; D is still in Lead (excluded)
#   Qualified: B 10; C still in Qualified (excluded); E 01-21..01-11 = -10 (negative)
#   Proposal:  A 01-11..01-21 = 10, B 17


def dated_deals() -> list[Deal]:
    return [
        deal(1, LOST, None, closed=day(1, 21), entered=[day(1, 1), None, day(1, 11), None]),
        deal(
            2,
            WON,
            3,
            100,
            created=day(1, 1),
            closed=day(2, 1),
            entered=[day(1, 1), day(1, 5), day(1, 15), day(2, 1)],
        ),
        deal(3, OPEN, 1, entered=[day(1, 1), day(1, 3), None, None]),
        deal(4, OPEN, 0, entered=[day(1, 10), None, None, None]),
        deal(5, LOST, None, closed=day(1, 11), entered=[day(1, 1), day(1, 21), None, None]),
        deal(6, WON, 3, 100, created=day(2, 1), closed=day(1, 1)),
    ]


def test_dated_counts_by_hand() -> None:
    report = build_report(dated_deals(), make_funnel(), AS_OF)
    # f: A 2, B 3, C 1, D 0, E 1, F 3 -> reached [6, 5, 3, 2]
    assert [stage.reached for stage in report.stages] == [6, 5, 3, 2]
    assert [stage.current for stage in report.stages] == [1, 1, 0, 0]
    assert [stage.lost for stage in report.stages] == [0, 1, 1, 0]
    assert report.lost_unknown_stage == 0  # A and E have dates
    assert report.has_stage_dates is True


def test_skipped_stage_counts_as_reached() -> None:
    # Entered Lead and Proposal only: it passed through Qualified, so f = 2.
    only = [deal(1, LOST, None, closed=day(1, 21), entered=[day(1, 1), None, day(1, 11), None])]
    report = build_report(only, make_funnel(), AS_OF)
    assert [stage.reached for stage in report.stages] == [1, 1, 1, 0]
    assert [stage.lost for stage in report.stages] == [0, 0, 1, 0]
    assert report.lost_unknown_stage == 0


def test_current_stage_further_than_dates_wins() -> None:
    # An open deal now in Proposal whose only date is for Lead: f = 2 (the current stage).
    only = [deal(1, OPEN, 2, entered=[day(1, 1), None, None, None])]
    report = build_report(only, make_funnel(), AS_OF)
    assert [stage.reached for stage in report.stages] == [1, 1, 1, 0]
    assert [stage.current for stage in report.stages] == [0, 0, 1, 0]


def test_days_in_stage_by_hand() -> None:
    report = build_report(dated_deals(), make_funnel(), AS_OF)
    lead, qualified, proposal, won = report.stages
    # Lead sorted [2, 4, 10, 20]: median (4 + 10) / 2 = 7;
    # p90 position 3 x 0.9 = 2.7 -> 10 + 0.7 x (20 - 10) = 17
    assert lead.median_days_in_stage == 7
    assert lead.p90_days_in_stage == pytest.approx(17)
    # Qualified: only B's 10 (C is still there; E's -10 is a negative duration)
    assert qualified.median_days_in_stage == 10
    # Proposal [10, 17]: median 13.5
    assert proposal.median_days_in_stage == 13.5
    assert won.median_days_in_stage is None


def test_negative_durations_counted_and_not_used() -> None:
    report = build_report(dated_deals(), make_funnel(), AS_OF)
    # E's Qualified (-10 days) and F's cycle (closed 01-01 before created 02-01)
    assert report.negative_durations == 2
    # Cycle days: B 01-01..02-01 = 31 only; F left out.
    assert report.median_cycle_days == 31
    assert report.p90_cycle_days == 31


def test_open_deal_in_stage_is_excluded_from_days() -> None:
    # Two deals entered Lead on 01-01; one moved on 01-05, the other is still there.
    deals = [
        deal(1, OPEN, 1, entered=[day(1, 1), day(1, 5), None, None]),
        deal(2, OPEN, 0, entered=[day(1, 1), None, None, None]),
    ]
    report = build_report(deals, make_funnel(), AS_OF)
    assert report.stages[0].median_days_in_stage == 4  # deal 1 only
    assert report.stages[1].median_days_in_stage is None  # deal 1 is still in Qualified


# --- no planned rates: bottlenecks by revenue leak ------------------------------------------


def test_without_rates_bottlenecks_rank_by_revenue_leak() -> None:
    funnel = make_funnel(rates=(None, None, None))
    assert not funnel.has_rates
    # lost: Qualified 1, Proposal 3; Lead none (not a bottleneck); 2 won; 1 open in Lead.
    deals = [
        deal(1, OPEN, 0),
        deal(2, LOST, 1),
        deal(3, LOST, 2),
        deal(4, LOST, 2),
        deal(5, LOST, 2),
        deal(6, WON, 3, 100),
        deal(7, WON, 3, 300),
    ]
    report = build_report(deals, funnel, AS_OF)
    # reached [7, 6, 5, 2]; resolved: 6/(7-1) = 1, 5/6, 2/5
    # P(win | reached Won) = 1, P(win | reached Proposal) = 2/5; average won (100 + 300) / 2
    # leak = lost x P(win | next) x average: Proposal 3 x 1 x 200 = 600;
    # Qualified 1 x 2/5 x 200 = 80.
    assert [stage.reached for stage in report.stages] == [7, 6, 5, 2]
    assert report.bottleneck_by == "revenue leak"
    assert [(b.stage, b.lost, b.actual, b.revenue_leak) for b in report.bottlenecks] == [
        ("Proposal", 3, F(2, 5), F(600)),
        ("Qualified", 1, F(5, 6), F(80)),
    ]
    assert all(b.planned is None and b.revenue_impact is None for b in report.bottlenecks)


# --- currencies ------------------------------------------------------------------------------


def test_multi_currency_gives_one_money_figure_per_currency() -> None:
    deals = [
        deal(1, WON, 3, 100, currency="USD"),
        deal(2, WON, 3, 300, currency="USD"),
        deal(3, WON, 3, 50, currency="EUR"),
        deal(4, OPEN, 0, 200, currency="EUR"),
        deal(5, LOST, 1, 70, currency="USD"),
        deal(6, OPEN, 1, 80, currency="USD"),
    ]
    report = build_report(deals, make_funnel(), AS_OF)
    assert report.currency is None
    assert report.primary_money is None
    by_code = {money.currency: money for money in report.money}
    assert [money.currency for money in report.money] == ["USD", "EUR"]  # most won first
    usd, eur = by_code["USD"], by_code["EUR"]
    assert (usd.won_value, usd.average_won_value, usd.median_won_value) == (
        Decimal(400),
        F(200),
        200.0,
    )
    assert usd.lost_value == Decimal(70)
    assert usd.open_by_stage == (Decimal(0), Decimal(80), Decimal(0), Decimal(0))
    assert (eur.won_value, eur.average_won_value, eur.open_value) == (
        Decimal(50),
        F(50),
        Decimal(200),
    )
    # reached [6, 5, 3, 3], current [1, 1, 0, 0]: resolved 5/5, 3/4, 3/3
    # P(win from Lead) = 1 x 3/4 x 1 = 3/4; EUR weighted 200 x 3/4 = 150;
    # P(win from Qualified) = 3/4; USD weighted 80 x 3/4 = 60
    assert eur.weighted_open_value == F(150)
    assert usd.weighted_open_value == F(60)
    # No single average won value: no velocity, and no revenue impact on stages below plan
    # (Qualified 3/4 against 90%, within noise: high end 0.9421, see above).
    assert report.sales_velocity_per_day is None
    assert [b.stage for b in report.within_noise] == ["Qualified"]
    assert all(b.revenue_impact is None for b in report.within_noise)


def test_no_deals_reports_the_funnel_currency_and_no_rates() -> None:
    report = build_report([], make_funnel(), AS_OF)
    assert report.currency == "USD"
    assert report.money == ()
    assert report.win_rate is None
    assert [stage.reached for stage in report.stages] == [0, 0, 0, 0]
    assert all(stage.cumulative_conversion is None for stage in report.stages)
    assert report.median_cycle_days is None
    assert report.bottlenecks == ()


def test_currency_order_does_not_depend_on_deal_order() -> None:
    deals = [deal(1, WON, 3, 10, currency="USD"), deal(2, WON, 3, 20, currency="EUR")]
    forward = build_report(deals, make_funnel(), AS_OF)
    backward = build_report(deals[::-1], make_funnel(), AS_OF)
    assert [m.currency for m in forward.money] == [m.currency for m in backward.money]


def test_merge_leaves_the_other_builder_unchanged() -> None:
    funnel = make_funnel()
    first = new_builder(funnel, AS_OF)
    first.add(deal(1, WON, 3, 20, currency="EUR"))
    second = new_builder(funnel, AS_OF)
    second.add(deal(2, WON, 3, 30, currency="EUR"))
    total = new_builder(funnel, AS_OF)
    total.merge(first)
    total.merge(second)
    # first alone: one EUR won deal of 20
    assert finish(first, funnel).money[0].won_value == Decimal(20)


# --- properties ------------------------------------------------------------------------------

START = dt.date(2023, 1, 1)


@st.composite
def funnels(draw: st.DrawFn) -> Funnel:
    size = draw(st.integers(3, 6))
    names = [f"S{index}" for index in range(size)]
    with_rates = draw(st.booleans())
    rates = [f"{draw(st.integers(1, 100))}%" if with_rates else None for _ in names[:-1]]
    days = [draw(st.none() | st.integers(0, 60)) for _ in names[:-1]]
    return make_funnel(rates, days, names)


def dates() -> st.SearchStrategy[dt.date | None]:
    return st.none() | st.integers(0, 400).map(lambda offset: START + dt.timedelta(offset))


AMOUNTS = st.none() | st.integers(0, 100_000).map(lambda cents: Decimal(cents) / 100)


@st.composite
def deal_lists(draw: st.DrawFn, stage_count: int) -> list[Deal]:
    """Deals of any outcome; a lost deal's stage may be unknown (stage index -1 below)."""
    last = stage_count - 1
    fixed_size = st.lists(dates(), min_size=stage_count, max_size=stage_count)
    entered = fixed_size if draw(st.booleans()) else st.none()
    shape = st.tuples(
        st.sampled_from(Outcome), st.integers(-1, last - 1), AMOUNTS, dates(), dates(), entered
    )
    deals = []
    for row, (outcome, index, amount, created, closed, stage_dates) in enumerate(
        draw(st.lists(shape, max_size=30))
    ):
        stage: int | None = index
        if outcome is WON:
            stage = last
        elif index < 0:
            stage = None if outcome is LOST else 0
        deals.append(
            Deal(
                row=row,
                outcome=outcome,
                stage=stage,
                id=f"D{row}",
                amount=amount,
                currency="USD",
                created=created,
                closed=closed,
                entered=stage_dates,
            )
        )
    return deals


@st.composite
def funnel_and_deals(draw: st.DrawFn) -> tuple[Funnel, list[Deal]]:
    funnel = draw(funnels())
    return funnel, draw(deal_lists(len(funnel.stages)))


AS_OF_PROPERTY = START + dt.timedelta(300)


@settings(max_examples=150)
@given(funnel_and_deals())
def test_reached_is_next_plus_current_plus_lost(case: tuple[Funnel, list[Deal]]) -> None:
    funnel, deals = case
    report = build_report(deals, funnel, AS_OF_PROPERTY)
    stages = report.stages
    for here, below in itertools.pairwise(stages):
        assert here.reached == below.reached + here.current + here.lost
    assert stages[-1].reached == report.won
    assert stages[0].reached == len(deals)
    assert report.open == sum(1 for d in deals if d.outcome is OPEN)
    assert report.lost == sum(1 for d in deals if d.outcome is LOST)


@settings(max_examples=150)
@given(funnel_and_deals())
def test_rates_in_unit_interval_and_reached_never_grows(case: tuple[Funnel, list[Deal]]) -> None:
    funnel, deals = case
    report = build_report(deals, funnel, AS_OF_PROPERTY)
    rates: list[Fraction | None] = [report.win_rate]
    for stage in report.stages:
        rates += [stage.conversion_to_next, stage.resolved_conversion, stage.cumulative_conversion]
    rates += [b.actual for b in report.bottlenecks]
    assert all(0 <= rate <= 1 for rate in rates if rate is not None)
    reached = [stage.reached for stage in report.stages]
    assert reached == sorted(reached, reverse=True)
    assert all(stage.current >= 0 and stage.lost >= 0 for stage in report.stages)


@settings(max_examples=150)
@given(funnel_and_deals(), st.randoms(use_true_random=False))
def test_report_does_not_depend_on_deal_order(
    case: tuple[Funnel, list[Deal]], shuffler: random.Random
) -> None:
    funnel, deals = case
    shuffled = list(deals)
    shuffler.shuffle(shuffled)
    assert build_report(shuffled, funnel, AS_OF_PROPERTY) == build_report(
        deals, funnel, AS_OF_PROPERTY
    )


@settings(max_examples=150)
@given(funnel_and_deals(), st.data())
def test_merged_builders_equal_one_builder(
    case: tuple[Funnel, list[Deal]], data: st.DataObject
) -> None:
    funnel, deals = case
    split = data.draw(st.integers(0, len(deals)))
    first, second = new_builder(funnel, AS_OF_PROPERTY), new_builder(funnel, AS_OF_PROPERTY)
    for item in deals[:split]:
        first.add(item)
    for item in deals[split:]:
        second.add(item)
    first.merge(second)
    assert finish(first, funnel) == build_report(deals, funnel, AS_OF_PROPERTY)


def test_stale_list_keeps_the_oldest_and_counts_all() -> None:
    """With more stale deals than STALE_KEPT, the oldest are listed (ties by id, then
    row), all are counted, and two builders merged give the same list."""
    import funnelcli.report as report_module

    funnel = build_funnel(
        {"stages": [{"name": "Open", "conversion": "50%", "days": 1}, {"name": "Won"}]},
        "t.yaml",
    ).funnel
    as_of = dt.date(2025, 1, 31)
    # 12 open deals created on days 1..12 of January: all older than 2 x 1 day.
    # Ids repeat ("a", "b", "ab") to exercise the ties.
    ids = ["a", "b", "ab", "a", "b", "ab", "a", "b", "ab", "a", "b", "ab"]
    deals = [
        Deal(row, Outcome.OPEN, 0, id=ids[row], created=dt.date(2025, 1, 1 + row % 6))
        for row in range(12)
    ]
    original = report_module.STALE_KEPT
    report_module.STALE_KEPT = 5
    try:
        whole = build_report(deals, funnel, as_of)
        first, second = new_builder(funnel, as_of), new_builder(funnel, as_of)
        for deal in deals[::2]:
            first.add(deal)
        for deal in deals[1::2]:
            second.add(deal)
        first.merge(second)
        merged = finish(first, funnel)
    finally:
        report_module.STALE_KEPT = original
    # Sort all 12 by hand: days = 31 - (1 + row % 6); oldest first, then id, then row.
    expected = sorted(
        ((30 - row % 6, ids[row], row) for row in range(12)), key=lambda t: (-t[0], t[1], t[2])
    )[:5]
    assert [(deal.days, deal.id, deal.row) for deal in whole.stale] == expected
    assert whole.stale_count == 12
    assert merged.stale == whole.stale
    assert merged.stale_count == 12


# --- quantiles from counts ----------------------------------------------------------------


@given(st.lists(st.integers(min_value=-5, max_value=40), max_size=60))
def test_ascending_reads_as_the_sorted_list(values: list[int]) -> None:
    from funnelcli.report_figures import _Ascending

    expected = sorted(values)
    ascending = _Ascending(values)
    assert len(ascending) == len(expected)
    assert [ascending[index] for index in range(len(expected))] == expected
    assert [ascending[-index] for index in range(1, len(expected) + 1)] == [
        expected[-index] for index in range(1, len(expected) + 1)
    ]
    assert ascending[1:-1:2] == expected[1:-1:2]
    with pytest.raises(IndexError):
        ascending[len(expected)]


def test_quantiles_from_counts_by_hand() -> None:
    from funnelcli.report_figures import _Ascending
    from funnelcli.stats import quantile

    # 1, 2, 2, 2, 9: the median is the third value, 2; p90 sits 0.6 of the way from the
    # fourth value (2) to the fifth (9): 2 + 0.6 * 7 = 6.2.
    ascending = _Ascending([9, 2, 1, 2, 2])
    assert quantile(ascending, 0.5) == 2.0
    assert quantile(ascending, 0.9) == pytest.approx(6.2)
    assert quantile(_Ascending([]), 0.5) is None
