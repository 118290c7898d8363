"""The reverse plan: counts per stage, confidence, budget, pacing, sensitivity, periods.

Every expected number is worked out by hand in a comment, or by brute force.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelcli.definition import Funnel, Stage
from funnelcli.errors import (
    InvalidValue,
    MissingStageDays,
    MissingValue,
    NotComputable,
    UsageError,
)
from funnelcli.pacing import PacingRequest, parse_period
from funnelcli.plan import cumulative_rates, make_plan, needed_per_stage

F = Fraction
TARGET = Decimal(1_200_000)


def readme_funnel(**changes: object) -> Funnel:
    """The README's funnel: 25%, 40%, 50%, 30%; days 5, 7, 14, 30; deals of 24,000."""
    funnel = Funnel(
        name="B2B SaaS",
        stages=(
            Stage("Lead", F(1, 4), F(5)),
            Stage("MQL", F(2, 5), F(7)),
            Stage("SQL", F(1, 2), F(14)),
            Stage("Opportunity", F(3, 10), F(30)),
            Stage("Won"),
        ),
        average_deal_value=Decimal(24000),
        source="readme.yaml",
    )
    return dataclasses.replace(funnel, **changes)  # type: ignore[arg-type]


def one_rate_funnel(rate: Fraction, days: Fraction | None = None) -> Funnel:
    return Funnel(
        name="One rate",
        stages=(Stage("Lead", rate, days), Stage("Won")),
        average_deal_value=Decimal(1000),
    )


def usage_message(funnel: Funnel, target: Decimal = TARGET, **options: object) -> str:
    with pytest.raises(UsageError) as caught:
        make_plan(funnel, target, **options)  # type: ignore[arg-type]
    return str(caught.value)


def refusal(funnel: Funnel, target: Decimal = TARGET, **options: object) -> InvalidValue:
    """The value make_plan refuses; the core names it by its field, never by an option."""
    with pytest.raises(InvalidValue) as caught:
        make_plan(funnel, target, **options)  # type: ignore[arg-type]
    assert "--" not in str(caught.value)
    return caught.value


# --- the counts -----------------------------------------------------------------------------


def test_the_readme_example() -> None:
    plan = make_plan(readme_funnel(), TARGET)
    # 1,200,000 / 24,000 = 50 deals exactly.
    assert plan.deals_needed == 50
    # Cumulative rates to won: Opportunity 0.3; SQL 0.5 x 0.3 = 0.15;
    # MQL 0.4 x 0.15 = 0.06; Lead 0.25 x 0.06 = 0.015.
    # Lead 50 / 0.015 = 3333.33 -> 3334; MQL 50 / 0.06 = 833.33 -> 834;
    # SQL 50 / 0.15 = 333.33 -> 334; Opportunity 50 / 0.3 = 166.67 -> 167; Won 50.
    assert [stage.needed for stage in plan.stages] == [3334, 834, 334, 167, 50]
    assert plan.leads_needed == 3334
    assert [stage.cumulative_to_won for stage in plan.stages] == [
        F(15, 1000),
        F(6, 100),
        F(15, 100),
        F(3, 10),
        F(1),
    ]
    assert [stage.conversion_to_next for stage in plan.stages] == [
        F(1, 4),
        F(2, 5),
        F(1, 2),
        F(3, 10),
        None,
    ]
    assert [stage.name for stage in plan.stages] == ["Lead", "MQL", "SQL", "Opportunity", "Won"]
    assert plan.funnel == "B2B SaaS"
    assert plan.funnel_is_default is False
    assert plan.currency == "USD"
    assert plan.average_deal_value == Decimal(24000)
    assert plan.target_revenue == TARGET
    assert (plan.confidence, plan.budget, plan.pacing) == (None, None, None)
    assert all(stage.enter_by is None for stage in plan.stages)


