"""Plans from history through the command line: --rates-from, --credit-pipeline, --booked.

The export is tests/data/history_cli/deals.csv with funnel.yaml (Lead > Demo > Won,
planned 50% and 40%, average_deal_value 20,000; lost: [Lost]). Every figure below is
worked out by hand from the twelve deals, following the formulas in
funnelcli/history_plan.py's docstring:

    H01-H03  Won   9,000 + 12,000 + 15,000 = 36,000   -> average won value 12,000
    H04-H06  Lost  at Lead (a status column keeps the stage they were lost at)
    H07-H10  Lead  open, 5,000 + 5,000 + 6,000 + 4,000 = 20,000
    H11-H12  Demo  open, 10,000 + 10,000 = 20,000

    reached: Lead 12, Demo 2 open + 3 won = 5, Won 3; open now: Lead 4, Demo 2.
    resolved conversion = reached[next] / (reached[i] - open[i]):
        Lead 5 / (12 - 4) = 5/8 = 62.5%;  Demo 3 / (5 - 2) = 1 = 100%.
    win from each stage (product of the rates below it): Lead 5/8, Demo 1, Won 1.
    win rate = won / (won + lost) = 3 / 6 = 1/2; coverage needed = 1 / (1/2) = 2.
    expected wins from the open deals = 4 x 5/8 + 2 x 1 = 2.5 + 2 = 4.5.
    expected revenue from them = 20,000 x 5/8 + 20,000 x 1 = 12,500 + 20,000 = 32,500.
    open value = 20,000 + 20,000 = 40,000.
    Both rates rest on fewer than 30 resolved deals (8 and 3): a note and a warning each,
    with the 90% Wilson interval (z = 1.6449; centre (p + z²/2n) / (1 + z²/n), half width
    z sqrt(p(1 - p)/n + z²/4n²) / (1 + z²/n)):
        5/8: centre 0.5934, half 0.2454 -> 34.8% to 83.9%;
        3/3: centre 0.7629, half 0.2371 -> 52.6% to 100%.

unattributed.csv has the same deals with H04-H06 as the label Lost only: where they were
lost is unknown, so no rate is measured (report.py). The overall win rate 3/6 = 1/2
stands in at Demo, 100% at Lead: P(win) = 1/2 from both stages.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from funnelcli.cli import app

from .conftest import DATA, THEIRS, line_matching

HISTORY = DATA / "history_cli"
FUNNEL = str(HISTORY / "funnel.yaml")
DEALS = str(HISTORY / "deals.csv")
UNMEASURED = str(HISTORY / "unmeasured.csv")
ZERO_RATE = str(HISTORY / "zero_rate.csv")
UNKNOWN_LABEL = str(HISTORY / "unknown_label.csv")
MISSING = str(HISTORY / "missing.csv")
UNATTRIBUTED = str(HISTORY / "unattributed.csv")
NO_WON = str(HISTORY / "no_won.csv")
FEW_NOTES = [
    "Lead: 62.5% to Demo rests on 8 resolved deals only (fewer than 30); "
    "90% interval 34.8% to 83.9%",
    "Demo: 100% to Won rests on 3 resolved deals only (fewer than 30); 90% interval 52.6% to 100%",
]
runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, ["plan", FUNNEL, *args], prog_name="funnel")


def plan_json(*args: str) -> dict[str, Any]:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def needed(data: dict[str, Any]) -> list[int]:
    return [stage["needed"] for stage in data["stages"]]


def markdown_summary(*args: str) -> str:
    """The plan's one-sentence summary: the third line of the Markdown."""
    result = run(*args, "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()[2]


# --- the fixture itself -------------------------------------------------------------------


def test_the_report_of_the_export_agrees_with_the_hand_count() -> None:
    # The counts the module docstring starts from, as `funnel report` sees them.
    result = runner.invoke(
        app,
        ["report", DEALS, "--funnel", FUNNEL, "--as-of", "2026-06-01", "--format", "json"],
        prog_name="funnel",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [stage["reached"] for stage in data["stages"]] == [12, 5, 3]
    assert [stage["current"] for stage in data["stages"]] == [4, 2, 0]
    assert [stage["lost"] for stage in data["stages"]] == [3, 0, 0]
    assert [stage["resolved_conversion"] for stage in data["stages"]] == [5 / 8, 1.0, None]
    assert data["lost"]["unknown_stage"] == 0
    assert data["win_rate"] == 0.5
    assert data["average_won_value"] == 12000


# --- --rates-from -------------------------------------------------------------------------


def test_planned_rates_without_an_export() -> None:
    # The file's own figures, for contrast: 100,000 / 20,000 = 5 deals;
    # Demo ceil(5 / 0.4) = ceil(12.5) = 13; Lead ceil(5 / (0.5 x 0.4)) = 25.
    data = plan_json("--target", "100k")
    assert data["average_deal_value"] == 20000
    assert data["deals_needed"] == 5
    assert needed(data) == [25, 13, 5]
    assert data["rates_from"] is None


def test_rates_from_uses_the_measured_rates_and_won_value() -> None:
    # deal value 12,000 (measured): 100,000 / 12,000 = 8.33 -> 9 deals.
    # needed[i] = ceil(9 / product of the measured rates from i):
    #   Won 9; Demo ceil(9 / 1) = 9; Lead ceil(9 / (5/8)) = ceil(14.4) = 15.
    data = plan_json("--target", "100k", "--rates-from", DEALS)
    assert data["target_revenue"] == 100000
    assert data["average_deal_value"] == 12000
    assert data["deals_needed"] == 9
    assert data["leads_needed"] == 15
    assert needed(data) == [15, 9, 9]
    assert [stage["conversion_to_next"] for stage in data["stages"]] == [0.625, 1, None]
    assert [stage["cumulative_to_won"] for stage in data["stages"]] == [0.625, 1.0, 1.0]
    assert data["rates_from"] == DEALS
    assert data["rates_notes"] == FEW_NOTES
    assert [
        (row["stage"], row["rate"], row["from"], row["moved_on"], row["resolved_deals"])
        for row in data["rates"]
    ] == [("Lead", 0.625, "measured", 5, 8), ("Demo", 1.0, "measured", 3, 3)]
    assert data["rates"][0]["interval_90"] == pytest.approx(
        [0.5934 - 0.2454, 0.5934 + 0.2454], abs=2e-4
    )
    assert data["pipeline_credit"] is None


def test_rates_from_sensitivity_and_lever() -> None:
    # Lead 62.5% -> 67.5%: ceil(9 / 0.675) = ceil(13.33) = 14 leads, 1 fewer than 15.
    # Demo 100% cannot rise: 15 leads, none saved. The lever is Lead.
    data = plan_json("--target", "100k", "--rates-from", DEALS)
    assert [
        (row["stage"], row["leads_needed"], row["leads_saved"]) for row in data["sensitivity"]
    ] == [
        ("Lead", 14, 1),
        ("Demo", 15, 0),
    ]
    assert data["lever"] == "Lead"


def test_rates_from_says_where_the_rates_came_from() -> None:
    result = run("--target", "100k", "--rates-from", DEALS, "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    # 9 deals at 12,000, 15 leads (above); no pipeline credit, so the plain sentence.
    assert lines[2:10] == [
        "To book $100k at $12,000 per deal you need 9 won deals, which takes 15 leads at "
        "these rates.",
        "",
        f"- Rates and deal value measured from {DEALS} (resolved conversion, average won value).",
        r"- Lead to Demo: 62.5% \(5 of 8 resolved deals moved on; 90% interval 34.8% to 83.9%\).",
        r"- Demo to Won: 100% \(3 of 3 resolved deals moved on; 90% interval 52.6% to 100%\).",
        *[f"- {note}".replace("(", r"\(").replace(")", r"\)") for note in FEW_NOTES],
        "",
    ]
    # Said on stderr too.
    assert [line for line in result.stderr.splitlines() if "rests on" in line] == [
        f"warning: {DEALS}: {note}" for note in FEW_NOTES
    ]


def test_rates_notes_when_a_stage_cannot_be_measured() -> None:
    # unmeasured.csv: N01 lost at Lead, N02-N03 open in Demo, N04 open in Lead.
    # reached Lead 4, Demo 2; Lead resolves 2 / (4 - 1) = 2/3; no deal has left Demo
    # (2 reached, 2 open): its planned 40% stands in. No won deal: the file's 20,000 stands in.
    # 100,000 / 20,000 = 5 deals; Demo ceil(5 / 0.4) = 13; Lead ceil(5 / (2/3 x 2/5)) =
    # ceil(5 x 15/4) = ceil(18.75) = 19. Lead's 2/3 rests on 3 deals: 90% interval
    # centre (2/3 + z²/6) / (1 + z²/3) = 0.5876, half 0.3341 -> 25.4% to 92.2%.
    data = plan_json("--target", "100k", "--rates-from", UNMEASURED)
    assert data["rates_notes"] == [
        "Demo: no deal has left this stage in the export; the planned 40% to Won stands in",
        "the export has no won deals; the funnel's average_deal_value $20,000 stands in",
        "Lead: 66.7% to Demo rests on 3 resolved deals only (fewer than 30); "
        "90% interval 25.4% to 92.2%",
    ]
    assert data["rates_from"] == UNMEASURED
    assert data["average_deal_value"] == 20000
    assert [stage["conversion_to_next"] for stage in data["stages"]] == [2 / 3, 0.4, None]
    assert data["deals_needed"] == 5
    assert needed(data) == [19, 13, 5]


def test_rates_from_warns_about_lost_deals_without_a_stage() -> None:
    # `funnel report unattributed.csv` warns on stderr; the plan says so too.
    result = run("--target", "100k", "--rates-from", UNATTRIBUTED, "--format", "json")
    assert result.exit_code == 0
    assert "3 lost deals do not say at which stage they were lost" in result.stderr


def test_rates_from_the_win_rate_when_losses_are_unattributed() -> None:
    # Rates: Lead 100% (not measured), Demo the win rate 3/6 = 1/2 (rests on 6 closed
    # deals: centre 0.5, half z sqrt(1/24 + z²/144) / (1 + z²/6) = 0.2787 -> 22.1% to
    # 77.9%). 9 deals at 12,000: Demo ceil(9 / 1/2) = 18, Lead ceil(9 / (1 x 1/2)) = 18.
    result = run("--target", "100k", "--rates-from", UNATTRIBUTED, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert needed(data) == [18, 18, 9]
    assert [stage["conversion_to_next"] for stage in data["stages"]] == [1, 0.5, None]
    assert [(row["from"], row["resolved_deals"]) for row in data["rates"]] == [
        ("not measured", None),
        ("win rate", 6),
    ]
    assert data["rates_notes"] == [
        "Rates from the overall win rate (3 won of 6 closed): the export does not say where "
        "deals were lost, so no stage's rate can be measured; Demo to Won is planned at the "
        "win rate and every stage above it at 100%",
        "Demo: 50% to Won rests on 6 resolved deals only (fewer than 30); "
        "90% interval 22.1% to 77.9%",
    ]
    # No open stage is won for sure: P(win) is 1/2 from Lead and from Demo.
    assert [stage["cumulative_to_won"] for stage in data["stages"]] == [0.5, 0.5, 1.0]


def test_credit_pipeline_by_the_win_rate_when_losses_are_unattributed() -> None:
    # P(win) 1/2 for each of the 6 open deals: expected 3 (not 4.5 as if Demo won for
    # sure), revenue 40,000 x 1/2 = 20,000; gap ceil(9 - 3) = 6 deals; leads 6 / (1/2) = 12.
    data = plan_json("--target", "100k", "--credit-pipeline", UNATTRIBUTED)
    credit = data["pipeline_credit"]
    assert credit["expected_deals_from_pipeline"] == 3
    assert credit["expected_revenue_from_pipeline"] == 20000
    assert credit["gap_deals"] == 6
    assert data["leads_needed"] == 12


def test_rates_from_warns_about_skipped_rows() -> None:
    # unknown_label.csv is deals.csv plus H13 in stage 'Negotiation', which funnel.yaml lacks.
    result = run("--target", "100k", "--rates-from", UNKNOWN_LABEL, "--format", "json")
    assert result.exit_code == 0
    assert "1 row skipped, unknown stage label: row 14 'Negotiation'" in result.stderr


# --- --credit-pipeline --------------------------------------------------------------------


def test_credit_pipeline_plans_new_leads_for_the_gap() -> None:
    # 100,000 / 12,000 -> 9 deals; expected 4.5; gap = max(0, ceil(9 - 4.5)) = 5.
    # The plan is for the gap: 5 x 12,000 = 60,000; Demo ceil(5 / 1) = 5;
    # Lead ceil(5 / (5/8)) = 8. Coverage 40,000 / 100,000 = 0.4.
    data = plan_json("--target", "100k", "--credit-pipeline", DEALS)
    assert data["pipeline_credit"] == {
        "export": DEALS,
        "target_revenue": 100000,
        "booked": 0,
        "remaining_target": 100000,
        "deals_needed": 9,
        "open_deals": 6,
        "expected_deals_from_pipeline": 4.5,
        "expected_revenue_from_pipeline": 32500,
        "gap_deals": 5,
        "gap_revenue": 60000,
        "open_value": 40000,
        "coverage": 0.4,
        "win_rate": 0.5,
        "coverage_needed": 2,
    }
    assert data["target_revenue"] == 60000
    assert data["average_deal_value"] == 12000
    assert data["deals_needed"] == 5
    assert data["leads_needed"] == 8
    assert needed(data) == [8, 5, 5]
    assert data["rates_from"] == DEALS
    assert data["rates_notes"] == FEW_NOTES


def test_credit_pipeline_with_the_same_file_for_rates_from() -> None:
    # --rates-from naming the same export is allowed and changes nothing: gap 5, 8 leads.
    data = plan_json("--target", "100k", "--credit-pipeline", DEALS, "--rates-from", DEALS)
    assert data["pipeline_credit"]["gap_deals"] == 5
    assert needed(data) == [8, 5, 5]


def test_credit_pipeline_summary_sentence() -> None:
    assert markdown_summary("--target", "100k", "--credit-pipeline", DEALS) == (
        "To book $100k at $12,000 per deal you need 9 won deals; the open pipeline is expected "
        "to win 4.5, so 5 more must come from 8 new leads at these rates."
    )


def test_booked_revenue_shrinks_the_remaining_target() -> None:
    # remaining = 100,000 - 50,000 = 50,000 -> ceil(4.17) = 5 deals; gap ceil(5 - 4.5) = 1;
    # Demo ceil(1 / 1) = 1; Lead ceil(1 / (5/8)) = ceil(1.6) = 2; gap revenue 12,000.
    # Coverage 40,000 / 50,000 = 0.8.
    data = plan_json("--target", "100k", "--credit-pipeline", DEALS, "--booked", "50k")
    assert data["pipeline_credit"] == {
        "export": DEALS,
        "target_revenue": 100000,
        "booked": 50000,
        "remaining_target": 50000,
        "deals_needed": 5,
        "open_deals": 6,
        "expected_deals_from_pipeline": 4.5,
        "expected_revenue_from_pipeline": 32500,
        "gap_deals": 1,
        "gap_revenue": 12000,
        "open_value": 40000,
        "coverage": 0.8,
        "win_rate": 0.5,
        "coverage_needed": 2,
    }
    assert data["deals_needed"] == 1
    assert data["leads_needed"] == 2
    assert needed(data) == [2, 1, 1]


def test_booked_zero_is_the_same_as_none() -> None:
    with_zero = plan_json("--target", "100k", "--credit-pipeline", DEALS, "--booked", "0")
    assert with_zero["pipeline_credit"]["booked"] == 0
    assert with_zero["pipeline_credit"]["gap_deals"] == 5  # as without --booked
    assert needed(with_zero) == [8, 5, 5]


def test_booked_summary_names_the_remaining_target() -> None:
    # Booked 40,000: remaining 60,000 = 5 deals (not the 9 that $100k takes); gap
    # ceil(5 - 4.5) = 1, 2 leads. The sentence must not pair $100k with 5 deals.
    summary = markdown_summary("--target", "100k", "--credit-pipeline", DEALS, "--booked", "40k")
    assert summary == (
        "To book $100k ($40k booked, $60k to go) at $12,000 per deal you need 5 won deals; "
        "the open pipeline is expected to win 4.5, so 1 more must come from 2 new leads "
        "at these rates."
    )


def test_pipeline_that_covers_the_target() -> None:
    # 48,000 / 12,000 = 4 deals; expected 4.5; ceil(4 - 4.5) = ceil(-0.5) = 0 -> gap 0.
    # No new leads: every stage needs 0. Coverage 40,000 / 48,000 = 5/6.
    data = plan_json("--target", "48k", "--credit-pipeline", DEALS)
    credit = data["pipeline_credit"]
    assert credit["deals_needed"] == 4
    assert credit["expected_deals_from_pipeline"] == 4.5
    assert credit["gap_deals"] == 0
    assert credit["gap_revenue"] == 0
    assert credit["coverage"] == 5 / 6
    assert credit["coverage_needed"] == 2
    assert data["deals_needed"] == 0
    assert data["leads_needed"] == 0
    assert needed(data) == [0, 0, 0]
    assert data["sensitivity"] == []
    assert data["lever"] is None


def test_covered_summary_says_no_new_leads_are_needed() -> None:
    assert markdown_summary("--target", "48k", "--credit-pipeline", DEALS) == (
        "To book $48k at $12,000 per deal you need 4 won deals; the open pipeline is expected "
        "to win 4.5: no new leads are needed."
    )


@pytest.mark.parametrize(
    ("target", "gap_revenue"),
    [
        ("100k", 60000),  # gap 5 x 12,000
        pytest.param("48k", 0),  # gap 0
    ],
)
def test_plan_target_is_the_gap_revenue(target: str, gap_revenue: int) -> None:
    # The plan is for the gap only (history_plan.plan_with_credit): its target_revenue is
    # the gap's revenue, so deals_needed = ceil(target_revenue / average_deal_value) holds.
    data = plan_json("--target", target, "--credit-pipeline", DEALS)
    assert data["pipeline_credit"]["gap_revenue"] == gap_revenue
    assert data["target_revenue"] == gap_revenue


def test_booked_beyond_the_target_leaves_nothing_to_plan() -> None:
    # remaining = max(0, 100,000 - 120,000) = 0 -> 0 deals, gap 0; coverage of nothing: null.
    data = plan_json("--target", "100k", "--credit-pipeline", DEALS, "--booked", "120k")
    credit = data["pipeline_credit"]
    assert credit["booked"] == 120000
    assert credit["remaining_target"] == 0
    assert credit["deals_needed"] == 0
    assert credit["gap_deals"] == 0
    assert credit["coverage"] is None
    assert credit["coverage_needed"] == 2
    assert data["leads_needed"] == 0


# --- usage errors -------------------------------------------------------------------------

ZERO_RATE_MESSAGE = (
    # zero_rate.csv: three lost at Lead and one open Lead: 4 - 1 = 3 left Lead, 0 moved on.
    "error: cannot plan from the export: Lead converts 0% to Demo (0 of 3 deals that left "
    "it moved on); plan with the funnel file's rates instead"
)
NO_WON_MESSAGE = (
    # no_won.csv: the same deals, the lost ones without a stage: the win rate 0 / 3 would
    # be Demo's rate. The warning first says why no stage's rate is measured.
    f"warning: {NO_WON}: 3 lost deals do not say at which stage they were lost; they "
    "count as lost at the first stage\n"
    "error: cannot plan from the export: none of its 3 closed deals was won, and it does "
    "not say where deals were lost; plan with the funnel file's rates instead"
)
MISSING_MESSAGE = line_matching(
    f"error: {MISSING}: cannot read the file (", THEIRS, "); check the path\n"
)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--booked", "10k"], "error: --booked goes with --credit-pipeline"),
        (["--rates-from", DEALS, "--booked", "10k"], "error: --booked goes with --credit-pipeline"),
        (
            ["--rates-from", DEALS, "--credit-pipeline", UNMEASURED],
            "error: --credit-pipeline measures its rates from its own export; give "
            "--rates-from the same file or leave it out",
        ),
        (
            ["--credit-pipeline", DEALS, "--booked", "-5"],
            "error: --booked: must be 0 or more, got -5",
        ),
        (["--rates-from", ZERO_RATE], ZERO_RATE_MESSAGE),
        (["--credit-pipeline", ZERO_RATE], ZERO_RATE_MESSAGE),
        (["--rates-from", NO_WON], NO_WON_MESSAGE),
    ],
    ids=[
        "booked-alone",
        "booked-with-rates-from",
        "two-different-exports",
        "negative-booked",
        "zero-rate-rates-from",
        "zero-rate-credit-pipeline",
        "no-won-unattributed",
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    result = run("--target", "100k", *args, "--format", "json")
    assert result.exit_code == 2
    assert result.stderr == message + "\n"
    assert result.stdout == ""


@pytest.mark.parametrize("option", ["--rates-from", "--credit-pipeline"])
def test_a_missing_export(option: str) -> None:
    result = run("--target", "100k", option, MISSING, "--format", "json")
    assert result.exit_code == 2
    assert MISSING_MESSAGE.fullmatch(result.stderr), result.stderr  # the OS's reason: any
    assert result.stdout == ""
