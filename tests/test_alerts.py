"""Alert rules: parsing (command line and YAML), merging, and judging a report.

Reports are built from hand-made deals through ``build_report``; every expected figure
is worked out in the comments. Each rule is checked at its boundary: a figure below
the threshold fires, one equal to it does not.
"""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from funnelcli.alerts import (
    Alert,
    AlertResult,
    AlertRules,
    evaluate,
    rules_from_yaml,
)
from funnelcli.commands.report import parse_fail_below, rules_from_cli
from funnelcli.deal_records import Deal, Outcome
from funnelcli.definition import Funnel, build_funnel
from funnelcli.render.json_report import alerts_to_json
from funnelcli.report_figures import Report, build_report

F = Fraction
WON, LOST, OPEN = Outcome.WON, Outcome.LOST, Outcome.OPEN
AS_OF = dt.date(2024, 3, 1)
RANGE = "must be a rate between 0 and 1 (like 0.35 or 35%)"
FORM = "expected STAGE=RATE like Demo=35% or Demo=0.35"
LEAD, DEMO, PROPOSAL, WON_STAGE = 0, 1, 2, 3


def make_funnel(*, rates: bool = True, proposal_plan: str = "80%") -> Funnel:
    """Lead > Demo > Proposal > Won; planned 50%, 35%, 80%; days 5, 10, 7 (stale after 2x)."""
    stages: list[dict[str, object]] = [
        {"name": "Lead", "conversion": "50%", "days": 5},
        {"name": "Demo", "conversion": "35%", "days": 10},
        {"name": "Proposal", "conversion": proposal_plan, "days": 7},
        {"name": "Won"},
    ]
    if not rates:
        for stage in stages:
            stage.pop("conversion", None)
    return build_funnel({"name": "Test funnel", "stages": stages}, "t.yaml").funnel


def make_deals(*groups: tuple[int, Outcome, int, dt.date | None]) -> list[Deal]:
    """``(count, outcome, stage index, created)`` groups -> deals with rows 1, 2, ..."""
    deals: list[Deal] = []
    for count, outcome, stage, created in groups:
        for _ in range(count):
            row = len(deals) + 1
            deals.append(Deal(row=row, outcome=outcome, stage=stage, id=f"D{row}", created=created))
    return deals


# --- the main hand case: 33 deals, no stage dates ------------------------------------------
#
#  count outcome stage     created   furthest
#    3   won     Won                 Won
#    4   lost    Proposal            Proposal
#   13   lost    Demo                Demo
#    2   open    Demo      01-31     Demo      30 days in stage > 2 x 10: stale
#   10   lost    Lead                Lead
#    1   open    Lead      02-25     Lead       5 days in stage <= 2 x 5: not stale
#
# reached = [33, 22, 7, 3]; current = [1, 2, 0, 0]
# resolved conversion = reached[i+1] / (reached[i] - current[i]):
#   Lead 22 / (33 - 1) = 11/16 = 68.75%; Demo 7 / (22 - 2) = 7/20 = 35%;
#   Proposal 3 / (7 - 0) = 3/7 = 42.857%
# win rate = won / (won + lost) = 3 / (3 + 4 + 13 + 10) = 1/10
# bottlenecks (planned above the high end of the resolved rate's 90% Wilson interval):
#   Lead 50% <= 68.75% no; Demo 35% = 35% no; Proposal 3/7: z = 1.644854, z^2/n =
#   0.38650638, centre = 0.62182462 / 1.38650638 = 0.4484831, half = 1.186330 x
#   sqrt(0.03498542 + 0.0138038) = 1.186330 x 0.2208828 = 0.2620399, high = 0.7105230;
#   80% > 0.7105 yes (a plan of 50% would be within noise). Two stale deals.


def main_report(proposal_plan: str = "80%") -> Report:
    deals = make_deals(
        (3, WON, WON_STAGE, None),
        (4, LOST, PROPOSAL, None),
        (13, LOST, DEMO, None),
        (2, OPEN, DEMO, dt.date(2024, 1, 31)),
        (10, LOST, LEAD, None),
        (1, OPEN, LEAD, dt.date(2024, 2, 25)),
    )
    return build_report(deals, make_funnel(proposal_plan=proposal_plan), AS_OF)


