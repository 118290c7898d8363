"""The plan's JSON contract (every key, every type), its CSV and its Markdown.

Three commands are pinned: a plain plan of tests/data/cli/readme_funnel.yaml (its figures
are worked out by hand in tests/commands/test_cli.py), the same with --confidence and a
deadline, and a plan that credits the open pipeline of tests/data/history_cli/deals.csv
(worked out by hand in tests/commands/test_history_cli.py). A key added, removed or
retyped must be a deliberate change to this file (and to the README's "JSON output"). The
CSV and the Markdown are checked against the JSON of the same command, so the three
formats cannot drift apart.

Money and counts follow render/numbers.py: a whole amount is an int, any other a float.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from funnelcli.cli import app

from ..conftest import DATA

FUNNEL = str(DATA / "cli" / "readme_funnel.yaml")
HISTORY_FUNNEL = str(DATA / "history_cli" / "funnel.yaml")
DEALS = str(DATA / "history_cli" / "deals.csv")
runner = CliRunner()

NoneType = type(None)

PLAIN = ("plan", FUNNEL, "--target", "1.2M")
DATED = (*PLAIN, "--confidence", "90%", "--by", "2027-03-31", "--as-of", "2026-12-01")
CREDIT = ("plan", HISTORY_FUNNEL, "--target", "100k", "--credit-pipeline", DEALS)


def run(*args: str) -> Result:
    return runner.invoke(app, list(args), prog_name="funnel")


def as_json(*args: str) -> dict[str, Any]:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def types_of(data: dict[str, Any]) -> dict[str, type]:
    return {key: type(value) for key, value in data.items()}


# Key -> the type of its value for the plain plan. readme_funnel.yaml has cost_per_lead 45,
# so there is a budget; no --confidence, no deadline, no export: those are None.
TOP_LEVEL = {
    "schema_version": int,
    "command": str,
    "funnel": str,
    "funnel_source": str,
    "currency": str,
    "target_revenue": int,  # 1,200,000
    "average_deal_value": int,  # 24,000
    "deals_needed": int,
    "leads_needed": int,
    "stages": list,
    "confidence": NoneType,
    "budget": dict,
    "pacing": NoneType,
    "sensitivity": list,
    "lever": str,
    "rates_from": NoneType,
    "rates_notes": list,
    "pipeline_credit": NoneType,
    "rates": NoneType,  # with --rates-from: each rate, its source, deals and interval
}
STAGE = {
    "name": str,
    "needed": int,
    "conversion_to_next": float,
    "cumulative_to_won": float,
    "enter_by": NoneType,
}
WON_STAGE = {**STAGE, "conversion_to_next": NoneType}
# 45 per lead: 3334 x 45 = 150,030 and every leads_saved x 45 are whole; 150,030 / 50 is not.
BUDGET = {
    "cost_per_lead": int,
    "lead_budget": int,
    "cost_per_won_deal": float,  # 3000.6
    "lead_budget_at_confidence": NoneType,
}
SENSITIVITY = {
    "stage": str,
    "current_rate": float,
    "raised_rate": float,
    "leads_needed": int,
    "leads_saved": int,
    "budget_saved": int,
}

# With --confidence 90% --by 2027-03-31 --as-of 2026-12-01.
DATED_TOP_LEVEL = {**TOP_LEVEL, "confidence": dict, "pacing": dict}
DATED_STAGE = {**STAGE, "enter_by": str}
DATED_WON_STAGE = {**WON_STAGE, "enter_by": str}
CONFIDENCE = {"level": float, "leads_needed": int, "stages": list}
CONFIDENCE_STAGE = {"name": str, "needed": int}
DATED_BUDGET = {**BUDGET, "lead_budget_at_confidence": int}  # 3945 x 45 = 177,525
PACING = {
    "deadline": str,
    "as_of": str,
    "cycle_days": int,
    "last_lead_entry": str,
    "window_start": str,
    "window_days": int,
    "feasible": bool,
    "per": str,
    "leads": int,
    "paced_at_confidence": float,
    "leads_per_period": int,
    "leads_per_period_least": int,
    "schedule": list,
}
PACING_PERIOD = {"period": str, "start": str, "end": str, "leads": int}

# With --credit-pipeline deals.csv (history_cli/funnel.yaml has no cost_per_lead: no budget).
# The gap plan of 5 deals saves no lead by raising a rate
# (tests/commands/test_history_cli.py): no lever.
CREDIT_TOP_LEVEL = {
    **TOP_LEVEL,
    "budget": NoneType,
    "lever": NoneType,
    "rates_from": str,
    "pipeline_credit": dict,
    "rates": list,
}
CREDIT_SENSITIVITY = {**SENSITIVITY, "budget_saved": NoneType}
# Figures for --target 100k (worked out in tests/commands/test_history_cli.py): money all
# whole; expected wins 4.5, coverage 0.4 and win rate 0.5 are not; coverage needed
# 1 / (1/2) = 2 is whole.
PIPELINE_CREDIT = {
    "export": str,
    "target_revenue": int,
    "booked": int,
    "remaining_target": int,
    "deals_needed": int,
    "open_deals": int,
    "expected_deals_from_pipeline": float,
    "expected_revenue_from_pipeline": int,
    "gap_deals": int,
    "gap_revenue": int,
    "open_value": int,
    "coverage": float,
    "win_rate": float,
    "coverage_needed": float,
}


# --- JSON: the plain plan -----------------------------------------------------------------


def test_top_level_keys_in_order() -> None:
    assert list(as_json(*PLAIN)) == list(TOP_LEVEL)


def test_top_level_types() -> None:
    data = as_json(*PLAIN)
    assert types_of(data) == TOP_LEVEL
    assert data["schema_version"] == 1
    assert data["command"] == "plan"
    assert data["funnel_source"] == FUNNEL
    assert data["rates_notes"] == []


def test_each_stage_keys_and_types() -> None:
    stages = as_json(*PLAIN)["stages"]
    assert [stage["name"] for stage in stages] == ["Lead", "MQL", "SQL", "Opportunity", "Won"]
    for stage in stages[:-1]:
        assert types_of(stage) == STAGE, stage["name"]
    assert types_of(stages[-1]) == WON_STAGE


def test_budget_keys_and_types() -> None:
    assert types_of(as_json(*PLAIN)["budget"]) == BUDGET


def test_each_sensitivity_row_keys_and_types() -> None:
    rows = as_json(*PLAIN)["sensitivity"]
    # One row per stage that has a rate: all but Won.
    assert [row["stage"] for row in rows] == ["Lead", "MQL", "SQL", "Opportunity"]
    for row in rows:
        assert types_of(row) == SENSITIVITY, row["stage"]


def test_json_is_one_document_ending_in_a_newline() -> None:
    result = run(*PLAIN, "--format", "json")
    data = json.loads(result.stdout)  # one document: json.loads refuses anything after it
    assert list(data)[:2] == ["schema_version", "command"]
    assert (data["schema_version"], data["command"]) == (1, "plan")
    # Indented by 2, then one newline: the whole text is that of the values it holds.
    assert result.stdout == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert result.stderr == ""


# --- JSON: confidence and a deadline ------------------------------------------------------


def test_dated_top_level_keys_and_types() -> None:
    data = as_json(*DATED)
    assert list(data) == list(DATED_TOP_LEVEL)
    assert types_of(data) == DATED_TOP_LEVEL


def test_dated_stages_have_enter_by_dates() -> None:
    stages = as_json(*DATED)["stages"]
    for stage in stages[:-1]:
        assert types_of(stage) == DATED_STAGE, stage["name"]
    assert types_of(stages[-1]) == DATED_WON_STAGE
    # The won stage enters by the deadline itself.
    assert stages[-1]["enter_by"] == "2027-03-31"


def test_confidence_keys_and_types() -> None:
    confidence = as_json(*DATED)["confidence"]
    assert types_of(confidence) == CONFIDENCE
    assert confidence["level"] == 0.9
    assert [stage["name"] for stage in confidence["stages"]] == [
        "Lead",
        "MQL",
        "SQL",
        "Opportunity",
        "Won",
    ]
    for stage in confidence["stages"]:
        assert types_of(stage) == CONFIDENCE_STAGE, stage["name"]


def test_dated_budget_has_the_budget_at_confidence() -> None:
    data = as_json(*DATED)
    assert types_of(data["budget"]) == DATED_BUDGET
    # 45 per lead x the leads needed at 90%.
    assert data["budget"]["lead_budget_at_confidence"] == 45 * data["confidence"]["leads_needed"]


def test_pacing_keys_and_types() -> None:
    pacing = as_json(*DATED)["pacing"]
    assert types_of(pacing) == PACING
    assert pacing["feasible"] is True
    assert pacing["per"] == "month"
    # Dec, Jan and the first days of Feb (tests/commands/test_cli.py works out the window).
    assert len(pacing["schedule"]) == 3
    for row in pacing["schedule"]:
        assert types_of(row) == PACING_PERIOD, row["period"]


# --- JSON: pipeline credit ----------------------------------------------------------------


def test_credit_top_level_keys_and_types() -> None:
    data = as_json(*CREDIT)
    assert list(data) == list(CREDIT_TOP_LEVEL)
    assert types_of(data) == CREDIT_TOP_LEVEL
    assert data["rates_from"] == DEALS
    assert data["rates_notes"] == FEW_NOTES  # every stage of deals.csv has deals that left it


def test_pipeline_credit_keys_and_types() -> None:
    credit = as_json(*CREDIT)["pipeline_credit"]
    assert list(credit) == list(PIPELINE_CREDIT)
    assert types_of(credit) == PIPELINE_CREDIT
    assert credit["export"] == DEALS


def test_credit_stages_and_sensitivity_types() -> None:
    # Measured rates: Lead 5/8 (a float), Demo 1 (checked on its own below).
    data = as_json(*CREDIT)
    lead, demo, won = data["stages"]
    assert types_of(lead) == STAGE
    assert types_of(won) == WON_STAGE
    assert {key: type(value) for key, value in demo.items() if key != "conversion_to_next"} == {
        key: kind for key, kind in STAGE.items() if key != "conversion_to_next"
    }
    for row in data["sensitivity"]:
        assert types_of(row) == CREDIT_SENSITIVITY, row["stage"]


def test_a_rate_of_100_percent_is_a_float_like_every_rate() -> None:
    # deals.csv: Demo resolves 3 won / (5 reached - 2 open) = 1.
    data = as_json(*CREDIT)
    demo = data["stages"][1]
    assert demo["cumulative_to_won"] == 1.0 and type(demo["cumulative_to_won"]) is float
    assert data["sensitivity"][1]["current_rate"] == 1.0
    assert type(data["sensitivity"][1]["current_rate"]) is float
    assert type(demo["conversion_to_next"]) is float


def test_rates_from_without_credit_has_no_pipeline_credit() -> None:
    data = as_json("plan", HISTORY_FUNNEL, "--target", "100k", "--rates-from", DEALS)
    assert list(data) == list(TOP_LEVEL)
    assert data["rates_from"] == DEALS
    assert data["rates_notes"] == FEW_NOTES
    assert data["pipeline_credit"] is None
    assert [(row["stage"], row["moved_on"], row["resolved_deals"]) for row in data["rates"]] == [
        ("Lead", 5, 8),
        ("Demo", 3, 3),
    ]


# --- CSV, against the JSON ----------------------------------------------------------------

CSV_HEADER = "stage,needed,conversion_to_next,cumulative_to_won,needed_at_confidence,enter_by"


def csv_rows_from_json(data: dict[str, Any]) -> list[list[str]]:
    """The CSV rows the JSON says there should be: empty cells where a figure is null."""
    confident = (
        [stage["needed"] for stage in data["confidence"]["stages"]]
        if data["confidence"]
        else [None] * len(data["stages"])
    )
    return [
        [
            stage["name"],
            str(stage["needed"]),
            "" if stage["conversion_to_next"] is None else str(stage["conversion_to_next"]),
            str(stage["cumulative_to_won"]),
            "" if at_confidence is None else str(at_confidence),
            stage["enter_by"] or "",
        ]
        for stage, at_confidence in zip(data["stages"], confident, strict=True)
    ]


@pytest.mark.parametrize("args", [PLAIN, DATED, CREDIT], ids=["plain", "dated", "credit"])
def test_csv_matches_the_json(args: tuple[str, ...]) -> None:
    result = run(*args, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == CSV_HEADER
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[1:] == csv_rows_from_json(as_json(*args))


def test_csv_plain_rows_word_for_word() -> None:
    # tests/commands/test_cli.py: needed 3334 / 834 / 334 / 167 / 50; rates 25/40/50/30%;
    # cumulative .25*.4*.5*.3 = .015, .06, .15, .3, 1.
    result = run(*PLAIN, "--format", "csv")
    assert result.stdout.splitlines() == [
        CSV_HEADER,
        "Lead,3334,0.25,0.015,,",
        "MQL,834,0.4,0.06,,",
        "SQL,334,0.5,0.15,,",
        "Opportunity,167,0.3,0.3,,",
        "Won,50,,1.0,,",
    ]


def test_csv_dated_enter_by_column() -> None:
    # Days to close from each stage: 5+7+14+30 = 56, 51, 44, 30, 0 before 2027-03-31.
    rows = list(csv.DictReader(io.StringIO(run(*DATED, "--format", "csv").stdout)))
    assert [row["enter_by"] for row in rows] == [
        "2027-02-03",
        "2027-02-08",
        "2027-02-15",
        "2027-03-01",
        "2027-03-31",
    ]
    assert rows[-1]["needed_at_confidence"] == "50"  # the won stage needs the deals, no more


# --- Markdown, against the JSON -----------------------------------------------------------


def percent(rate: float, places: int) -> str:
    """0.25 -> '25%', 0.015 -> '1.5%', 0.625 -> '62.5%': trailing zeros dropped."""
    text = f"{rate * 100:.{places}f}".rstrip("0").rstrip(".")
    return f"{text}%"


def dollars(amount: float) -> str:
    return f"${amount:,.0f}" if float(amount).is_integer() else f"${amount:,.2f}"


def markdown_table_from_json(data: dict[str, Any]) -> list[str]:
    """The stage table under its heading, in the terminal's columns and order."""
    confidence = data["confidence"]
    header = ["Stage", "Needed"]
    if confidence:
        header.append(f"At {percent(confidence['level'], 1)}")
    header += ["To next", "To won"]
    if data["pacing"]:
        header.append("Enter by")
    lines = [
        "### Stages",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    for index, stage in enumerate(data["stages"]):
        rate = stage["conversion_to_next"]
        cells = [stage["name"], f"{stage['needed']:,}"]
        if confidence:
            cells.append(f"{confidence['stages'][index]['needed']:,}")
        cells += ["" if rate is None else percent(rate, 1), percent(stage["cumulative_to_won"], 2)]
        if data["pacing"]:
            cells.append(stage["enter_by"] or "")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown_lines(*args: str) -> list[str]:
    result = run(*args, "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize("args", [PLAIN, DATED, CREDIT], ids=["plain", "dated", "credit"])
def test_markdown_stage_table_matches_the_json(args: tuple[str, ...]) -> None:
    data = as_json(*args)
    lines = markdown_lines(*args)
    expected = markdown_table_from_json(data)
    start = lines.index(expected[0])
    assert lines[start : start + len(expected) + 1] == [*expected, ""]


def test_markdown_plain_heading_summary_and_table() -> None:
    # 1.2M / 24,000 = 50 deals, 3,334 leads (tests/commands/test_cli.py).
    data = as_json(*PLAIN)
    lines = markdown_lines(*PLAIN)
    assert lines[:4] == [
        f"## Plan: {data['funnel']}",
        "",
        f"To book $1.2M at {dollars(data['average_deal_value'])} per deal you need "
        f"{data['deals_needed']} won deals, which takes {data['leads_needed']:,} leads "
        "at these rates.",
        "",
    ]
    assert lines[4:13] == [
        "### Stages",
        "",
        "| Stage | Needed | To next | To won |",
        "|:---|---:|---:|---:|",
        "| Lead | 3,334 | 25% | 1.5% |",
        "| MQL | 834 | 40% | 6% |",
        "| SQL | 334 | 50% | 15% |",
        "| Opportunity | 167 | 30% | 30% |",
        "| Won | 50 |  | 100% |",
    ]
    assert lines[-2:] == ["", f"Funnel: {Path(FUNNEL).name}"]  # its name, not its path


def test_markdown_plain_detail_lines_match_the_json() -> None:
    data = as_json(*PLAIN)
    budget = data["budget"]
    lever = next(row for row in data["sensitivity"] if row["stage"] == data["lever"])
    lines = markdown_lines(*PLAIN)
    start = lines.index("| Won | 50 |  | 100% |") + 2
    assert lines[start : start + 2] == [
        f"- Lead budget: {dollars(budget['lead_budget'])} at "
        f"{dollars(budget['cost_per_lead'])} per lead, "
        f"{dollars(budget['cost_per_won_deal'])} per won deal.",
        f"- Lever to pull first: {lever['stage']} ({percent(lever['current_rate'], 1)} -> "
        f"{percent(lever['raised_rate'], 1)}: {lever['leads_saved']:,} fewer leads, "
        f"{dollars(lever['budget_saved'])} saved).",
    ]
    # By hand: 3334 x 45 = $150,030; / 50 = $3,000.60; Lead 25% -> 30%: 50 / .018 = 2777.8
    # -> 2778 leads, 3334 - 2778 = 556 fewer, x 45 = $25,020.
    assert lines[start] == ("- Lead budget: $150,030 at $45 per lead, $3,000.60 per won deal.")
    assert lines[start + 1] == (
        "- Lever to pull first: Lead (25% -> 30%: 556 fewer leads, $25,020 saved)."
    )


def test_markdown_dated_detail_lines_match_the_json() -> None:
    data = as_json(*DATED)
    confidence, budget, pacing = data["confidence"], data["budget"], data["pacing"]
    lines = markdown_lines(*DATED)
    start = lines.index(
        f"- To reach {data['deals_needed']} won deals with 90% confidence: "
        f"{confidence['leads_needed']:,} leads."
    )
    assert lines[start + 1 : start + 3] == [
        f"- Lead budget: {dollars(budget['lead_budget'])} at "
        f"{dollars(budget['cost_per_lead'])} per lead, "
        f"{dollars(budget['cost_per_won_deal'])} per won deal; "
        f"{dollars(budget['lead_budget_at_confidence'])} at the confidence level.",
        f"- Pacing: {pacing['leads']:,} leads (the 90% confidence count) enter from "
        f"{pacing['window_start']} to {pacing['last_lead_entry']} "
        f"({pacing['window_days']} days; {pacing['cycle_days']}-day cycle to close by "
        f"{pacing['deadline']}): {pacing['leads_per_period_least']:,} to "
        f"{pacing['leads_per_period']:,} per full {pacing['per']}.",
    ]
    # By hand: the 3,945 leads at 90% over the window 2026-12-01 .. 2027-02-03 (65 days):
    # December ceil(3945 x 31 / 65) = ceil(1881.5) = 1882; January ceil(3945 x 62 / 65)
    # - 1882 = 3763 - 1882 = 1881; February's 3 days are not a full month.
    assert lines[start + 2] == (
        "- Pacing: 3,945 leads (the 90% confidence count) enter from 2026-12-01 to 2027-02-03 "
        "(65 days; 56-day cycle to close by 2027-03-31): 1,881 to 1,882 per full month."
    )


FEW_NOTES = [
    # deals.csv, by hand: Lead 5 of 8 resolved moved on, Demo 3 of 3; 90% Wilson intervals
    # (z = 1.6449): 5/8 -> centre (0.625 + z²/16) / (1 + z²/8) = 0.5934, half width
    # z sqrt(0.625 x 0.375 / 8 + z²/256) / (1 + z²/8) = 0.2454 -> 34.8% to 83.9%;
    # 3/3 -> centre 0.7629, half width 0.2371 -> 52.6% to 100%. Both under 30 deals.
    "Lead: 62.5% to Demo rests on 8 resolved deals only (fewer than 30); "
    "90% interval 34.8% to 83.9%",
    "Demo: 100% to Won rests on 3 resolved deals only (fewer than 30); 90% interval 52.6% to 100%",
]


def test_markdown_credit_lines_match_the_json() -> None:
    data = as_json(*CREDIT)
    credit = data["pipeline_credit"]
    lines = markdown_lines(*CREDIT)
    assert lines[5:7] == [
        r"- Lead to Demo: 62.5% \(5 of 8 resolved deals moved on; 90% interval 34.8% to 83.9%\).",
        r"- Demo to Won: 100% \(3 of 3 resolved deals moved on; 90% interval 52.6% to 100%\).",
    ]
    lines = [line for line in lines if not line.startswith(("- Lead", "- Demo"))]
    assert lines[:8] == [
        f"## Plan: {data['funnel']}",
        "",
        f"To book $100k at {dollars(data['average_deal_value'])} per deal you need "
        f"{credit['deals_needed']} won deals; the open pipeline is expected to win "
        f"{credit['expected_deals_from_pipeline']:.1f}, so {credit['gap_deals']} more must come "
        f"from {data['leads_needed']} new leads at these rates.",
        "",
        # Forwarded, the export goes by its file name.
        f"- Rates and deal value measured from {Path(data['rates_from']).name} (resolved "
        "conversion, average won value).",
        f"- Pipeline credit from {Path(credit['export']).name}: remaining target "
        f"{dollars(credit['remaining_target'])} = {credit['deals_needed']} deals; "
        f"{credit['open_deals']} open deals are expected to win "
        f"{credit['expected_deals_from_pipeline']:.1f} (about "
        f"{dollars(credit['expected_revenue_from_pipeline'])}); gap {credit['gap_deals']} deals, "
        f"{data['leads_needed']} new leads needed.",
        f"- Pipeline coverage {credit['coverage']:.2f}x of the remaining target; at a "
        f"{percent(credit['win_rate'], 1)} win rate you need {credit['coverage_needed']:.2f}x.",
        "",
    ]
    # By hand (tests/commands/test_history_cli.py): 9 deals, 4.5 expected, gap 5, 8 leads, $32,500,
    # coverage 40,000 / 100,000 = 0.40x, win rate 3 / 6 = 50%, needed 1 / 0.5 = 2.00x.
    assert lines[2] == (
        "To book $100k at $12,000 per deal you need 9 won deals; the open pipeline is expected "
        "to win 4.5, so 5 more must come from 8 new leads at these rates."
    )
    assert lines[6] == (
        "- Pipeline coverage 0.40x of the remaining target; at a 50% win rate you need 2.00x."
    )
