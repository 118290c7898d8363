"""`funnel report`, `inspect` and `init --from` through typer's CliRunner.

Every expected figure is worked out by hand in a comment, or counted with the csv module,
never copied from the program's output.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner, Result

from funnelcli.cli import app

from ..conftest import DATA, ROOT, THEIRS, line_matching

HERE = DATA / "cli_report"
SMALL = str(HERE / "small.csv")
SMALL_FUNNEL = str(HERE / "small.yaml")
SMALL_KEPT = str(HERE / "small_kept.csv")
SKIPS = str(HERE / "skips.csv")
HUBSPOT = str(HERE / "hubspot_like.csv")
HUBSPOT_FUNNEL = str(HERE / "hubspot_like.yaml")
AMBIGUOUS = str(HERE / "ambiguous_dates.csv")
runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, list(args), prog_name="funnel")


def report_json(export: str, funnel: str, *args: str) -> dict[str, Any]:
    result = run(
        "report", export, "--funnel", funnel, "--as-of", "2025-06-30", "--format", "json", *args
    )
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def small() -> dict[str, Any]:
    return report_json(SMALL, SMALL_FUNNEL)


# --- small.csv by hand -------------------------------------------------------------------
#
# Stages Lead > Demo > Proposal > Won; planned 80%, 60%, 50%; days 10, 15, 20.
# Thirteen deals, as of 2025-06-30:
#   won   D01 12,000 (2025-01-06 -> 02-15: 25 + 15 = 40 days)
#         D02  8,000 (02-03 -> 03-05: 25 + 5 = 30)    D03 20,000 (02-10 -> 05-01: 18 + 31 + 30 + 1 = 80)
#         D04  5,000 (03-03 -> 04-02: 28 + 2 = 30)
#   lost  D05 9,000, D06 15,000, D07 4,000: labelled Lost with no stage dates, so the stage is
#         unknown and they count as lost at the first stage (Lead).
#   open  Lead D08 3,000 (created 06-20: 10 days), D09 2,000 (05-15: 16 + 30 = 46)
#         Demo D10 6,000 (05-01: 30 + 30 = 60), D11 7,000 (06-10: 20)
#         Proposal D12 10,000 (05-21: 10 + 30 = 40), D13 18,000 (04-11: 19 + 31 + 30 = 80)
#
# Furthest stage reached: won 4 at Won; Proposal 2 (open); Demo 2 (open); Lead 2 open + 3 lost.
# reached[i] = deals at stage i or beyond: Won 4, Proposal 4 + 2 = 6, Demo 6 + 2 = 8,
# Lead 8 + 2 + 3 = 13.


def test_small_stage_counts() -> None:
    stages = small()["stages"]
    assert [stage["name"] for stage in stages] == ["Lead", "Demo", "Proposal", "Won"]
    assert [stage["reached"] for stage in stages] == [13, 8, 6, 4]
    assert [stage["current"] for stage in stages] == [2, 2, 2, 0]
    assert [stage["lost"] for stage in stages] == [3, 0, 0, 0]


def test_small_conversions() -> None:
    stages = small()["stages"]
    # to next = reached[i+1] / reached[i]: 8/13, 6/8, 4/6; none from Won.
    assert [stage["conversion_to_next"] for stage in stages] == [8 / 13, 6 / 8, 4 / 6, None]
    # resolved: none, the lost deals carry no stage (counted at Lead, they would leave
    # Demo and Proposal resolving 6/6 and 4/4).
    assert [stage["resolved_conversion"] for stage in stages] == [None] * 4
    # cumulative = reached[i] / reached[0]: 13/13, 8/13, 6/13, 4/13.
    assert [stage["cumulative_conversion"] for stage in stages] == [1.0, 8 / 13, 6 / 13, 4 / 13]
    assert [stage["planned_conversion"] for stage in stages] == [0.8, 0.6, 0.5, None]
    # No stage-entered dates: no days in stage.
    assert [stage["median_days_in_stage"] for stage in stages] == [None] * 4
    assert [stage["p90_days_in_stage"] for stage in stages] == [None] * 4


def test_small_open_value_per_stage() -> None:
    # Lead 3,000 + 2,000; Demo 6,000 + 7,000; Proposal 10,000 + 18,000; Won none open.
    stages = small()["stages"]
    assert [stage["open_value"] for stage in stages] == [5000, 13000, 28000, 0]


def test_small_totals() -> None:
    data = small()
    # won 12,000 + 8,000 + 20,000 + 5,000 = 45,000; lost 9,000 + 15,000 + 4,000 = 28,000.
    assert data["won"] == {"count": 4, "value": 45000}
    assert data["lost"] == {"count": 3, "value": 28000, "unknown_stage": 3}
    # P(win from stage): not measured (the lost deals carry no stage), so the win rate
    # 4 / (4 + 3) = 4/7 at every open stage: weighted = 46,000 x 4/7 = 26,285.714...
    assert data["open"] == {
        "count": 6,
        "value": 46000,
        "weighted_value": round(46000 * 4 / 7, 2),
        "weighted_from": "the overall win rate",
        "without_amount": 0,
    }
    assert data["open"]["weighted_value"] == 26285.71
    # win rate = won / (won + lost) = 4 / 7.
    assert data["win_rate"] == 4 / 7
    # average 45,000 / 4 = 11,250; median of 5,000, 8,000, 12,000, 20,000 = (8,000 + 12,000) / 2.
    assert data["average_won_value"] == 11250
    assert data["median_won_value"] == 10000
    assert data["currency"] == "USD"
    assert data["rows"] == {
        "read": 13,
        "used": 13,
        "skipped": 0,
        "skipped_by_reason": {},
        "skipped_share": 0.0,
        "filtered": 0,
        "filtered_by_reason": {},
        "blank": 0,
        "footer": 0,
    }


def test_small_bottleneck() -> None:
    # small.csv's lost deals carry no stage: no conversion is measured, nothing ranked.
    assert small()["bottlenecks"] == []
    # small_kept.csv keeps their stage, Lead, in a status column.
    data = report_json(SMALL_KEPT, SMALL_FUNNEL)
    # Only Lead resolves below plan (8/11 < 80%; Demo and Proposal resolve 100%).
    # impact = (reached - current) x (planned - actual) x P(win from Demo) x average won
    #        = (13 - 2) x (4/5 - 8/11) x 1 x 11,250 = 11 x 4/55 x 11,250 = 9,000.
    # 80% lies inside the 90% Wilson interval of 8/11, [0.4795, 0.8853] (worked out in
    # tests/render/test_report_json_csv_md.py): within sampling noise, so it is listed, not named.
    # P(win from Demo) = 6/6 x 4/4 = 1; expected wins lost = 3 x 1.
    assert data["bottleneck_by"] == "revenue"
    assert data["bottlenecks"] == []
    (lead,) = data["below_plan_within_noise"]
    assert lead["interval"] == pytest.approx([0.47951, 0.8853059], abs=1e-6)
    assert {key: value for key, value in lead.items() if key != "interval"} == {
        "stage": "Lead",
        "next_stage": "Demo",
        "actual": 8 / 11,
        "planned": 0.8,
        "revenue_impact": 9000,
        "lost": 3,
        "win_from_next": 1.0,
        "expected_wins_lost": 3.0,
        "revenue_leak": None,
    }


def test_small_stale_deals_oldest_first() -> None:
    # Stale after 2 x days: Lead 20, Demo 30, Proposal 40 (days since created, no stage dates).
    # D13 80 > 40, D10 60 > 30, D09 46 > 20 are stale; D12 at exactly 40, D11 20, D08 10 are not.
    assert small()["stale"] == [
        {
            "id": "D13",
            "owner": "Ana",
            "stage": "Proposal",
            "days": 80,
            "value": 18000,
            "currency": "USD",
        },
        {
            "id": "D10",
            "owner": "Ana",
            "stage": "Demo",
            "days": 60,
            "value": 6000,
            "currency": "USD",
        },
        {
            "id": "D09",
            "owner": "Cleo",
            "stage": "Lead",
            "days": 46,
            "value": 2000,
            "currency": "USD",
        },
    ]


def test_small_warns_of_lost_deals_at_an_unknown_stage() -> None:
    result = run("report", SMALL, "--funnel", SMALL_FUNNEL, "--as-of", "2025-06-30", "-f", "json")
    assert result.stderr == (
        f"warning: {SMALL}: 3 lost deals do not say at which stage they were lost; "
        "they count as lost at the first stage\n"
    )


def _cycle_figures(data: dict[str, Any]) -> tuple[object, object, object]:
    return data["median_cycle_days"], data["p90_cycle_days"], data["sales_velocity_per_day"]


# Won cycle days sorted: 30, 30, 40, 80. Median (30 + 40) / 2 = 35. p90: rank (4 - 1) x 0.9
# = 2.7, between 40 and 80: 40 + 0.7 x 40 = 68. Velocity = open x win rate x average won /
# median cycle = 6 x 4/7 x 11,250 / 35 = 270,000 / 245 = 1,102.0408... per day.
SMALL_CYCLE = (35, 68, round(6 * 4 / 7 * 11250 / 35, 2))


def test_small_cycle_days_when_closed_is_named_in_the_yaml(tmp_path: Path) -> None:
    funnel = tmp_path / "small_mapped.yaml"
    funnel.write_text(Path(SMALL_FUNNEL).read_text() + "columns: {closed: closed}\n")
    assert _cycle_figures(report_json(SMALL, str(funnel))) == SMALL_CYCLE
    assert SMALL_CYCLE[2] == 1102.04


def test_small_cycle_days_from_a_closed_column_of_dates() -> None:
    assert _cycle_figures(small()) == SMALL_CYCLE


# --- the Maven example -------------------------------------------------------------------


def test_maven_example() -> None:
    export = ROOT / "examples" / "maven_pipeline.csv"
    with export.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    stages = Counter(row["deal_stage"] for row in rows)
    won, lost = stages["Won"], stages["Lost"]
    assert (len(rows), won, won + lost) == (8800, 4238, 6711)
    result = run(
        "report",
        str(export),
        "--funnel",
        str(ROOT / "sample_funnels" / "maven_crm.yaml"),
        "--as-of",
        "2017-12-31",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["rows"]["read"] == len(rows)
    assert data["rows"]["used"] == len(rows)
    assert data["rows"]["skipped"] == 0
    assert data["won"]["count"] == won
    assert data["lost"]["count"] == lost
    assert data["win_rate"] == won / (won + lost)


# --- row accounting ----------------------------------------------------------------------
#
# skips.csv, 8 data rows on lines 2-9: S01 Lead, S02 Won and S07 Proposal are used;
# line 4 and 9 'Discovery' (no such stage), line 5 no stage, line 6 amount '12,34,5',
# line 7 created 2025-02-30 are skipped.

SKIP_LINES = [
    f"{SKIPS}: 2 rows skipped, unknown stage label: row 4 'Discovery', row 9 'Discovery'; "
    f"labels 'Discovery' (2): add them to a stage's aliases: in {SMALL_FUNNEL}",
    f"{SKIPS}: 1 row skipped, missing stage: row 5",
    f"{SKIPS}: 1 row skipped, unreadable amount: row 6 '12,34,5' (malformed digit groups)",
    f"{SKIPS}: 1 row skipped, unreadable date: row 7 '2025-02-30' in 'created' "
    "(impossible date: February 2025 has 28 days); pass --date-format if the dates are in one "
    "format",
]


def test_skipped_rows_are_accounted_for() -> None:
    result = run("report", SKIPS, "--funnel", SMALL_FUNNEL, "--as-of", "2025-06-30", "-f", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)["rows"]
    assert rows == {
        "read": 8,
        "used": 3,
        "skipped": 5,
        "skipped_by_reason": {
            "missing_stage": 1,
            "unknown_stage_label": 2,
            "unreadable_amount": 1,
            "unreadable_date": 1,
        },
        "skipped_share": 5 / 8,
        "filtered": 0,
        "filtered_by_reason": {},
        "blank": 0,
        "footer": 0,
    }
    assert rows["read"] == rows["used"] + rows["skipped"]
    assert rows["skipped"] == sum(rows["skipped_by_reason"].values())


def test_skipped_rows_use_only_the_good_rows() -> None:
    # S01 open at Lead, S07 open at Proposal, S02 won: reached Won 1, Proposal 2, Demo 2, Lead 3.
    stages = report_json(SKIPS, SMALL_FUNNEL)["stages"]
    assert [stage["reached"] for stage in stages] == [3, 2, 2, 1]
    assert [stage["open_value"] for stage in stages] == [1000, 0, 7000, 0]


def test_skipped_rows_warn_one_line_per_reason() -> None:
    result = run("report", SKIPS, "--funnel", SMALL_FUNNEL, "--as-of", "2025-06-30", "-f", "json")
    assert result.stderr.splitlines() == [f"warning: {line}" for line in SKIP_LINES]


def test_skipped_rows_quiet() -> None:
    result = run("report", SKIPS, "--funnel", SMALL_FUNNEL, "-f", "json", "--quiet")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_strict_refuses_skipped_rows() -> None:
    result = run("report", SKIPS, "--funnel", SMALL_FUNNEL, "-f", "json", "--strict")
    assert result.exit_code == 2
    assert result.stdout == ""
    # One line: every reason with its count and first row (the rows as in SKIP_LINES).
    assert result.stderr == (
        f"error: {SKIPS}: --strict: 5 of 8 rows skipped: unknown stage label 2 (first: row 4); "
        "missing stage 1 (first: row 5); unreadable amount 1 (first: row 6); "
        "unreadable date 1 (first: row 7); fix them or run without --strict\n"
    )


def test_strict_passes_a_clean_export() -> None:
    result = run("report", SMALL, "--funnel", SMALL_FUNNEL, "-f", "json", "--strict")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["rows"]["skipped"] == 0


def test_unknown_labels_differing_in_case_are_one_label(tmp_path: Path) -> None:
    export = tmp_path / "deals.csv"
    export.write_text(
        "id,name,stage,amount,created,closed,owner\n"
        "X1,Alpha,Discovery,100,2025-05-02,,Ana\n"
        "X2,Beta,discovery,200,2025-05-03,,Ben\n"
    )
    result = run("report", str(export), "--funnel", SMALL_FUNNEL, "-f", "json")
    assert f"labels 'Discovery' (2): add them to a stage's aliases: in {SMALL_FUNNEL}" in (
        result.stderr
    )


def test_one_lost_deal_at_an_unknown_stage_is_singular(tmp_path: Path) -> None:
    export = tmp_path / "deals.csv"
    export.write_text(
        "id,name,stage,amount,created,closed,owner\nX1,Alpha,Lost,100,2025-05-02,,Ana\n"
    )
    result = run("report", str(export), "--funnel", SMALL_FUNNEL, "-f", "json")
    assert result.stderr == (
        f"warning: {export}: 1 lost deal does not say at which stage it was lost; "
        "it counts as lost at the first stage\n"
    )


# --- files that are not exports ----------------------------------------------------------

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\nIDATx\x9cc\x00\x01\x00\x00\x05\x00\x01\r\n-\xb4\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
GARBAGE = bytes((index * 97 + 13) % 256 for index in range(512))  # starts 0D 6E CF 30


def assert_one_error_line(result: Result, message: str) -> None:
    assert result.exit_code == 2
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "image.csv",
            PNG,
            "not a CSV or XLSX file (starts with bytes 89 50 4E 47, a PNG image); "
            "export the deals as CSV or XLSX",
        ),
        ("empty.csv", b"", "the file is empty; export the deals with a header row"),
        (
            "garbage.csv",
            GARBAGE,
            "not a CSV or XLSX file (starts with bytes 0D 6E CF 30, binary data); "
            "export the deals as CSV or XLSX",
        ),
    ],
)
def test_not_an_export(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    export = tmp_path / name
    export.write_bytes(content)
    result = run("report", str(export), "--funnel", SMALL_FUNNEL, "-f", "json")
    assert_one_error_line(result, f"{export}: {message}")


def test_missing_export() -> None:
    missing = str(HERE / "no_such_export.csv")
    result = run("report", missing, "--funnel", SMALL_FUNNEL)
    assert (result.exit_code, result.stdout) == (2, "")
    expected = line_matching(
        f"error: {missing}: cannot read the file (", THEIRS, "); check the path\n"
    )
    assert expected.fullmatch(result.stderr), result.stderr  # the OS's reason: any


def test_no_stage_column() -> None:
    export = str(HERE / "no_stage_column.csv")
    result = run("report", export, "--funnel", SMALL_FUNNEL, "-f", "json")
    assert_one_error_line(
        result,
        f"{export}: no stage column found (its columns are: Deal, Phase, Value, Owner); "
        f"name it in {SMALL_FUNNEL} under columns:, like columns: {{stage: Deal Stage}}",
    )


def test_no_stage_column_with_the_default_funnel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no funnel.yaml here: the built-in funnel
    export = str(HERE / "no_stage_column.csv")
    result = run("report", export, "-f", "json")
    assert_one_error_line(
        result,
        f"{export}: no stage column found (its columns are: Deal, Phase, Value, Owner); "
        "name it in funnel.yaml under columns:, like columns: {stage: Deal Stage}",
    )


def test_xlsx_with_an_unknown_sheet(tmp_path: Path) -> None:
    export = tmp_path / "deals.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Deals"
    sheet.append(["id", "name", "stage", "amount", "created", "closed", "owner"])
    sheet.append(["X1", "Alpha", "Lead", 100, "2025-05-02", None, "Ana"])
    workbook.create_sheet("Notes")
    workbook.save(export)
    result = run("report", str(export), "--funnel", SMALL_FUNNEL, "-f", "json", "--sheet", "Nope")
    assert_one_error_line(result, f"{export}: no sheet named 'Nope'; the sheets are: Deals, Notes")
    # The right sheet reads: one open Lead deal of 100.
    good = run("report", str(export), "--funnel", SMALL_FUNNEL, "-f", "json", "--sheet", "deals")
    assert good.exit_code == 0, good.stderr
    assert json.loads(good.stdout)["open"]["value"] == 100


def test_header_only_is_a_report_of_no_deals() -> None:
    export = str(HERE / "header_only.csv")
    result = run("report", export, "--funnel", SMALL_FUNNEL, "--as-of", "2025-06-30", "-f", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert data["rows"]["read"] == 0
    assert data["rows"]["used"] == 0
    assert [stage["reached"] for stage in data["stages"]] == [0, 0, 0, 0]
    # Nothing to divide by: every rate and average is null, not 0 and not an error.
    assert [stage["conversion_to_next"] for stage in data["stages"]] == [None] * 4
    assert [stage["resolved_conversion"] for stage in data["stages"]] == [None] * 4
    assert [stage["cumulative_conversion"] for stage in data["stages"]] == [None] * 4
    assert data["won"]["count"] == data["lost"]["count"] == data["open"]["count"] == 0
    assert data["win_rate"] is None
    assert data["average_won_value"] is None
    assert data["bottlenecks"] == []
    assert data["stale"] == []


def test_header_only_table() -> None:
    export = str(HERE / "header_only.csv")
    result = run("report", export, "--funnel", SMALL_FUNNEL, "--as-of", "2025-06-30")
    assert result.exit_code == 0
    assert "Rows: 0 read = 0 used + 0 skipped." in result.stdout


def test_header_only_does_not_claim_stages_meet_plan() -> None:
    export = str(HERE / "header_only.csv")
    result = run("report", export, "--funnel", SMALL_FUNNEL, "--as-of", "2025-06-30")
    assert result.exit_code == 0
    assert "converts at or above its planned rate" not in result.stdout


# --- dates -------------------------------------------------------------------------------


def test_ambiguous_slash_dates_need_a_date_format() -> None:
    # Every created and close date has day and month <= 12: nothing decides the order.
    result = run("report", AMBIGUOUS, "--funnel", SMALL_FUNNEL, "-f", "json")
    assert_one_error_line(
        result,
        f"{AMBIGUOUS}: column 'created': dates like 02/01/2025 could be day or month first "
        "and no value decides; pass --date-format %d/%m/%Y or %m/%d/%Y",
    )


def test_date_format_reads_day_first() -> None:
    # Day first: A1 2 Jan -> 12 Mar 2025 = 29 + 28 + 12 = 69 days; A2 5 Feb -> 7 Mar = 23 + 7 = 30.
    # (Month first would give 1 Feb -> 3 Dec = 305 and 2 May -> 3 Jul = 62.)
    # Median (30 + 69) / 2 = 49.5; p90 at rank 0.9: 30 + 0.9 x 39 = 65.1.
    data = report_json(AMBIGUOUS, SMALL_FUNNEL, "--date-format", "%d/%m/%Y")
    assert data["rows"]["used"] == 4
    assert data["median_cycle_days"] == 49.5
    assert data["p90_cycle_days"] == 65.1
    # A4 created 1 June (not 6 January): 29 days by 2025-06-30, within Demo's 30: not stale.
    assert data["stale"] == []


# --- output files ------------------------------------------------------------------------


def test_output_writes_the_file_and_nothing_on_stdout(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = run(
        "report", SMALL, "--funnel", SMALL_FUNNEL, "--as-of", "2025-06-30", "-o", str(target)
    )
    assert result.exit_code == 0
    assert result.stdout == ""
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["rows"]["read"] == 13
    assert data["won"] == {"count": 4, "value": 45000}


@pytest.mark.parametrize("protected", ["export", "funnel"])
def test_output_refuses_an_input_file(tmp_path: Path, protected: str) -> None:
    export = tmp_path / "deals.csv"
    export.write_bytes(Path(SMALL).read_bytes())
    funnel = tmp_path / "funnel.yaml"
    funnel.write_bytes(Path(SMALL_FUNNEL).read_bytes())
    target = export if protected == "export" else funnel
    before = target.read_bytes()
    result = run(
        "report", str(export), "--funnel", str(funnel), "-f", "json", "-q", "-o", str(target)
    )
    # --quiet: the lost-deals note comes first otherwise (the export is read before the check).
    assert_one_error_line(
        result, f"--output {target}: is an input file; write the output somewhere else"
    )
    assert target.read_bytes() == before


# --- inspect -----------------------------------------------------------------------------


def hubspot_label_counts() -> Counter[str]:
    with open(HUBSPOT, newline="", encoding="utf-8") as file:
        return Counter(row["Deal Stage"] for row in csv.DictReader(file))


def test_inspect_hubspot_like_export() -> None:
    counts = hubspot_label_counts()
    assert counts == {
        "Closed Lost": 4,
        "Closed Won": 3,
        "Appointment Scheduled": 2,
        "Qualified To Buy": 1,
        "Decision Maker Bought-In": 1,
        "Contract Sent": 1,
    }
    result = run("inspect", HUBSPOT, "--funnel", HUBSPOT_FUNNEL)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{HUBSPOT}: CSV, looks like a HubSpot export"
    assert lines[1] == "  encoding utf-8, delimiter comma"
    assert lines[2] == "  header on row 1; 12 data rows"
    columns = [
        "  deal id                    'Record ID' (recognised)",
        "  deal name                  'Deal Name' (recognised)",
        "  stage                      'Deal Stage' (recognised)",
        "  status (won/lost/open)     not found",
        "  amount                     'Amount' (recognised)",
        "  created date               'Create Date' (recognised)",
        "  close date                 'Close Date' (recognised)",
        "  owner                      'Deal owner' (recognised)",
        "  pipeline                   'Pipeline' (recognised)",
        "  entered date, Meeting      'Date entered \"Appointment Scheduled (Sales Pipeline)\"'",
        "  entered date, Contract     'Date entered \"Contract Sent (Sales Pipeline)\"'",
    ]
    for line in columns:
        assert line in lines
    targets = {
        "Closed Lost": "lost",
        "Closed Won": "Won",
        "Appointment Scheduled": "Meeting",
        "Qualified To Buy": "Qualified",
        "Decision Maker Bought-In": "UNMAPPED",
        "Contract Sent": "Contract",
    }
    start = lines.index(f"Stage labels (funnel: {HUBSPOT_FUNNEL}):")
    label_lines = lines[start + 1 : start + 7]
    # Most frequent first; each label, its count, where it goes.
    assert label_lines == [
        f"  {label:<32} {count:>8}  -> {targets[label]}" for label, count in counts.most_common()
    ]
    # The suggestion is whole YAML: Meeting's own alias kept, the unmapped label added.
    assert lines[-5:] == [
        "To add to the funnel file:",
        "  stages:",
        "    # each label as an alias of the stage it means, for example:",
        "    - name: Meeting",
        "      aliases: [Appointment Scheduled, Decision Maker Bought-In]",
    ]
    assert "Pipelines: Sales Pipeline 12" in lines


def test_inspect_hint_is_yaml_for_any_label(tmp_path: Path) -> None:
    export = tmp_path / "deals.csv"
    export.write_text(
        "id,name,stage,amount,created,closed,owner\n"
        'X1,Alpha,"Legal: review, hold",100,2025-05-02,,Ana\n'
    )
    result = run("inspect", str(export), "--funnel", SMALL_FUNNEL)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    start = lines.index("  stages:")
    hint = yaml.safe_load("\n".join(line[2:] for line in lines[start : start + 4]))
    assert hint == {"stages": [{"name": "Lead", "aliases": ["Legal: review, hold"]}]}


# --- init --from -------------------------------------------------------------------------
#
# hubspot_like.csv, furthest stage from the Date entered columns (order AS, QTB, DMBI, CS):
#   won 4101, 4102, 4112; lost 4103 at AS, 4104 at QTB, 4105 at DMBI, 4106 at CS;
#   open 4107 and 4111 at AS, 4108 at QTB, 4109 at DMBI, 4110 at CS.
# reached: CS 3 + 1 + 1 = 5; DMBI 5 + 2 = 7; QTB 7 + 2 = 9; AS 9 + 3 = 12.
# resolved = reached[i+1] / (reached[i] - open[i]): AS 9/10, QTB 7/8, DMBI 5/6, CS 3/4;
# deals that left each stage: 10, 8, 6, 4.

HUBSPOT_STAGES = [
    "Appointment Scheduled",
    "Qualified To Buy",
    "Decision Maker Bought-In",
    "Contract Sent",
    "Closed Won",
]
HUBSPOT_RESOLVED = [9 / 10, 7 / 8, 5 / 6, 3 / 4]


def entered_column_labels(export: Path | str) -> list[str]:
    with open(export, newline="", encoding="utf-8") as file:
        header = next(csv.reader(file))
    pattern = re.compile(r'^Date entered "(.+) \(Sales Pipeline\)"$')
    return [match[1] for match in map(pattern.match, header) if match]


def rate(text: str) -> float:
    assert text.endswith("%")
    return float(text[:-1]) / 100


def _wilson_90(successes: int, trials: int) -> tuple[float, float]:
    z = 1.6448536269514722
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return centre - half, centre + half


def check_starter(path: Path, stages: list[str], resolved: list[float]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert [stage["name"] for stage in data["stages"]] == stages
    rates = [rate(stage["conversion"]) for stage in data["stages"][:-1]]
    # Written to one decimal of a percent, rounded down: never above the measured rate.
    for written, measured in zip(rates, resolved, strict=True):
        assert measured - 0.001 < written <= measured + 1e-12
    assert "conversion" not in data["stages"][-1]


def test_init_from_hubspot_like_export(tmp_path: Path) -> None:
    out = tmp_path / "out.yaml"
    result = run("init", str(out), "--from", HUBSPOT)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"Wrote {out} from {HUBSPOT}. Check the stage order, then run "
        f"'funnel report {HUBSPOT} --funnel {out}'.\n"
    )
    # The stages in the order of the Date entered columns, then the won label.
    assert entered_column_labels(HUBSPOT) == HUBSPOT_STAGES[:-1]
    check_starter(out, HUBSPOT_STAGES, HUBSPOT_RESOLVED)
    text = out.read_text(encoding="utf-8")
    assert "# Stages and order from the export's Date entered columns.\n" in text
    # Each rate's comment: the deals it rests on and its 90% Wilson interval, computed
    # here from the formula (z = 1.6448536, the normal quantile at 95%).
    # 5/6 = 83.33...% is not a whole 0.1%: written 83.3%, rounded down, and the comment
    # keeps the measurement.
    exact = {(5, 6): " (83.33%, written rounded down)"}
    for moved_on, left in ((9, 10), (7, 8), (5, 6), (3, 4)):
        low, high = _wilson_90(moved_on, left)
        assert (
            f"  # {moved_on} of {left} resolved deals moved on"
            f"{exact.get((moved_on, left), '')}; 90% interval "
            f"{low:.1%} to {high:.1%}; under 30 deals: uncertain\n"
        ) in text
    data = yaml.safe_load(text)
    assert data["lost"] == ["Closed Lost"]
    assert data["columns"]["stage"] == "Deal Stage"
    # validate: cumulative of the written rates 0.9 x 0.875 x 0.833 x 0.75 = 0.49199 -> 49.2%.
    validated = run("validate", str(out))
    assert validated.exit_code == 0, validated.stderr
    assert validated.stdout == (
        f"{out}: OK: 'hubspot_like', 5 stages (Appointment Scheduled -> Closed Won), "
        "49.2% from first stage to won\n"
    )


def test_init_from_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out.yaml"
    out.write_text("name: mine\n")
    result = run("init", str(out), "--from", HUBSPOT)
    assert_one_error_line(result, f"{out}: already exists; pass --force to overwrite it")
    assert out.read_text() == "name: mine\n"
    forced = run("init", str(out), "--from", HUBSPOT, "--force")
    assert forced.exit_code == 0, forced.stderr
    check_starter(out, HUBSPOT_STAGES, HUBSPOT_RESOLVED)


def test_init_report_with_the_written_funnel(tmp_path: Path) -> None:
    out = tmp_path / "out.yaml"
    assert run("init", str(out), "--from", HUBSPOT).exit_code == 0
    data = report_json(HUBSPOT, str(out))
    assert [stage["reached"] for stage in data["stages"]] == [12, 9, 7, 5, 3]
    assert data["rows"] == {
        "read": 12,
        "used": 12,
        "skipped": 0,
        "skipped_by_reason": {},
        "skipped_share": 0.0,
        "filtered": 0,
        "filtered_by_reason": {},
        "blank": 0,
        "footer": 0,
    }


def test_init_from_orders_a_custom_stage_by_its_date_entered_column(tmp_path: Path) -> None:
    export = tmp_path / "custom.csv"
    export.write_text(
        Path(HUBSPOT).read_text(encoding="utf-8").replace("Decision Maker Bought-In", "Review"),
        encoding="utf-8",
    )
    stages = [name.replace("Decision Maker Bought-In", "Review") for name in HUBSPOT_STAGES]
    assert entered_column_labels(export) == stages[:-1]
    out = tmp_path / "out.yaml"
    assert run("init", str(out), "--from", str(export)).exit_code == 0
    check_starter(out, stages, HUBSPOT_RESOLVED)


# --- the terminal table ------------------------------------------------------------------


def test_table_at_80_columns() -> None:
    result = run("report", SMALL, "--funnel", SMALL_FUNNEL, "--as-of", "2025-06-30")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    rows = [line.split() for line in lines]
    # Stage, reached, open, lost, to next, resolved, plan, cumulative, open value, days:
    # every column fits in 80 with these short names. Resolved: – (the lost deals carry
    # no stage).
    assert ["Lead", "13", "2", "3", "61.5%", "–", "80%", "100%", "$5,000", "–"] in rows
    assert ["Demo", "8", "2", "0", "75%", "–", "60%", "61.5%", "$13,000", "–"] in rows
    assert ["Proposal", "6", "2", "0", "66.7%", "–", "50%", "46.2%", "$28,000", "–"] in rows
    assert ["Won", "4", "0", "0", "–", "–", "–", "30.8%", "$0", "–"] in rows
    assert any(
        line.startswith("Bottleneck: None can be found. 3 lost deals have no stage")
        for line in lines
    )
    assert "Rows: 13 read = 13 used + 0 skipped." in lines
    assert max(len(line) for line in lines) <= 80
    assert "\x1b[" not in result.stdout