# Two open deals in Demo, one open in Lead: nothing has left Demo and nothing is closed.
#   reached = [3, 2, 0, 0]; current = [1, 2, 0, 0]
#   resolved: Lead 2 / (3 - 1) = 1; Demo 0 / (2 - 2): none; win rate: none.
def early_report(funnel: Funnel | None = None) -> Report:
    deals = make_deals((2, OPEN, DEMO, AS_OF), (1, OPEN, LEAD, AS_OF))
    return build_report(deals, funnel or make_funnel(), AS_OF)


def test_the_main_report_by_hand() -> None:
    report = main_report()
    assert [stage.resolved_conversion for stage in report.stages] == [
        F(11, 16),
        F(7, 20),
        F(3, 7),
        None,
    ]
    assert report.win_rate == F(1, 10)
    assert report.bottleneck_by == "revenue"
    assert [bottleneck.stage for bottleneck in report.bottlenecks] == ["Proposal"]
    assert len(report.stale) == 2


def judge(report: Report, **rules: object) -> AlertResult:
    return evaluate(AlertRules(**rules), report)  # type: ignore[arg-type]


# --- fail_below -----------------------------------------------------------------------------


def test_fail_below_does_not_fire_at_an_equal_rate() -> None:
    # Demo converts 7/20 exactly; "35%" parses to 7/20 exactly, so equal: no alert.
    _, rate = parse_fail_below("Demo=35%")
    assert judge(main_report(), fail_below={"Demo": rate}) == AlertResult((), ())


def test_fail_below_fires_just_below_the_threshold() -> None:
    # 7/20 against 7/20 + one millionth: below, and the message shows enough places to tell.
    threshold = F(7, 20) + F(1, 10**6)
    result = judge(main_report(), fail_below={"Demo": threshold})
    assert result.fired == (
        Alert(
            rule="fail_below",
            stage="Demo",
            threshold=float(threshold),
            actual=0.35,
            message="Demo resolved conversion 35% is below 35.0001%",
        ),
    )
    assert result.not_judged == ()
    assert result.failed


def test_fail_below_fires_in_funnel_order_with_the_funnels_stage_names() -> None:
    # Lead 11/16 = 68.75% (shown 68.8%) < 70%; Proposal 3/7 = 42.857% (42.9%) < 50%.
    result = judge(main_report(), fail_below={"proposal": F(1, 2), "LEAD": F(7, 10)})
    assert [alert.message for alert in result.fired] == [
        "Lead resolved conversion 68.8% is below 70%",
        "Proposal resolved conversion 42.9% is below 50%",
    ]
    assert [alert.stage for alert in result.fired] == ["Lead", "Proposal"]


@pytest.mark.parametrize("written", ["Demo", "demo", "DEMO", " De-mo ", "de_mo."])
def test_fail_below_matches_stages_ignoring_case_spaces_and_punctuation(written: str) -> None:
    result = judge(main_report(), fail_below={written: F(1, 2)})  # 35% < 50%
    assert [alert.stage for alert in result.fired] == ["Demo"]


def test_fail_below_on_a_stage_no_deal_has_left_is_not_judged() -> None:
    result = judge(early_report(), fail_below={"Demo": F(7, 20), "Lead": F(1, 2)})
    # Lead converts 1 >= 50%: no alert; Demo has no resolved conversion.
    assert result.fired == ()
    assert result.not_judged == (
        "Demo resolved conversion not judged against 35%: no deal has left the stage yet",
    )
    assert not result.failed


def test_fail_below_naming_an_unknown_stage_names_the_stages() -> None:
    with pytest.raises(ValueError) as caught:
        judge(main_report(), fail_below={"Dmo": F(1, 2)})
    assert str(caught.value) == "fail_below: no stage named 'Dmo'; use one of Lead, Demo, Proposal"


def test_fail_below_naming_several_unknown_stages_names_them_all() -> None:
    with pytest.raises(ValueError) as caught:
        judge(main_report(), fail_below={"Dmo": F(1, 2), "Demo": F(1, 2), "Pitch": F(1, 2)})
    assert str(caught.value) == (
        "fail_below: no stages named 'Dmo', 'Pitch'; use one of Lead, Demo, Proposal"
    )


def test_fail_below_on_the_won_stage_is_refused() -> None:
    with pytest.raises(ValueError) as caught:
        judge(main_report(), fail_below={"won": F(1, 2)})
    assert str(caught.value) == (
        "fail_below: 'won' is the won stage, which converts to no later stage;"
        " use one of Lead, Demo, Proposal"
    )


