"""The report's JSON contract (every key, every type), its CSV and its Markdown.

The input is tests/data/cli_report/small.csv with small.yaml; tests/commands/test_cli_report.py
works out its figures by hand. Here the shape is pinned: a key added, removed or retyped must
be a deliberate change to this file (and to the README's "JSON output").
"""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner, Result

from funnelcli.cli import app

from ..conftest import DATA

SMALL = str(DATA / "cli_report" / "small.csv")
SMALL_FUNNEL = str(DATA / "cli_report" / "small.yaml")
SMALL_KEPT = str(DATA / "cli_report" / "small_kept.csv")
runner = CliRunner()

NoneType = type(None)


def run_small(*args: str) -> Result:
    return runner.invoke(
        app,
        ["report", SMALL, "--funnel", SMALL_FUNNEL, "--as-of", "2025-06-30", *args],
        prog_name="funnel",
    )


def small_json() -> dict[str, Any]:
    result = run_small("--format", "json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


# Key -> the type of its value for small.csv. Figures the export cannot give are None:
# days in stage (no stage-entered dates), the won stage's rates, by_currency (one currency).
TOP_LEVEL = {
    "schema_version": int,
    "command": str,
    "funnel": str,
    "funnel_source": str,
    "funnel_evidence": NoneType,  # a funnel file: null; built from the export: what ordered it
    "export": str,
    "as_of": str,
    "currency": str,
    "rows": dict,
    "filters": dict,
    "pipelines": dict,
    "stages": list,
    "won": dict,
    "lost": dict,
    "open": dict,
    "win_rate": float,
    "average_won_value": float,
    "median_won_value": float,
    "median_cycle_days": float,
    "p90_cycle_days": float,
    "sales_velocity_per_day": float,
    "bottleneck_by": str,
    "bottlenecks": list,
    "below_plan_within_noise": list,
    "negative_durations": int,
    "stale_count": int,
    "stale": list,
    "by_currency": NoneType,
    "segments": NoneType,
    "cohorts": NoneType,
    "alerts": list,
    "history": NoneType,
    "compare": NoneType,
    "notes": list,
}
CYCLE_KEYS = ("median_cycle_days", "p90_cycle_days", "sales_velocity_per_day")
ROWS = {
    "read": int,
    "used": int,
    "skipped": int,
    "skipped_by_reason": dict,
    "skipped_share": float,
    "filtered": int,
    "filtered_by_reason": dict,
    "blank": int,
    "footer": int,
}
STAGE = {
    "name": str,
    "reached": int,
    "current": int,
    "lost": int,
    "conversion_to_next": float,
    # small.csv's lost deals carry no stage: no stage's conversion can be measured.
    "resolved_conversion": NoneType,
    "cumulative_conversion": float,
    "planned_conversion": float,
    "open_value": float,
    "median_days_in_stage": NoneType,
    "p75_days_in_stage": NoneType,
    "p90_days_in_stage": NoneType,
    "still_in_stage": int,
    "median_days_before_loss": NoneType,
    "skipped": int,
    "moved_back": int,
    "win_probability": float,
}
WON_STAGE = {
    **STAGE,
    "conversion_to_next": NoneType,
    "resolved_conversion": NoneType,
    "planned_conversion": NoneType,
}
WON = {"count": int, "value": float}
LOST = {"count": int, "value": float, "unknown_stage": int}
OPEN = {
    "count": int,
    "value": float,
    "weighted_value": float,
    "weighted_from": str,
    "without_amount": int,
}
# A stage below plan (in "bottlenecks" beyond sampling noise, else in
# "below_plan_within_noise"); "revenue_leak" is a number only without planned rates.
BOTTLENECK = {
    "stage": str,
    "next_stage": str,
    "actual": float,
    "planned": float,
    "interval": list,
    "revenue_impact": float,
    "lost": int,
    "win_from_next": float,
    "expected_wins_lost": float,
    "revenue_leak": NoneType,
}
STALE = {"id": str, "owner": str, "stage": str, "days": int, "value": float, "currency": str}


def types_of(data: dict[str, Any]) -> dict[str, type]:
    return {key: type(value) for key, value in data.items()}


def test_top_level_keys() -> None:
    assert list(small_json()) == list(TOP_LEVEL)


def test_top_level_types() -> None:
    # The cycle figures are left to the xfail test below (the 'closed' column bug).
    data = small_json()
    expected = {key: kind for key, kind in TOP_LEVEL.items() if key not in CYCLE_KEYS}
    assert {key: type(value) for key, value in data.items() if key not in CYCLE_KEYS} == expected
    assert data["schema_version"] == 1
    assert data["command"] == "report"


def test_cycle_figures_are_numbers() -> None:
    data = small_json()
    assert {key: type(data[key]) for key in CYCLE_KEYS} == dict.fromkeys(CYCLE_KEYS, float)


def test_rows_keys_and_types() -> None:
    rows = small_json()["rows"]
    assert types_of(rows) == ROWS
    assert rows["skipped_by_reason"] == {}


def test_each_stage_keys_and_types() -> None:
    stages = small_json()["stages"]
    assert len(stages) == 4
    for stage in stages[:-1]:
        assert types_of(stage) == STAGE, stage["name"]
    assert types_of(stages[-1]) == WON_STAGE


def test_won_lost_open_keys_and_types() -> None:
    data = small_json()
    assert types_of(data["won"]) == WON
    assert types_of(data["lost"]) == LOST
    assert types_of(data["open"]) == OPEN


def test_each_bottleneck_keys_and_types() -> None:
    # small_kept.csv: small.csv with a status column that keeps Lead for the lost deals,
    # so Lead's conversion is measured: 8/11 against 80% planned, within noise (see
    # test_markdown_bottleneck_sentence); a bottleneck beyond noise has the same keys
    # (tests/test_bottleneck.py).
    result = runner.invoke(
        app,
        ["report", SMALL_KEPT, "--funnel", SMALL_FUNNEL, "--as-of", "2025-06-30", "-f", "json"],
        prog_name="funnel",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["bottlenecks"] == []
    (within,) = data["below_plan_within_noise"]
    assert types_of(within) == BOTTLENECK
    assert [type(end) for end in within["interval"]] == [float, float]


def test_unattributed_losses_in_json_by_hand() -> None:
    # small.csv: 4 won, 3 lost with no stage; win rate 4/7 weighs every open stage:
    # open value (3000 + 2000) + (6000 + 7000) + (10000 + 18000) = 46,000 x 4/7 = 26,285.71
    data = small_json()
    assert data["open"]["weighted_from"] == "the overall win rate"
    assert data["open"]["weighted_value"] == round(46000 * 4 / 7, 2)
    assert [stage["win_probability"] for stage in data["stages"]] == [4 / 7] * 3 + [1.0]
    assert [stage["resolved_conversion"] for stage in data["stages"]] == [None] * 4
    assert len(data["notes"]) == 1 and "--history" in data["notes"][0]


def test_each_stale_entry_keys_and_types() -> None:
    stale = small_json()["stale"]
    assert len(stale) == 3
    for entry in stale:
        assert types_of(entry) == STALE, entry["id"]


def test_json_is_one_document_ending_in_a_newline() -> None:
    result = run_small("--format", "json")
    data = json.loads(result.stdout)  # one document: json.loads refuses anything after it
    assert list(data)[:2] == ["schema_version", "command"]
    assert (data["schema_version"], data["command"]) == (1, "report")
    assert result.stdout.endswith("}\n")


# --- CSV ---------------------------------------------------------------------------------


def test_csv_header_and_one_row_per_stage() -> None:
    # reached 13 / 8 / 6 / 4; to next 8/13, 6/8, 4/6; resolved: none, the lost deals have
    # no stage (counting them at Lead would show Demo and Proposal at 6/6 and 4/4);
    # cumulative 13/13, 8/13, 6/13, 4/13; open value 3000+2000, 6000+7000, 10000+18000, 0.
    # Days in stage: no stage-entered dates, so empty cells, nobody still in a dated stage,
    # no days before loss, nothing skipped or moved back (0).
    result = run_small("--format", "csv")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "stage,reached,current,lost,conversion_to_next,resolved_conversion,"
        "cumulative_conversion,planned_conversion,open_value,median_days_in_stage,"
        "p75_days_in_stage,p90_days_in_stage,still_in_stage,median_days_before_loss,"
        "skipped,moved_back",
        f"Lead,13,2,3,{8 / 13},,1.0,0.8,5000.0,,,,0,,0,0",
        f"Demo,8,2,0,{6 / 8},,{8 / 13},0.6,13000.0,,,,0,,0,0",
        f"Proposal,6,2,0,{4 / 6},,{6 / 13},0.5,28000.0,,,,0,,0,0",
        f"Won,4,0,0,,,{4 / 13},,0.0,,,,0,,0,0",
    ]


# --- Markdown ----------------------------------------------------------------------------


def test_markdown_stage_table() -> None:
    # 8/13 = 61.5%, 6/8 = 75%, 4/6 = 66.7%, 6/13 = 46.2%, 4/13 = 30.8%; resolved –: the
    # lost deals have no stage.
    result = run_small("--format", "markdown")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    start = lines.index(
        "| Stage | Reached | Open | Lost | To next | Resolved | Plan | Cum. | Open value | Days |"
    )
    assert lines[start - 2 : start] == ["### Stages", ""]
    assert lines[start + 1 : start + 7] == [
        "|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        "| Lead | 13 | 2 | 3 | 61.5% | – | 80% | 100% | $5,000 | – |",
        "| Demo | 8 | 2 | 0 | 75% | – | 60% | 61.5% | $13,000 | – |",
        "| Proposal | 6 | 2 | 0 | 66.7% | – | 50% | 46.2% | $28,000 | – |",
        "| Won | 4 | 0 | 0 | – | – | – | 30.8% | $0 | – |",
        "",
    ]


def test_markdown_bottleneck_sentence() -> None:
    # small_kept.csv (small.csv with a status column that keeps Lead for the lost deals):
    # Lead resolves 8/11 = 72.7% against 80%, the only stage below plan; its 90% Wilson
    # interval (z = 1.644854): z^2/n = 0.24595861, centre = 0.85025203 / 1.24595861 =
    # 0.6824079, half = 1.320151 x sqrt(0.01803156 + 0.00558997) = 1.320151 x 0.153693 =
    # 0.202898: [47.95%, 88.53%], which holds 80%: within sampling noise, no bottleneck.
    result = runner.invoke(
        app,
        ["report", SMALL_KEPT, "--funnel", SMALL_FUNNEL, "--as-of", "2025-06-30", "-f", "markdown"],
        prog_name="funnel",
    )
    assert (
        "**Bottleneck:** Every stage is within sampling noise of its plan; Lead is the "
        "furthest below: 72.7% against 80% planned (90% interval 48%–88.5%)."
    ) in result.stdout.splitlines()


def test_markdown_stale_table_and_rows_line() -> None:
    result = run_small("--format", "markdown")
    lines = result.stdout.splitlines()
    start = lines.index("### Stale deals: 3")  # all three shown, the oldest first
    assert lines[start + 2 : start + 7] == [
        "| Deal | Owner | Stage | Days | Value |",
        "|:---|:---|:---|---:|---:|",
        "| D13 | Ana | Proposal | 80 | $18,000 |",
        "| D10 | Ana | Demo | 60 | $6,000 |",
        "| D09 | Cleo | Lead | 46 | $2,000 |",
    ]
    assert lines[-1] == "Rows: 13 read = 13 used + 0 skipped."