def test_deals_are_rounded_up() -> None:
    # 1,210,000 / 24,000 = 50.42: 50 deals fall short, 51 are needed.
    assert make_plan(readme_funnel(), Decimal(1_210_000)).deals_needed == 51


def test_the_deal_value_option_wins_over_the_file() -> None:
    # 1,200,000 / 30,000 = 40 deals.
    plan = make_plan(readme_funnel(), TARGET, deal_value=Decimal(30000))
    assert plan.deals_needed == 40
    assert plan.average_deal_value == Decimal(30000)


def test_cumulative_rates() -> None:
    # From the bottom: 1; 1/2; 1/2 x 1/3 = 1/6.
    assert cumulative_rates([F(1, 3), F(1, 2)]) == [F(1, 6), F(1, 2), F(1)]


@pytest.mark.parametrize(
    ("rate", "deals", "leads"),
    [
        (F(1, 4), 100, 400),  # 100 / 0.25 = 400 exactly, not 401
        (F(7, 20), 21, 60),  # 21 / 0.35 = 60 exactly; in floats 60.00000000000001 -> 61
        (F(57, 100), 57, 100),  # 57 / 0.57 = 100 exactly; in floats 100.00000000000001
        (F(1, 3), 10, 30),  # 10 / (1/3) = 30: a rate no one can type as a decimal
    ],
)
def test_exact_rates_give_exact_counts(rate: Fraction, deals: int, leads: int) -> None:
    plan = make_plan(one_rate_funnel(rate), Decimal(1000 * deals))
    assert plan.deals_needed == deals
    assert [stage.needed for stage in plan.stages] == [leads, deals]


# --- confidence -----------------------------------------------------------------------------


def brute_force_trials(successes: int, p: Fraction, level: Fraction) -> int:
    """The first N with P(Binomial(N, p) >= successes) >= level, summed exactly."""
    trials = successes
    while True:
        tail = sum(
            (
                math.comb(trials, k) * p**k * (1 - p) ** (trials - k)
                for k in range(successes, trials + 1)
            ),
            F(0),
        )
        if tail >= level:
            return trials
        trials += 1


@pytest.mark.parametrize("deals", [1, 2, 3, 5])
@pytest.mark.parametrize("level", [F(1, 2), F(9, 10)])
def test_the_confidence_plan_equals_a_brute_force_search(deals: int, level: Fraction) -> None:
    # Rates 1/2 and 2/5: from Lead p = 1/5, from MQL p = 2/5, from Won p = 1.
    # Every tail is a multiple of 1/5^N, never exactly 1/2 or 9/10: no ties to round.
    funnel = Funnel(
        name="Small",
        stages=(Stage("Lead", F(1, 2)), Stage("MQL", F(2, 5)), Stage("Won")),
        average_deal_value=Decimal(100),
    )
    plan = make_plan(funnel, Decimal(100 * deals), confidence=level)
    assert plan.confidence is not None
    assert plan.confidence.level == level
    expected = (
        brute_force_trials(deals, F(1, 5), level),
        brute_force_trials(deals, F(2, 5), level),
        deals,
    )
    assert plan.confidence.needed == expected
    assert plan.confidence.leads_needed == expected[0]


def test_confidence_needs_at_least_the_expected_counts() -> None:
    plan = make_plan(readme_funnel(), TARGET, confidence=F(9, 10))
    assert plan.confidence is not None
    for stage, at_confidence in zip(plan.stages, plan.confidence.needed, strict=True):
        # At 90% one needs more than the count whose mean just reaches 50 deals,
        # except at the won stage where the count is the deals themselves.
        assert at_confidence >= stage.needed
    assert plan.confidence.needed[-1] == 50


# --- budget ---------------------------------------------------------------------------------