@given(st.integers(min_value=1, max_value=100))
def test_fail_below_fires_exactly_above_the_resolved_rate(percent: int) -> None:
    # Demo resolves at exactly 35%: a whole-percent threshold fires iff it is above 35.
    _, rate = parse_fail_below(f"Demo={percent}%")
    result = judge(main_report(), fail_below={"Demo": rate})
    assert result.failed == (percent > 35)


# --- fail_on_bottleneck -------------------------------------------------------------------


def test_fail_on_bottleneck_fires_once_per_stage_below_plan() -> None:
    result = judge(main_report(), fail_on_bottleneck=True)
    # Demo converts 35% against a plan of 35%: equal, not a bottleneck. Proposal: 3/7 < 80%,
    # beyond noise (high end 71.05%).
    assert result.fired == (
        Alert(
            rule="fail_on_bottleneck",
            stage="Proposal",
            threshold=0.8,
            actual=3 / 7,
            message="Proposal is a bottleneck: resolved conversion 42.9% is below the planned 80%",
        ),
    )


def test_fail_on_bottleneck_is_quiet_within_sampling_noise() -> None:
    # Proposal 3/7 against 50%: below plan, but 50% is inside [18.6%, 71.1%].
    report = main_report(proposal_plan="50%")
    assert [row.stage for row in report.within_noise] == ["Proposal"]
    assert judge(report, fail_on_bottleneck=True) == AlertResult((), ())


def test_fail_on_bottleneck_is_quiet_without_bottlenecks() -> None:
    # Early report: Lead converts 1 >= 50%; Demo and Proposal have no resolved rate.
    assert judge(early_report(), fail_on_bottleneck=True) == AlertResult((), ())


def test_fail_on_bottleneck_off_ignores_bottlenecks() -> None:
    assert judge(main_report(), fail_on_bottleneck=False) == AlertResult((), ())


def test_fail_on_bottleneck_without_planned_rates_is_not_judged() -> None:
    report = build_report(
        make_deals((1, WON, WON_STAGE, None), (5, LOST, DEMO, None)),
        make_funnel(rates=False),
        AS_OF,
    )
    # Ranked by the wins lost (no won amount to price them), not below a plan.
    assert report.bottleneck_by == "expected wins lost"
    assert report.bottlenecks  # Demo lost 5
    result = judge(report, fail_on_bottleneck=True)
    assert result.fired == ()
    assert result.not_judged == (
        "bottlenecks not judged: the funnel has no planned conversion rates to fall below",
    )


# --- max_stale ------------------------------------------------------------------------------


def test_max_stale_does_not_fire_at_the_limit() -> None:
    assert judge(main_report(), max_stale=2) == AlertResult((), ())  # 2 stale, 2 allowed


def test_max_stale_fires_above_the_limit() -> None:
    result = judge(main_report(), max_stale=1)
    assert result.fired == (
        Alert(
            rule="max_stale",
            stage=None,
            threshold=1,
            actual=2,
            message="2 deals are stale, more than the 1 allowed",
        ),
    )


def test_max_stale_of_zero_fires_on_one_stale_deal() -> None:
    # One open Demo deal, 30 days in a stage whose limit is 2 x 10 days.
    report = build_report(make_deals((1, OPEN, DEMO, dt.date(2024, 1, 31))), make_funnel(), AS_OF)
    result = judge(report, max_stale=0)
    assert [alert.message for alert in result.fired] == ["1 deal is stale, more than the 0 allowed"]


def test_max_stale_without_days_limits_is_not_judged() -> None:
    result = evaluate(AlertRules(max_stale=0), main_report(), stale_checked=False)
    assert result.fired == ()
    assert result.not_judged == (
        "stale deals not judged against 0: no stage has a days limit"
        " (give the stages days: or pass --stale-days)",
    )


# --- min_win_rate ---------------------------------------------------------------------------


def test_min_win_rate_does_not_fire_at_an_equal_rate() -> None:
    # Win rate 3/30 = 1/10; "10%" parses to 1/10 exactly.
    rules = rules_from_cli([], False, None, "10%")
    assert evaluate(rules, main_report()) == AlertResult((), ())


def test_min_win_rate_fires_below() -> None:
    rules = rules_from_cli([], False, None, "0.11")
    result = evaluate(rules, main_report())
    assert result.fired == (
        Alert(
            rule="min_win_rate",
            stage=None,
            threshold=0.11,
            actual=0.1,
            message="win rate 10% is below 11%",
        ),
    )


def test_min_win_rate_without_closed_deals_is_not_judged() -> None:
    result = judge(early_report(), min_win_rate=F(1, 5))
    assert result.fired == ()
    assert result.not_judged == ("win rate not judged against 20%: no deal is closed yet",)


# --- all rules together, and JSON --------------------------------------------------------------


def test_every_rule_at_once_fires_in_rule_order() -> None:
    rules = AlertRules(
        fail_below={"Demo": F(2, 5)},  # 35% < 40%
        fail_on_bottleneck=True,  # Proposal
        max_stale=1,  # 2 stale
        min_win_rate=F(1, 5),  # 10% < 20%
    )
    result = evaluate(rules, main_report())
    assert [alert.rule for alert in result.fired] == [
        "fail_below",
        "fail_on_bottleneck",
        "max_stale",
        "min_win_rate",
    ]


def test_no_rules_never_fire() -> None:
    assert evaluate(AlertRules(), main_report()) == AlertResult((), ())


def test_alerts_to_json() -> None:
    rules = AlertRules(fail_below={"Demo": F(2, 5)}, max_stale=1)
    rows = alerts_to_json(evaluate(rules, main_report()))
    assert rows == [
        {
            "rule": "fail_below",
            "stage": "Demo",
            "threshold": 0.4,
            "actual": 0.35,
            "message": "Demo resolved conversion 35% is below 40%",
        },
        {
            "rule": "max_stale",
            "stage": None,
            "threshold": 1,
            "actual": 2,
            "message": "2 deals are stale, more than the 1 allowed",
        },
    ]
    assert json.loads(json.dumps(rows)) == rows


def test_messages_never_show_equal_rates() -> None:
    # 10% against 10.001%: to one or two places both read "10%"; three tell them apart.
    result = judge(main_report(), min_win_rate=F(1, 10) + F(1, 10**5))
    assert [alert.message for alert in result.fired] == ["win rate 10% is below 10.001%"]


# --- the command line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Demo=35%", ("Demo", F(7, 20))),
        ("Demo=0.35", ("Demo", F(7, 20))),
        (" Closed - Demo = 35 % ", ("Closed - Demo", F(7, 20))),
        ("Demo=1", ("Demo", F(1))),
        ("a=b=50%", ("a=b", F(1, 2))),  # the last "=" splits: a rate never holds one
    ],
)
def test_parse_fail_below(text: str, expected: tuple[str, Fraction]) -> None:
    assert parse_fail_below(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Demo", f"{FORM}, got 'Demo'"),
        ("Demo 35%", f"{FORM}, got 'Demo 35%'"),
        ("=35%", f"{FORM}, got '=35%'"),
        ("  =35%", f"{FORM}, got '  =35%'"),
        ("Demo=", f"{FORM}, got 'Demo='"),
        ("", f"{FORM}, got ''"),
        ("Demo=abc", "Demo: expected a rate (like 0.35 or 35%), got 'abc'"),
        ("Demo=1.4", f"Demo: {RANGE}, got 1.4"),
        ("Demo=0", f"Demo: {RANGE}, got 0"),
        ("Demo=-10%", f"Demo: {RANGE}, got -10%"),
        ("Demo=35", f"Demo: {RANGE}, got 35; did you mean 35%?"),
        ("Demo=nan", "Demo: expected a rate (like 0.35 or 35%), got 'nan'"),
    ],
)
def test_parse_fail_below_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_fail_below(text)
    assert str(caught.value) == message


def test_rules_from_cli() -> None:
    rules = rules_from_cli(["Demo=35%", "Proposal=0.5"], True, 25, "20%")
    assert rules == AlertRules(
        fail_below={"Demo": F(7, 20), "Proposal": F(1, 2)},
        fail_on_bottleneck=True,
        max_stale=25,
        min_win_rate=F(1, 5),
    )
    assert not rules.empty