def test_the_budget() -> None:
    plan = make_plan(readme_funnel(), TARGET, cost_per_lead=Decimal(45))
    assert plan.budget is not None
    assert plan.budget.cost_per_lead == Decimal(45)
    # 3,334 leads x 45 = 150,030; per won deal 150,030 / 50 = 3,000.60.
    assert plan.budget.lead_budget == 150030
    assert plan.budget.cost_per_won_deal == F(300060, 100)
    assert plan.budget.lead_budget_at_confidence is None


def test_the_budget_uses_the_funnel_price_unless_given() -> None:
    funnel = readme_funnel(cost_per_lead=Decimal(10))
    from_file = make_plan(funnel, TARGET).budget
    given_price = make_plan(funnel, TARGET, cost_per_lead=Decimal(45)).budget
    assert from_file is not None and given_price is not None
    assert from_file.lead_budget == 33340  # 3,334 x 10
    assert given_price.lead_budget == 150030  # 3,334 x 45


def test_the_budget_at_confidence() -> None:
    plan = make_plan(readme_funnel(), TARGET, cost_per_lead=Decimal(45), confidence=F(9, 10))
    assert plan.budget is not None and plan.confidence is not None
    assert plan.budget.lead_budget_at_confidence == 45 * plan.confidence.leads_needed


# --- pacing ---------------------------------------------------------------------------------


def test_pacing_to_a_deadline() -> None:
    request = PacingRequest(deadline=dt.date(2027, 3, 31), as_of=dt.date(2026, 12, 1))
    plan = make_plan(readme_funnel(), TARGET, pacing=request)
    pacing = plan.pacing
    assert pacing is not None
    # A lead takes 5 + 7 + 14 + 30 = 56 days to close.
    assert pacing.cycle_days == 56
    # 2027-03-31 minus 31 days is 2027-02-28, minus 25 more is 2027-02-03.
    assert pacing.last_lead_entry == dt.date(2027, 2, 3)
    assert pacing.window_start == dt.date(2026, 12, 1)
    # December 31 days + January 31 + February 1..3: 65 days.
    assert pacing.window_days == 65
    assert pacing.feasible is True
    # Cumulative ceilings: Dec ceil(3334 x 31 / 65) = ceil(1590.06) = 1591;
    # to Jan 31 ceil(3334 x 62 / 65) = ceil(3180.12) = 3181, so Jan 3181 - 1591 = 1590;
    # Feb 3334 - 3181 = 153.
    assert [(p.label, p.start, p.end, p.leads) for p in pacing.schedule] == [
        ("2026-12", dt.date(2026, 12, 1), dt.date(2026, 12, 31), 1591),
        ("2027-01", dt.date(2027, 1, 1), dt.date(2027, 1, 31), 1590),
        ("2027-02", dt.date(2027, 2, 1), dt.date(2027, 2, 3), 153),
    ]
    assert sum(p.leads for p in pacing.schedule) == plan.leads_needed
    assert pacing.leads_per_day == F(3334, 65)
    # The summary's figures are the table's: its whole months, December and January.
    assert pacing.per_period_range == (1590, 1591)
    assert pacing.has_whole_periods is True
    assert [p.whole for p in pacing.schedule] == [True, True, False]
    assert (pacing.leads, pacing.level) == (3334, None)
    # Enter-by: Won on the deadline; Opportunity 30 days before (03-01); SQL 44
    # (02-15); MQL 51 (02-08); Lead 56 (02-03).
    assert [stage.enter_by for stage in plan.stages] == [
        dt.date(2027, 2, 3),
        dt.date(2027, 2, 8),
        dt.date(2027, 2, 15),
        dt.date(2027, 3, 1),
        dt.date(2027, 3, 31),
    ]