def test_rules_from_cli_without_options_are_empty() -> None:
    rules = rules_from_cli([], False, None, None)
    assert rules == AlertRules()
    assert rules.empty


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((["Demo"], False, None, None), f"--fail-below: {FORM}, got 'Demo'"),
        ((["Demo=140%"], False, None, None), f"--fail-below: Demo: {RANGE}, got 140%"),
        (
            (["Demo=35%", "demo=40%"], False, None, None),
            "--fail-below: stage 'demo' is given twice (Demo=35% and demo=40%); give each stage once",
        ),
        (([], False, -1, None), "--max-stale: must be 0 or more, got -1"),
        (([], False, None, "20"), f"--min-win-rate: {RANGE}, got 20; did you mean 20%?"),
        (([], False, None, "0%"), f"--min-win-rate: {RANGE}, got 0%"),
        (
            ([], False, None, "lots"),
            "--min-win-rate: expected a rate (like 0.35 or 35%), got 'lots'",
        ),
    ],
)
def test_rules_from_cli_errors(
    arguments: tuple[list[str], bool, int | None, str | None], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        rules_from_cli(*arguments)
    assert str(caught.value) == message


# --- merging -------------------------------------------------------------------------------------


def test_the_command_line_adds_to_the_yaml() -> None:
    from_yaml = AlertRules(
        fail_below={"Demo": F(7, 20), "Proposal": F(1, 2)},
        fail_on_bottleneck=True,
        max_stale=25,
        min_win_rate=F(1, 5),
    )
    from_cli = rules_from_cli(["demo=40%", "Lead=60%"], False, 10, None)
    assert from_yaml.merged_with(from_cli) == AlertRules(
        # demo replaces Demo (the same stage); Proposal stays; Lead is added.
        fail_below={"Proposal": F(1, 2), "demo": F(2, 5), "Lead": F(3, 5)},
        fail_on_bottleneck=True,  # the flag cannot switch the file's rule off
        max_stale=10,  # given on the command line: replaces 25
        min_win_rate=F(1, 5),  # not given: the file's stands
    )


def test_merged_rules_are_judged_with_the_command_line_threshold() -> None:
    # The file would let Demo's 35% pass (35% = 35%); the command line asks for 40%.
    from_yaml, problems = rules_from_yaml({"fail_below": {"Demo": "35%"}}, "t.yaml")
    assert problems == []
    assert judge(main_report(), fail_below=from_yaml.fail_below).fired == ()
    merged = from_yaml.merged_with(rules_from_cli(["DEMO=40%"], False, None, None))
    assert [alert.message for alert in evaluate(merged, main_report()).fired] == [
        "Demo resolved conversion 35% is below 40%"
    ]


def test_merging_with_empty_rules_changes_nothing() -> None:
    rules = AlertRules({"Demo": F(7, 20)}, True, 3, F(1, 5))
    assert rules.merged_with(AlertRules()) == rules
    assert AlertRules().merged_with(rules) == rules
    assert AlertRules().merged_with(AlertRules()).empty


def test_the_flag_from_the_command_line_alone_is_on() -> None:
    merged = AlertRules().merged_with(AlertRules(fail_on_bottleneck=True))
    assert merged.fail_on_bottleneck
    assert not merged.empty


# --- the funnel YAML -------------------------------------------------------------------------------


def alerts_yaml(text: str) -> object:
    """The value of ``alerts:`` as PyYAML reads it (35% a text, 0.5 a float, true a bool)."""
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    return document.get("alerts")


def test_rules_from_yaml() -> None:
    data = alerts_yaml(
        """
alerts:
  fail_below: {Demo: 35%, Proposal: 0.5}
  fail_on_bottleneck: true
  max_stale: 25
  min_win_rate: 20%
"""
    )
    assert rules_from_yaml(data, "funnel.yaml") == (
        AlertRules(
            fail_below={"Demo": F(7, 20), "Proposal": F(1, 2)},
            fail_on_bottleneck=True,
            max_stale=25,
            min_win_rate=F(1, 5),
        ),
        [],
    )


@pytest.mark.parametrize("text", ["name: x\n", "alerts:\n", "alerts: {}\n"])
def test_no_alerts_in_yaml_are_empty_rules(text: str) -> None:
    rules, problems = rules_from_yaml(alerts_yaml(text), "funnel.yaml")
    assert rules.empty
    assert problems == []


def test_null_values_in_yaml_leave_rules_unset() -> None:
    data = alerts_yaml(
        "alerts:\n  fail_below:\n  fail_on_bottleneck:\n  max_stale:\n  min_win_rate:\n"
    )
    assert rules_from_yaml(data, "funnel.yaml") == (AlertRules(), [])


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            "alerts: [fail_on_bottleneck]",
            [
                "funnel.yaml: alerts: expected a mapping like"
                " {fail_below: {Demo: 35%}, max_stale: 25}, got a list"
            ],
        ),
        (
            "alerts: yes",
            [
                "funnel.yaml: alerts: expected a mapping like"
                " {fail_below: {Demo: 35%}, max_stale: 25}, got True"
            ],
        ),
        (
            "alerts: {fail_below: {Demo: 1.4}}",
            [f"funnel.yaml: alerts.fail_below.Demo: {RANGE}, got 1.4"],
        ),
        (
            "alerts: {fail_below: {Demo: 35}}",
            [f"funnel.yaml: alerts.fail_below.Demo: {RANGE}, got 35; did you mean 35%?"],
        ),
        (
            "alerts: {fail_below: {Demo: often}}",
            [
                "funnel.yaml: alerts.fail_below.Demo: expected a rate (like 0.35 or 35%),"
                " got 'often'"
            ],
        ),
        (
            "alerts: {fail_below: {Demo: }}",
            [
                "funnel.yaml: alerts.fail_below.Demo: expected a rate (like 0.35 or 35%),"
                " got nothing"
            ],
        ),
        (
            "alerts: {fail_below: Demo=35%}",
            [
                "funnel.yaml: alerts.fail_below: expected a mapping of stage names to rates"
                " like {Demo: 35%}, got the text 'Demo=35%'"
            ],
        ),
        (
            "alerts: {fail_below: {~: 35%}}",
            ["funnel.yaml: alerts.fail_below: expected stage names as keys, got nothing"],
        ),
        (
            "alerts: {fail_below: {Demo: 35%, demo: 40%}}",
            ["funnel.yaml: alerts.fail_below.demo: 'demo' repeats 'Demo'; give each stage once"],
        ),
        (
            "alerts: {fail_on_bottleneck: 'yes'}",
            ["funnel.yaml: alerts.fail_on_bottleneck: must be true or false, got the text 'yes'"],
        ),
        (
            "alerts: {max_stale: -1}",
            [
                "funnel.yaml: alerts.max_stale: must be a whole number of deals, 0 or more"
                " (like 25), got -1"
            ],
        ),
        (
            "alerts: {max_stale: 2.5}",
            [
                "funnel.yaml: alerts.max_stale: must be a whole number of deals, 0 or more"
                " (like 25), got 2.5"
            ],
        ),
        (
            "alerts: {max_stale: true}",
            [
                "funnel.yaml: alerts.max_stale: must be a whole number of deals, 0 or more"
                " (like 25), got True"
            ],
        ),
        (
            "alerts: {max_stale: '25'}",
            [
                "funnel.yaml: alerts.max_stale: must be a whole number of deals, 0 or more"
                " (like 25), got the text '25'"
            ],
        ),
        (
            "alerts: {min_win_rate: 20}",
            [f"funnel.yaml: alerts.min_win_rate: {RANGE}, got 20; did you mean 20%?"],
        ),
        (
            "alerts: {min_win_rate: [20%]}",
            ["funnel.yaml: alerts.min_win_rate: expected a rate (like 0.35 or 35%), got a list"],
        ),
        (
            "alerts: {fail_bellow: {Demo: 35%}}",
            ["funnel.yaml: alerts.fail_bellow: unknown key; did you mean 'fail_below'?"],
        ),
        (
            "alerts: {fail-on-bottleneck: true}",
            [
                "funnel.yaml: alerts.fail-on-bottleneck: unknown key;"
                " did you mean 'fail_on_bottleneck'?"
            ],
        ),
        (
            "alerts: {colour: red}",
            [
                "funnel.yaml: alerts.colour: unknown key; known keys:"
                " fail_below, fail_on_bottleneck, max_stale, min_win_rate, max_skipped"
            ],
        ),
    ],
)
def test_yaml_problems(text: str, problems: list[str]) -> None:
    assert rules_from_yaml(alerts_yaml(text), "funnel.yaml")[1] == problems


def test_yaml_problems_are_all_collected_and_the_valid_rules_kept() -> None:
    data = alerts_yaml(
        """
alerts:
  fail_below: {Demo: 1.4, Proposal: 50%}
  max_stail: 25
  min_win_rate: 20%
  fail_on_bottleneck: maybe
"""
    )
    rules, problems = rules_from_yaml(data, "t.yaml")
    assert problems == [
        "t.yaml: alerts.max_stail: unknown key; did you mean 'max_stale'?",
        f"t.yaml: alerts.fail_below.Demo: {RANGE}, got 1.4",
        "t.yaml: alerts.fail_on_bottleneck: must be true or false, got the text 'maybe'",
    ]
    assert rules == AlertRules(fail_below={"Proposal": F(1, 2)}, min_win_rate=F(1, 5))


def test_yaml_stage_names_may_be_numbers() -> None:
    rules, problems = rules_from_yaml({"fail_below": {2: "35%"}}, "t.yaml")
    assert (rules.fail_below, problems) == ({"2": F(7, 20)}, [])