def test_pacing_per_week() -> None:
    request = PacingRequest(deadline=dt.date(2027, 3, 31), as_of=dt.date(2026, 12, 1), per="week")
    pacing = make_plan(readme_funnel(), TARGET, pacing=request).pacing
    assert pacing is not None
    # 2026-12-01 is a Tuesday of ISO week 49: its week runs to Sunday 12-06 (6 days);
    # then 8 whole weeks to Sunday 2027-01-31; then Monday 02-01 to 02-03 (week 5).
    assert len(pacing.schedule) == 10
    first, last = pacing.schedule[0], pacing.schedule[-1]
    assert (first.label, first.start, first.end) == (
        "2026-W49",
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 6),
    )
    assert (last.label, last.start, last.end) == (
        "2027-W05",
        dt.date(2027, 2, 1),
        dt.date(2027, 2, 3),
    )
    assert first.leads == 308  # ceil(3334 x 6 / 65) = ceil(307.75)
    assert last.leads == 153  # 3334 - ceil(3334 x 62 / 65) = 3334 - 3181
    assert sum(p.leads for p in pacing.schedule) == 3334
    # Whole weeks (W50 .. W04): cumulative ceil(3334 x d / 65) at d = 6, 13, ..., 62 days:
    # 308, 667, 1026, 1385, 1744, 2103, 2463, 2822, 3181: weeks of 359 or 360.
    assert pacing.per_period_range == (359, 360)


def test_pacing_for_a_period_starts_one_cycle_before_it() -> None:
    start, end = dt.date(2027, 1, 1), dt.date(2027, 3, 31)
    request = PacingRequest(deadline=end, as_of=dt.date(2026, 10, 1), period_start=start)
    pacing = make_plan(readme_funnel(), TARGET, pacing=request).pacing
    assert pacing is not None
    # A lead entering before 2027-01-01 - 56 days = 2026-11-06 closes before the period.
    assert pacing.window_start == dt.date(2026, 11, 6)
    # Nov 6..30 is 25 days, + Dec 31 + Jan 31 + Feb 1..3: 90 days.
    assert pacing.window_days == 90
    # Cumulative: ceil(3334 x 25/90) = ceil(926.1) = 927; ceil(3334 x 56/90) = ceil(2074.5)
    # = 2075; ceil(3334 x 87/90) = ceil(3222.9) = 3223; 3334.
    assert [(p.label, p.leads) for p in pacing.schedule] == [
        ("2026-11", 927),
        ("2026-12", 2075 - 927),
        ("2027-01", 3223 - 2075),
        ("2027-02", 3334 - 3223),
    ]


def test_pacing_for_a_period_starts_no_earlier_than_today() -> None:
    request = PacingRequest(
        deadline=dt.date(2027, 3, 31),
        as_of=dt.date(2026, 12, 1),
        period_start=dt.date(2027, 1, 1),
    )
    pacing = make_plan(readme_funnel(), TARGET, pacing=request).pacing
    assert pacing is not None
    # max(2026-12-01, 2026-11-06) is today.
    assert pacing.window_start == dt.date(2026, 12, 1)
    assert pacing.window_days == 65


def test_pacing_with_a_deadline_too_soon() -> None:
    # 2027-01-15 minus 56 days is 2026-11-20, already past on 2026-12-01.
    request = PacingRequest(deadline=dt.date(2027, 1, 15), as_of=dt.date(2026, 12, 1))
    pacing = make_plan(readme_funnel(), TARGET, pacing=request).pacing
    assert pacing is not None
    assert pacing.last_lead_entry == dt.date(2026, 11, 20)
    assert pacing.window_days == 0
    assert pacing.feasible is False
    assert pacing.schedule == ()
    assert pacing.leads_per_day is None
    assert pacing.per_period_range is None


def test_pacing_on_the_last_day() -> None:
    # Today is the last entry day (2027-03-31 - 56 = 2027-02-03): one day, all leads.
    request = PacingRequest(deadline=dt.date(2027, 3, 31), as_of=dt.date(2027, 2, 3))
    pacing = make_plan(readme_funnel(), TARGET, pacing=request).pacing
    assert pacing is not None
    assert pacing.window_days == 1
    assert [(p.label, p.leads) for p in pacing.schedule] == [("2027-02", 3334)]


def test_pacing_rounds_fractional_days_up() -> None:
    # 2.5 + 3.25 = 5.75 days -> 6: entering a day early is never late.
    funnel = Funnel(
        name="Halves",
        stages=(Stage("A", F(1, 2), F(5, 2)), Stage("B", F(1, 2), F(13, 4)), Stage("Won")),
        average_deal_value=Decimal(1),
    )
    request = PacingRequest(deadline=dt.date(2027, 1, 10), as_of=dt.date(2027, 1, 1))
    pacing = make_plan(funnel, Decimal(1), pacing=request).pacing
    assert pacing is not None
    assert pacing.cycle_days == 6
    assert pacing.last_lead_entry == dt.date(2027, 1, 4)


def test_pacing_without_days() -> None:
    stages = tuple(dataclasses.replace(stage, days=None) for stage in readme_funnel().stages)
    stages = (stages[0], dataclasses.replace(stages[1], days=F(7)), *stages[2:])
    request = PacingRequest(deadline=dt.date(2027, 3, 31), as_of=dt.date(2026, 12, 1))
    refused = refusal(readme_funnel(stages=stages), pacing=request)
    assert isinstance(refused, MissingStageDays)
    assert (refused.field, refused.stages) == ("deadline", ("Lead", "SQL", "Opportunity"))
    assert str(refused) == (
        "readme.yaml: pacing needs days: on every stage but the last; "
        "missing on Lead, SQL, Opportunity"
    )
    assert refused.worded("--by or --period") == (
        "readme.yaml: pacing (--by or --period) needs days: on every stage but the last; "
        "missing on Lead, SQL, Opportunity"
    )


def test_pacing_without_days_on_the_default_names_funnel_yaml() -> None:
    stages = tuple(dataclasses.replace(stage, days=None) for stage in readme_funnel().stages)
    request = PacingRequest(deadline=dt.date(2027, 3, 31), as_of=dt.date(2026, 12, 1))
    funnel = readme_funnel(stages=stages, is_default=True)
    assert str(refusal(funnel, pacing=request)) == (
        "funnel.yaml: pacing needs days: on every stage but the last; "
        "missing on Lead, MQL, SQL, Opportunity"
    )


# --- sensitivity ----------------------------------------------------------------------------


def test_sensitivity_of_each_stage() -> None:
    plan = make_plan(readme_funnel(), TARGET, cost_per_lead=Decimal(45))
    # Each rate 5 points higher, the others unchanged, 50 deals:
    # Lead 30%: 0.3 x 0.4 x 0.5 x 0.3 = 0.018;   50 / 0.018 = 2777.8 -> 2778, saves 556
    # MQL 45%: 0.25 x 0.45 x 0.5 x 0.3 = 0.016875; 50 / 0.016875 = 2963.0 -> 2963, saves 371
    # SQL 55%: 0.25 x 0.4 x 0.55 x 0.3 = 0.0165;  50 / 0.0165 = 3030.3 -> 3031, saves 303
    # Opp 35%: 0.25 x 0.4 x 0.5 x 0.35 = 0.0175;  50 / 0.0175 = 2857.1 -> 2858, saves 476
    rows = [
        (row.stage, row.current_rate, row.raised_rate, row.leads_needed, row.leads_saved)
        for row in plan.sensitivity
    ]
    assert rows == [
        ("Lead", F(25, 100), F(30, 100), 2778, 556),
        ("MQL", F(40, 100), F(45, 100), 2963, 371),
        ("SQL", F(50, 100), F(55, 100), 3031, 303),
        ("Opportunity", F(30, 100), F(35, 100), 2858, 476),
    ]
    # 556 leads x 45 = 25,020.
    assert plan.sensitivity[0].budget_saved == 25020
    # The lever is the stage that saves the most: Lead (556).
    assert plan.lever is not None
    assert plan.lever.stage == "Lead"


def test_sensitivity_without_a_price_has_no_budget() -> None:
    plan = make_plan(readme_funnel(), TARGET)
    assert all(row.budget_saved is None for row in plan.sensitivity)


def test_a_raised_rate_stops_at_one() -> None:
    # 98% + 5 points is capped at 100%: 10 deals need 10 leads instead of ceil(10.2) = 11.
    plan = make_plan(one_rate_funnel(F(98, 100)), Decimal(10_000))
    (row,) = plan.sensitivity
    assert row.raised_rate == F(1)
    assert (row.leads_needed, row.leads_saved) == (10, 1)


def test_no_lever_when_nothing_saves() -> None:
    # At 100% already, raising saves nothing.
    plan = make_plan(one_rate_funnel(F(1)), Decimal(10_000))
    assert plan.sensitivity[0].leads_saved == 0
    assert plan.lever is None


# --- refusals -------------------------------------------------------------------------------


def test_a_missing_deal_value() -> None:
    refused = refusal(readme_funnel(average_deal_value=None))
    assert isinstance(refused, MissingValue)
    assert (refused.field, refused.value, refused.file_key) == (
        "deal_value",
        None,
        "average_deal_value",
    )
    assert str(refused) == (
        "no average deal value: give deal_value (like 24k) "
        "or set average_deal_value: in readme.yaml"
    )
    assert refused.worded("--deal-value") == (
        "no average deal value: pass --deal-value (like --deal-value 24k) "
        "or set average_deal_value: in readme.yaml"
    )


def test_a_missing_deal_value_on_the_default_names_funnel_yaml() -> None:
    funnel = readme_funnel(average_deal_value=None, is_default=True)
    assert str(refusal(funnel)).endswith("or set average_deal_value: in funnel.yaml")


def test_a_target_of_zero() -> None:
    refused = refusal(readme_funnel(), Decimal(0))
    assert (type(refused), refused.field, refused.value) == (InvalidValue, "target", Decimal(0))
    assert str(refused) == "target must be above 0, got 0"
    assert refused.worded("--target") == "--target must be above 0, got 0"


def test_a_negative_deal_value() -> None:
    refused = refusal(readme_funnel(), deal_value=Decimal(-5))
    assert (type(refused), refused.field, refused.value) == (
        InvalidValue,
        "deal_value",
        Decimal(-5),
    )
    assert str(refused) == "deal_value must be above 0, got -5"


def test_a_confidence_plan_too_large_to_compute() -> None:
    # 10,000,001 deals of 1 each: one more than the confidence plan is made for.
    refused = refusal(
        readme_funnel(average_deal_value=Decimal(1)), Decimal(10_000_001), confidence=F(9, 10)
    )
    assert isinstance(refused, NotComputable)
    assert refused.field == "confidence"
    assert str(refused) == (
        "confidence: 10,000,001 won deals is more than the 10,000,000 it plans for; "
        "at this size the plan without confidence is already within 0.1%"
    )
    assert refused.worded("--confidence") == (
        "--confidence: 10,000,001 won deals is more than the 10,000,000 it plans for; "
        "at this size the plan without --confidence is already within 0.1%"
    )


def test_a_funnel_without_rates() -> None:
    stages = tuple(dataclasses.replace(stage, conversion=None) for stage in readme_funnel().stages)
    assert usage_message(readme_funnel(stages=stages)) == (
        "readme.yaml: the stages have no conversion: rates; "
        "give each stage but the last a rate like 0.35 or 35% to plan with it"
    )


# --- periods --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2027-Q1", dt.date(2027, 1, 1), dt.date(2027, 3, 31)),
        ("2027q4", dt.date(2027, 10, 1), dt.date(2027, 12, 31)),
        ("2027-Q2", dt.date(2027, 4, 1), dt.date(2027, 6, 30)),
        ("2027-03", dt.date(2027, 3, 1), dt.date(2027, 3, 31)),
        ("2027-02", dt.date(2027, 2, 1), dt.date(2027, 2, 28)),
        ("2028-02", dt.date(2028, 2, 1), dt.date(2028, 2, 29)),  # 2028 is a leap year
        ("2027-4", dt.date(2027, 4, 1), dt.date(2027, 4, 30)),
        ("2027", dt.date(2027, 1, 1), dt.date(2027, 12, 31)),
        (" 2027 ", dt.date(2027, 1, 1), dt.date(2027, 12, 31)),
    ],
)
def test_parse_period(text: str, first: dt.date, last: dt.date) -> None:
    assert parse_period(text) == (first, last)


@pytest.mark.parametrize(
    "text", ["2027-13", "2027-00", "2027-Q5", "Q1 2027", "27", "2027-03-31", "next year", ""]
)
def test_parse_period_refuses(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_period(text)
    assert str(caught.value) == (
        f"'{text}' is not a period; use a quarter (2027-Q1), a month (2027-03) or a year (2027)"
    )


# --- properties -----------------------------------------------------------------------------

rates_strategy = st.integers(1, 10_000).flatmap(
    lambda denominator: st.integers(1, denominator).map(lambda top: F(top, denominator))
)


def product(rates: list[Fraction]) -> Fraction:
    return math.prod(rates, start=F(1))


@settings(max_examples=200)
@given(rates=st.lists(rates_strategy, min_size=1, max_size=6), deals=st.integers(1, 10**6))
def test_needed_is_the_least_count_that_yields_the_deals(rates: list[Fraction], deals: int) -> None:
    needed = needed_per_stage(deals, rates)
    assert len(needed) == len(rates) + 1
    assert needed[-1] == deals
    for upper, lower in itertools.pairwise(needed):
        assert upper >= lower  # never grows down the funnel
    for index, count in enumerate(needed):
        to_won = product(rates[index:])
        assert count * to_won >= deals  # enough
        assert (count - 1) * to_won < deals  # one fewer falls short


@settings(max_examples=200)
@given(
    leads=st.integers(1, 10**6),
    days=st.fractions(min_value=0, max_value=120, max_denominator=4),
    as_of=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31)),
    horizon=st.integers(-30, 500),
    period_days=st.none() | st.integers(0, 400),
    per=st.sampled_from(["month", "week"]),
)
def test_the_schedule_sums_to_the_leads(
    leads: int,
    days: Fraction,
    as_of: dt.date,
    horizon: int,
    period_days: int | None,
    per: str,
) -> None:
    # A rate of 1 and a deal value of 1: the target is the number of leads.
    funnel = one_rate_funnel(F(1), days)
    deadline = as_of + dt.timedelta(days=horizon)
    period_start = None if period_days is None else deadline - dt.timedelta(days=period_days)
    request = PacingRequest(deadline=deadline, as_of=as_of, period_start=period_start, per=per)
    plan = make_plan(funnel, Decimal(1000 * leads), pacing=request)
    pacing = plan.pacing
    assert pacing is not None
    assert plan.leads_needed == leads
    if not pacing.feasible:
        assert pacing.schedule == ()
        return
    assert sum(period.leads for period in pacing.schedule) == leads
    assert all(period.leads >= 0 for period in pacing.schedule)
    # The periods tile the window, day after day.
    assert pacing.schedule[0].start == pacing.window_start
    assert pacing.schedule[-1].end == pacing.last_lead_entry
    for before, after in itertools.pairwise(pacing.schedule):
        assert after.start == before.end + dt.timedelta(days=1)
    # No period ends behind the even pace.
    allotted = 0
    for period in pacing.schedule:
        allotted += period.leads
        elapsed = (period.end - pacing.window_start).days + 1
        assert allotted * pacing.window_days >= leads * elapsed
