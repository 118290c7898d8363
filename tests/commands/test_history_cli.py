"""The command line with a history: `funnel report --history` (part 1), and `funnel plan
--rates-from` / `--credit-pipeline`, plans from an export's measured history (part 2).

Part 1: acceptance tests of `funnel report --history`, with matched deals exports and
history files. The inputs are in tests/data/history_cli_cases/. Every expected figure is
worked out by hand below from the dates in the files (following the definitions in
report.py's and readers/history.py's docstrings), never copied from the program's output.

Salesforce pair: salesforce_deals.csv (a "details only" report: every value quoted,
day-first dates, the footer rows) and salesforce_history.csv (Opportunity History, one
row per change, ``Last Modified`` day-first with a time), funnel salesforce_funnel.yaml:
Prospecting 80% > Qualification 85% > Proposal 80% > Negotiation 80% > Closed Won,
lost: [Closed Lost]. P, Q, Pr, N, W below; L is Closed Lost. All dates 2025.

    deal  amount  outcome  changes (day: stage), and the days spent in each visit
    S01   20,000  won      01-06 P (10) 01-16 Q (20) 02-05 Pr (14) 02-19 N (12) 03-03 W
    S02   30,000  won      01-13 P (14) 01-27 Q (28) 02-24 Pr (16) 03-12 N (21) 04-02 W
                           (plus a Qualification -> Qualification amount edit on 01-30:
                           no change, counted in history.rows.unchanged)
    S03   10,000  won      02-03 P (5) 02-08 Q (21) 03-01 N (30) 03-31 W   skips Proposal
    S04    5,000  lost     01-08 P (21) 01-29 L                           dies at P
    S05    8,000  lost     01-15 P (8) 01-23 Q (28) 02-20 L               dies at Q
    S06   15,000  lost     01-20 P (12) 02-01 Q (15) 02-16 Pr (28) 03-16 L   dies at Pr
    S07   25,000  lost     02-05 P (7) 02-12 Q (13) 02-25 Pr (14) 03-11 N (14)
                           03-25 Pr (9) 04-03 N (21) 04-24 L   moves back N -> Pr, dies at N
    S08   12,000  lost     02-17 P (16) 03-05 Q (11) 03-16 Pr (35) 04-20 L   dies at Pr
    S09    9,000  open Q   03-03 P (18) 03-21 Q
    S10   18,000  open Pr  03-10 P (9) 03-19 Q (24) 04-12 Pr
    S11    6,000  open P   05-05 P
    S12   40,000  open N   04-01 P (6) 04-07 Q (17) 04-24 Pr (22) 05-16 N

Created Date = the first change; Close Date = the last change for won and lost deals,
2025-06-30 (expected) for open ones: the last date in the data. The history names S05
and S10 by their 15-character ids (the export has 18): they join all the same.

Without the history (as of 2025-06-30): Closed Lost says nothing of the stage, so the
five lost deals count as lost at Prospecting (lost.unknown_stage 5).
    reached_at: P 5 lost + S11 = 6, Q S09 1, Pr S10 1, N S12 1, W 3
    reached  = [12, 6, 5, 4, 3]; current = [1, 1, 1, 1, 0]; lost = [5, 0, 0, 0, 0]
    resolved = reached[i+1] / (reached[i] - current[i]):
               P 6/11, Q 5/5 = 1, Pr 4/4 = 1, N 3/3 = 1
    average won value = 60,000 / 3 = 20,000; win from Q = 1.
    bottleneck: only P is below plan: (12 - 1) x (4/5 - 6/11) x 1 x 20,000
               = 11 x 14/55 x 20,000 = 56,000.
    No stage dates: no days in stage, nothing still in, skipped or moved back.

With the history (as of 2025-06-30): f = the furthest stage a lost deal entered.
    reached_at: P S04 + S11 = 2, Q S05 + S09 = 2, Pr S06 + S08 + S10 = 3,
                N S07 + S12 = 2, W 3
    reached  = [12, 10, 8, 5, 3]; current = [1, 1, 1, 1, 0]; lost = [1, 1, 2, 1, 0]
    resolved: P 10/11, Q 8/9, Pr 5/7, N 3/4
    win from: N 3/4, Pr 5/7 x 3/4 = 15/28.
    below plan: P 10/11 > 80% and Q 8/9 > 85% are not;
        Pr: (8 - 1) x (4/5 - 5/7) x 3/4 x 20,000 = 7 x 3/35 x 3/4 x 20,000 = 9,000
        N:  (5 - 1) x (4/5 - 3/4) x 1 x 20,000 = 4 x 1/20 x 20,000 = 4,000
    so the bottleneck is Proposal ($9,000), then Negotiation ($4,000).
    win rate 3 / (3 + 5) = 3/8 both ways; cycle days of the won: 56, 79, 56.

    Days in stage, per deal summed over its visits (a deal whose last change is into
    the stage and still open is "still in" instead), quantiles by linear interpolation
    at (n - 1) x q:
    P : 10 14 5 21 8 12 7 16 18 9 6 -> 5 6 7 8 9 10 12 14 16 18 21 (n 11)
        median [5] 10; p75 [7.5] (14 + 16) / 2 = 15; p90 [9] 18; still in: S11 = 1
    Q : 20 28 21 28 15 13 11 24 17 -> 11 13 15 17 20 21 24 28 28 (n 9)
        median [4] 20; p75 [6] 24; p90 [7.2] 28; still in: S09 = 1
    Pr: 14 16 28 (14 + 9 =) 23 35 22 -> 14 16 22 23 28 35 (n 6)
        median [2.5] 22.5; p75 [3.75] 23 + 0.75 x 5 = 26.75; p90 [4.5] 28 + 3.5 = 31.5;
        still in: S10 = 1
    N : 12 21 30 (14 + 21 =) 35 -> 12 21 30 35 (n 4)
        median [1.5] 25.5; p75 [2.25] 30 + 0.25 x 5 = 31.25; p90 [2.7] 30 + 3.5 = 33.5;
        still in: S12 = 1
    Days before loss (last entry into f to the LOST change): P S04 21; Q S05 28;
        Pr S06 28, S08 35 -> 31.5; N S07 21 (entered again 04-03, lost 04-24).
    skipped: Proposal 1 (S03 went Q -> N); moved_back: Negotiation 1 (S07).

As of 2025-03-15, with the history: S11 (created 05-05) and S12 (04-01) did not exist:
filtered as created_after_as_of (12 read = 10 used + 2 filtered). Closed after the day,
S02 (won 04-02), S03 (won 03-31) and S06 (lost 03-16) are open in the stage they were in;
the changes after the day are ignored (S07's move back on 03-25 among them).
    S01 won; S04 lost at P; S05 lost at Q;
    open: S09 P (its Q is 03-21), S10 P (Q 03-19), S08 Q (03-05), S06 Pr (02-16),
          S02 N (03-12), S03 N (03-01), S07 N (03-11)
    reached_at: P S04 S09 S10 = 3, Q S05 S08 = 2, Pr S06 = 1, N S02 S03 S07 = 3, W 1
    reached  = [10, 7, 5, 4, 1]; current = [2, 1, 1, 3, 0]; lost = [1, 1, 0, 0, 0]
    resolved: P 7/8, Q 5/6, Pr 4/4 = 1, N 1/1 = 1; win rate 1 / (1 + 2) = 1/3
    bottleneck: Q only: (7 - 1) x (85% - 5/6) x 1 x 20,000 (S01 alone) = 2,000
    days: P 10 14 5 21 8 12 7 16 -> 5 7 8 10 12 14 16 21: median 11, p75 [5.25] 14.5,
              p90 [6.3] 17.5; still in S09 S10 = 2
          Q 20 28 21 28 15 13 -> 13 15 20 21 28 28: median 20.5, p75 [3.75] 26.25,
              p90 [4.5] 28; still in S08 = 1
          Pr 14 16 14 -> median 14, p75 [1.5] 15, p90 [1.8] 15.6; still in S06 = 1
          N 12 (S01) -> 12, 12, 12; still in S02 S03 S07 = 3
    skipped Proposal 1 (S03); moved back none yet.

Compare (--as-of 2025-06-30 --compare-to 2025-03-15): now - then
    reached  [12, 10, 8, 5, 3] - [10, 7, 5, 4, 1] = [2, 3, 3, 1, 2]
    resolved P 10/11 - 7/8 = 3/88; Q 8/9 - 5/6 = 1/18; Pr 5/7 - 1 = -2/7; N 3/4 - 1 = -1/4
    median days P 10 - 11 = -1; Q 20 - 20.5 = -0.5; Pr 22.5 - 14 = 8.5; N 25.5 - 12 = 13.5
    win rate 3/8 - 1/3 = 1/24

Zoho pair: zoho_deals.csv and zoho_history.csv (Zoho's stage history: newest row first,
no deal id, so joined by name; "Zylker -  Annual Plan" carries a double space in the
history), funnel zoho_funnel.yaml: Qualification 80% > Needs Analysis 70% > Proposal 70%
> Negotiation 70% > Won; lost: [Closed Lost, Closed Lost to Competition]. A row is the
day the deal entered ``Stage``; ``Moved To`` is the next row's stage. All dates 2024.

    Z01 24,000 won   06-03 Q (5) 06-08 NA (10) 06-18 Pr (12) 06-30 N (8) 07-08 W
    Z02 36,000 won   06-10 Q (9) 06-19 Pr (21) 07-10 N (20) 07-30 W     skips NA
    Z03  6,000 lost  06-05 Q (15) 06-20 Closed Lost to Competition        dies at Q
    Z04 10,000 lost  06-12 Q (4) 06-16 NA (22) 07-08 L                   dies at NA
    Z05 20,000 lost  06-17 Q (6) 06-23 NA (11) 07-04 Pr (18) 07-22 L     dies at Pr
    Z06 30,000 lost  06-20 Q (3) 06-23 NA (8) 07-01 Pr (10) 07-11 NA (5) 07-16 Pr (6)
                     07-22 N (25) 08-16 L               moves back Pr -> NA, dies at N
    Z07 12,000 open NA  07-01 Q (7) 07-08 NA
    Z08 15,000 open Pr  07-08 Q (10) 07-18 NA (13) 07-31 Pr
    Z09  5,000 open Q   08-05 Q
    Z10 50,000 open N   07-15 Q (2) 07-17 NA (9) 07-26 Pr (14) 08-09 N

    Without history: reached [10, 5, 4, 3, 2], current [1, 1, 1, 1, 0], lost [4, 0, 0, 0, 0];
        resolved Q 5/9, then 1, 1, 1; bottleneck Q: (10 - 1) x (4/5 - 5/9) x 1 x 30,000
        = 9 x 11/45 x 30,000 = 66,000 (average won (24,000 + 36,000) / 2 = 30,000).
    With history: reached [10, 8, 6, 4, 2], current [1, 1, 1, 1, 0], lost [1, 1, 1, 1, 0];
        resolved Q 8/9, NA 6/7, Pr 4/5, N 2/3: only N is below plan:
        (4 - 1) x (7/10 - 2/3) x 1 x 30,000 = 3 x 1/30 x 30,000 = 3,000.
    Days: Q 5 9 15 4 6 3 7 10 2 -> 2 3 4 5 6 7 9 10 15: median 6, p75 [6] 9,
              p90 [7.2] 10 + 0.2 x 5 = 11; still in Z09
          NA 10 22 11 (8 + 5 =) 13 13 9 -> 9 10 11 13 13 22: median 12, p75 [3.75] 13,
              p90 [4.5] 13 + 4.5 = 17.5; still in Z07
          Pr 12 21 18 (10 + 6 =) 16 14 -> 12 14 16 18 21: median 16, p75 [3] 18,
              p90 [3.6] 18 + 0.6 x 3 = 19.8; still in Z08
          N 8 20 25 -> median 20, p75 [1.5] 22.5, p90 [1.8] 24; still in Z10
    Days before loss: Q 15, NA 22, Pr 18, N 25. Skipped NA 1 (Z02); moved back Pr 1 (Z06).
    Cycle days of the won: 35 and 50: median 42.5.

Part 2 works from tests/data/history_cli/: its hand count is at the head of part 2.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner, Result

from funnelcli.cli import app
from funnelcli.render.report_view import TIME_COLUMNS

from ..conftest import DATA, THEIRS, line_matching
from ..fixed_width import read_tables
from ..html_dom import Dom

CASES = DATA / "history_cli_cases"
SF_DEALS = str(CASES / "salesforce_deals.csv")
SF_HISTORY = str(CASES / "salesforce_history.csv")
SF_FUNNEL = str(CASES / "salesforce_funnel.yaml")
SF_PARTIAL = str(CASES / "salesforce_history_partial.csv")  # S06 missing, one deal extra
SF_GAPS = str(CASES / "salesforce_history_gaps.csv")  # S06 and S11 missing, two deals extra
ZOHO_DEALS = str(CASES / "zoho_deals.csv")
ZOHO_HISTORY = str(CASES / "zoho_history.csv")
ZOHO_FUNNEL = str(CASES / "zoho_funnel.yaml")
LAST_DAY = "2025-06-30"  # the last date in the Salesforce pair (open deals' close date)
MIDDLE = "2025-03-15"
runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, list(args), prog_name="funnel")


def salesforce(*args: str, history: str | None = SF_HISTORY) -> Result:
    extra = ("--history", history) if history else ()
    return run("report", SF_DEALS, "--funnel", SF_FUNNEL, *extra, *args)


def as_json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def salesforce_json(*args: str, history: str | None = SF_HISTORY) -> dict[str, Any]:
    return as_json(salesforce(*args, "--format", "json", history=history))


def zoho_json(*args: str) -> dict[str, Any]:
    return as_json(
        run(
            "report",
            ZOHO_DEALS,
            "--funnel",
            ZOHO_FUNNEL,
            "--as-of",
            "2024-10-31",
            "--format",
            "json",
            *args,
        )
    )


def column(data: dict[str, Any], key: str) -> list[Any]:
    return [stage[key] for stage in data["stages"]]


def rows_add_up(data: dict[str, Any]) -> None:
    rows = data["rows"]
    assert rows["read"] == rows["used"] + rows["skipped"] + rows["filtered"]
    if data["history"] is not None:
        history = data["history"]["rows"]
        assert history["read"] == history["used"] + history["skipped"]


# --- 1. Salesforce: the same export with and without its Opportunity History ---------------


def core(row: dict[str, object]) -> dict[str, object]:
    """A below-plan entry without the keys the noise rule and the leak add."""
    added = ("interval", "win_from_next", "expected_wins_lost", "revenue_leak")
    return {key: value for key, value in row.items() if key not in added}


def test_salesforce_without_history_counts_every_lost_deal_at_the_first_stage() -> None:
    result = salesforce("--as-of", LAST_DAY, "--format", "json", history=None)
    data = as_json(result)
    assert column(data, "name") == [
        "Prospecting",
        "Qualification",
        "Proposal",
        "Negotiation",
        "Closed Won",
    ]
    assert column(data, "reached") == [12, 6, 5, 4, 3]
    assert column(data, "current") == [1, 1, 1, 1, 0]
    assert column(data, "lost") == [5, 0, 0, 0, 0]
    # Where the 5 were lost is unknown: no stage's conversion is measured (at the first
    # stage they would leave every later one at 100%), and none is ranked.
    assert column(data, "resolved_conversion") == [None] * 5
    assert data["lost"] == {"count": 5, "value": 65000.0, "unknown_stage": 5}
    assert data["win_rate"] == 3 / 8
    assert data["bottleneck_by"] == "revenue"
    assert data["bottlenecks"] == []
    # Open deals are weighted by the win rate 3 / (3 + 5) = 3/8:
    # (9,000 + 18,000 + 6,000 + 40,000) x 3/8 = 73,000 x 3/8 = 27,375.
    assert data["open"]["weighted_from"] == "the overall win rate"
    assert data["open"]["weighted_value"] == 27375.0
    # No stage dates at all: no days, nothing still in, skipped or moved back.
    for key in (
        "median_days_in_stage",
        "p75_days_in_stage",
        "p90_days_in_stage",
        "median_days_before_loss",
    ):
        assert column(data, key) == [None] * 5
    for key in ("still_in_stage", "skipped", "moved_back"):
        assert column(data, key) == [0] * 5
    assert data["history"] is None
    assert data["compare"] is None
    assert result.stderr == (
        f"warning: {SF_DEALS}: 5 lost deals do not say at which stage they were lost; "
        "they count as lost at the first stage\n"
    )


def test_salesforce_with_history_puts_lost_deals_where_they_died() -> None:
    result = salesforce("--as-of", LAST_DAY, "--format", "json")
    data = as_json(result)
    assert column(data, "reached") == [12, 10, 8, 5, 3]
    assert column(data, "current") == [1, 1, 1, 1, 0]
    assert column(data, "lost") == [1, 1, 2, 1, 0]
    assert column(data, "resolved_conversion") == [10 / 11, 8 / 9, 5 / 7, 3 / 4, None]
    assert data["lost"] == {"count": 5, "value": 65000.0, "unknown_stage": 0}
    assert data["won"] == {"count": 3, "value": 60000.0}
    assert data["open"]["count"] == 4
    assert data["win_rate"] == 3 / 8
    assert data["average_won_value"] == 20000.0
    assert data["median_cycle_days"] == 56.0
    # The lost deals now sit where they died; the stages below plan are within noise
    # (90% Wilson high ends, z = 1.644854: 5/7 -> 0.9004342, 3/4 -> 0.9420927, both
    # above 80%), so none is named; furthest below plan first (8.6 points, then 5).
    assert data["bottlenecks"] == []
    assert [core(row) for row in data["below_plan_within_noise"]] == [
        {
            "stage": "Proposal",
            "next_stage": "Negotiation",
            "actual": 5 / 7,
            "planned": 0.8,
            "revenue_impact": 9000.0,
            "lost": 2,
        },
        {
            "stage": "Negotiation",
            "next_stage": "Closed Won",
            "actual": 3 / 4,
            "planned": 0.8,
            "revenue_impact": 4000.0,
            "lost": 1,
        },
    ]
    # Every deal has its history and nothing is left over: no warning at all.
    assert result.stderr == ""


def test_salesforce_days_in_stage_from_the_history() -> None:
    data = salesforce_json("--as-of", LAST_DAY)
    assert column(data, "median_days_in_stage") == [10.0, 20.0, 22.5, 25.5, None]
    assert column(data, "p75_days_in_stage") == [15.0, 24.0, 26.75, 31.25, None]
    assert column(data, "p90_days_in_stage") == [18.0, 28.0, 31.5, 33.5, None]
    assert column(data, "still_in_stage") == [1, 1, 1, 1, 0]
    assert column(data, "median_days_before_loss") == [21.0, 28.0, 31.5, 21.0, None]
    assert column(data, "skipped") == [0, 0, 1, 0, 0]
    assert column(data, "moved_back") == [0, 0, 0, 1, 0]


def test_salesforce_history_block() -> None:
    data = salesforce_json("--as-of", LAST_DAY)
    # 45 rows: 5 + 6 + 4 + 2 + 3 + 4 + 7 + 4 + 2 + 3 + 1 + 4; S02's amount edit is the
    # one unchanged row.
    assert data["history"] == {
        "file": SF_HISTORY,
        "dialect": "Salesforce",
        "rows": {"read": 45, "used": 45, "skipped": 0, "skipped_by_reason": {}, "unchanged": 1},
        "deals": 12,
        "unmatched_rows": 0,
        "unmatched_deals": 0,
        "shared_name_rows": 0,
        "deals_without_history": 0,
        "ambiguous_names": 0,
    }
    # The export: 12 deals, then a blank line and three footer rows.
    assert data["rows"]["read"] == 12
    assert data["rows"]["used"] == 12
    assert (data["rows"]["blank"], data["rows"]["footer"]) == (1, 3)
    rows_add_up(data)


# --- 2. Zoho: a stage history joined by deal name ----------------------------------------


def test_zoho_without_history() -> None:
    data = zoho_json()
    assert column(data, "reached") == [10, 5, 4, 3, 2]
    assert column(data, "current") == [1, 1, 1, 1, 0]
    assert column(data, "lost") == [4, 0, 0, 0, 0]
    assert column(data, "resolved_conversion") == [None] * 5
    assert data["lost"]["unknown_stage"] == 4
    assert data["bottlenecks"] == []
    # No probability column: the win rate 2/6 = 1/3 weighs the open value
    # 12,000 + 15,000 + 5,000 + 50,000 = 82,000 -> 27,333.33.
    assert data["open"]["weighted_from"] == "the overall win rate"
    assert data["open"]["weighted_value"] == round(82000 / 3, 2)


def test_zoho_with_history_attributes_lost_deals_to_their_stage() -> None:
    data = zoho_json("--history", ZOHO_HISTORY)
    assert column(data, "reached") == [10, 8, 6, 4, 2]
    assert column(data, "current") == [1, 1, 1, 1, 0]
    assert column(data, "lost") == [1, 1, 1, 1, 0]
    assert column(data, "resolved_conversion") == [8 / 9, 6 / 7, 4 / 5, 2 / 3, None]
    assert data["lost"]["unknown_stage"] == 0
    assert data["win_rate"] == 1 / 3
    assert data["median_cycle_days"] == 42.5
    # 2/3 against 70%: within noise (90% Wilson high end 0.9217343, z = 1.644854).
    assert data["bottlenecks"] == []
    assert [core(row) for row in data["below_plan_within_noise"]] == [
        {
            "stage": "Negotiation",
            "next_stage": "Won",
            "actual": 2 / 3,
            "planned": 0.7,
            "revenue_impact": 3000.0,
            "lost": 1,
        }
    ]


def test_zoho_days_in_stage_read_stage_as_the_stage_entered() -> None:
    data = zoho_json("--history", ZOHO_HISTORY)
    assert column(data, "median_days_in_stage") == [6.0, 12.0, 16.0, 20.0, None]
    assert column(data, "p75_days_in_stage") == [9.0, 13.0, 18.0, 22.5, None]
    assert column(data, "p90_days_in_stage") == [11.0, 17.5, 19.8, 24.0, None]
    assert column(data, "still_in_stage") == [1, 1, 1, 1, 0]
    assert column(data, "median_days_before_loss") == [15.0, 22.0, 18.0, 25.0, None]
    assert column(data, "skipped") == [0, 1, 0, 0, 0]
    assert column(data, "moved_back") == [0, 0, 1, 0, 0]


def test_zoho_history_joins_every_deal_by_name() -> None:
    # 35 rows: 5 + 4 + 2 + 3 + 4 + 7 + 2 + 3 + 1 + 4; "Zylker -  Annual Plan" joins too.
    data = zoho_json("--history", ZOHO_HISTORY)
    history = data["history"]
    assert history["dialect"] == "Zoho"
    assert history["rows"] == {
        "read": 35,
        "used": 35,
        "skipped": 0,
        "skipped_by_reason": {},
        "unchanged": 0,
    }
    assert (history["deals"], history["unmatched_rows"], history["unmatched_deals"]) == (10, 0, 0)
    assert history["deals_without_history"] == 0
    assert history["ambiguous_names"] == 0
    rows_add_up(data)


# --- 3. --as-of in the middle, and --compare-to ------------------------------------------


def test_as_of_the_middle_rebuilds_the_funnel_as_it_stood() -> None:
    data = salesforce_json("--as-of", MIDDLE)
    assert data["as_of"] == MIDDLE
    assert data["rows"]["read"] == 12
    assert data["rows"]["used"] == 10
    assert data["rows"]["filtered"] == 2
    assert data["rows"]["filtered_by_reason"] == {"created_after_as_of": 2}
    rows_add_up(data)
    assert column(data, "reached") == [10, 7, 5, 4, 1]
    assert column(data, "current") == [2, 1, 1, 3, 0]
    assert column(data, "lost") == [1, 1, 0, 0, 0]
    assert column(data, "resolved_conversion") == [7 / 8, 5 / 6, 1.0, 1.0, None]
    assert (data["won"]["count"], data["lost"]["count"], data["open"]["count"]) == (1, 2, 7)
    assert data["win_rate"] == 1 / 3
    # 5/6 against 85%: within noise (90% Wilson high end 0.9618944, z = 1.644854).
    assert data["bottlenecks"] == []
    below = data["below_plan_within_noise"]
    assert [(row["stage"], row["revenue_impact"]) for row in below] == [("Qualification", 2000.0)]


def test_as_of_the_middle_days_in_stage() -> None:
    data = salesforce_json("--as-of", MIDDLE)
    assert column(data, "median_days_in_stage") == [11.0, 20.5, 14.0, 12.0, None]
    assert column(data, "p75_days_in_stage") == [14.5, 26.25, 15.0, 12.0, None]
    assert column(data, "p90_days_in_stage") == [17.5, 28.0, 15.6, 12.0, None]
    assert column(data, "still_in_stage") == [2, 1, 1, 3, 0]
    assert column(data, "median_days_before_loss") == [21.0, 28.0, None, None, None]
    assert column(data, "skipped") == [0, 0, 1, 0, 0]
    assert column(data, "moved_back") == [0, 0, 0, 0, 0]


def test_compare_to_the_middle() -> None:
    data = salesforce_json("--as-of", LAST_DAY, "--compare-to", MIDDLE)
    compare = data["compare"]
    assert compare["as_of"] == MIDDLE
    stages = compare["stages"]
    assert [stage["name"] for stage in stages] == column(data, "name")
    assert [stage["reached"] for stage in stages] == [12, 10, 8, 5, 3]
    assert [stage["reached_then"] for stage in stages] == [10, 7, 5, 4, 1]
    assert [stage["reached_change"] for stage in stages] == [2, 3, 3, 1, 2]
    assert [stage["resolved_conversion"] for stage in stages] == [
        10 / 11,
        8 / 9,
        5 / 7,
        3 / 4,
        None,
    ]
    assert [stage["resolved_conversion_then"] for stage in stages] == [
        7 / 8,
        5 / 6,
        1.0,
        1.0,
        None,
    ]
    changes = [stage["resolved_conversion_change"] for stage in stages]
    assert changes[:4] == pytest.approx([3 / 88, 1 / 18, -2 / 7, -1 / 4], abs=1e-6)
    assert changes[4] is None
    assert [stage["median_days_in_stage"] for stage in stages] == [10.0, 20.0, 22.5, 25.5, None]
    assert [stage["median_days_in_stage_then"] for stage in stages] == [
        11.0,
        20.5,
        14.0,
        12.0,
        None,
    ]
    assert [stage["median_days_in_stage_change"] for stage in stages] == [
        -1.0,
        -0.5,
        8.5,
        13.5,
        None,
    ]
    assert compare["win_rate"]["now"] == 3 / 8
    assert compare["win_rate"]["then"] == 1 / 3
    assert compare["win_rate"]["change"] == pytest.approx(1 / 24, abs=1e-6)


def test_compare_block_agrees_with_the_two_reports_run_apart() -> None:
    both = salesforce_json("--as-of", LAST_DAY, "--compare-to", MIDDLE)
    now = salesforce_json("--as-of", LAST_DAY)
    then = salesforce_json("--as-of", MIDDLE)
    for stage, current, earlier in zip(
        both["compare"]["stages"], now["stages"], then["stages"], strict=True
    ):
        assert stage["reached"] == current["reached"]
        assert stage["reached_then"] == earlier["reached"]
        assert stage["resolved_conversion"] == current["resolved_conversion"]
        assert stage["resolved_conversion_then"] == earlier["resolved_conversion"]
        assert stage["median_days_in_stage"] == current["median_days_in_stage"]
        assert stage["median_days_in_stage_then"] == earlier["median_days_in_stage"]
    assert both["compare"]["win_rate"]["then"] == then["win_rate"]
    # The main report is the --as-of one, unchanged by --compare-to.
    assert both["stages"] == now["stages"]
    assert both["rows"] == now["rows"]


@pytest.mark.parametrize("last", [LAST_DAY, "2025-05-16"])
def test_as_of_the_last_date_equals_no_as_of(last: str) -> None:
    # 2025-06-30 is the last date in either file; 2025-05-16 the last stage change (S12
    # into Negotiation), after which only open deals' expected close dates fall.
    pinned = salesforce_json("--as-of", last)
    today = salesforce_json()
    assert pinned["as_of"] == last
    for data in (pinned, today):
        data.pop("as_of")
    assert pinned == today


# --- 4. History rows no deal asks for, and deals without history -------------------------


def test_unmatched_rows_and_a_deal_without_history_are_counted() -> None:
    # salesforce_history_partial.csv: S06's 4 rows are gone, and Oscorp - Trial (2 rows)
    # is not in the export. S06 falls back to the export: Closed Lost at an unknown stage,
    # so lost at Prospecting; the other deals as before:
    #   reached_at P S04 S06 S11 = 3, Q S05 S09 = 2, Pr S08 S10 = 2, N S07 S12 = 2, W 3.
    data = salesforce_json("--as-of", LAST_DAY, history=SF_PARTIAL)
    history = data["history"]
    assert history["rows"]["read"] == 45 - 4 + 2
    assert history["rows"]["used"] == 43
    assert history["deals"] == 12  # 11 of the export's + Oscorp
    assert history["unmatched_rows"] == 2
    assert history["unmatched_deals"] == 1
    assert history["deals_without_history"] == 1
    rows_add_up(data)
    assert data["rows"]["used"] == 12  # S06 is still counted, from the export alone
    assert column(data, "reached") == [12, 9, 7, 5, 3]
    assert column(data, "lost") == [2, 1, 1, 1, 0]
    assert data["lost"]["unknown_stage"] == 1


def test_unmatched_rows_and_deals_without_history_warn_in_whole_lines() -> None:
    # salesforce_history_gaps.csv: S06 and S11 have no rows; Oscorp - Trial (2 rows) and
    # Massive Dynamic - Pilot (1 row) are not in the export.
    result = salesforce("--as-of", LAST_DAY, "--format", "json", history=SF_GAPS)
    data = as_json(result)
    history = data["history"]
    assert (history["unmatched_rows"], history["unmatched_deals"]) == (3, 2)
    assert history["deals_without_history"] == 2
    rows_add_up(data)
    # S11 open at Prospecting without a history: not "still in" from a known day.
    assert column(data, "still_in_stage") == [0, 1, 1, 1, 0]
    assert result.stderr.splitlines() == [
        f"warning: {SF_GAPS}: 3 history rows (2 deals) match no deal in {SF_DEALS}; "
        "they are left out",
        f"warning: {SF_DEALS}: 2 deals have no history in {SF_GAPS}; "
        "their stage dates come from the export alone",
        f"warning: {SF_DEALS}: 1 lost deal does not say at which stage it was lost; "
        "it counts as lost at the first stage",
    ]


def test_one_unmatched_deal_and_one_deal_without_history_warn_in_the_singular() -> None:
    result = salesforce("--as-of", LAST_DAY, "--format", "json", history=SF_PARTIAL)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"warning: {SF_PARTIAL}: 2 history rows (1 deal) match no deal in {SF_DEALS}; "
        "they are left out",
        f"warning: {SF_DEALS}: 1 deal has no history in {SF_PARTIAL}; "
        "its stage dates come from the export alone",
        f"warning: {SF_DEALS}: 1 lost deal does not say at which stage it was lost; "
        "it counts as lost at the first stage",
    ]


def test_deals_without_history_counts_only_the_deals_in_the_report() -> None:
    # As of 2025-03-15, S11 and S12 did not exist yet (filtered); of the deals used, only
    # S06 has no history.
    data = salesforce_json("--as-of", MIDDLE, history=SF_GAPS)
    assert data["rows"]["filtered_by_reason"] == {"created_after_as_of": 2}
    assert data["history"]["deals_without_history"] == 1


# --- 5. Days in stage in every format ----------------------------------------------------

TIME_KEYS = ("median_days_in_stage", "p75_days_in_stage", "p90_days_in_stage", "still_in_stage")


def _text_number(cell: str) -> float | None:
    return None if cell == "–" else float(cell.replace(",", ""))


def _close(text: float | None, exact: float | None) -> bool:
    """Text shows days to one decimal; the JSON to two."""
    if text is None or exact is None:
        return text is exact
    return abs(text - exact) <= 0.05 + 1e-9


def _check_time_rows(rows: dict[str, list[str]], data: dict[str, Any]) -> None:
    """Rows of the "Time in stage (days)" table (Stage, Median, p75, p90, Still in, Days
    before loss, Skipped, Moved back) against the JSON: every stage but the won one."""
    assert list(rows) == column(data, "name")[:-1]
    for stage in data["stages"][:-1]:
        median, p75, p90, still, before_loss, skipped, moved_back = rows[stage["name"]]
        assert _close(_text_number(median), stage["median_days_in_stage"]), stage["name"]
        assert _close(_text_number(p75), stage["p75_days_in_stage"]), stage["name"]
        assert _close(_text_number(p90), stage["p90_days_in_stage"]), stage["name"]
        assert int(still) == stage["still_in_stage"]
        assert _close(_text_number(before_loss), stage["median_days_before_loss"])
        assert int(skipped) == stage["skipped"]
        assert int(moved_back) == stage["moved_back"]


def _plain_time_rows(text: str) -> dict[str, list[str]]:
    """The rows of the "Time in stage (days)" table, and of its continuation when the 80
    columns leave some over, joined by stage in the order of TIME_COLUMNS."""
    tables = [table for table in read_tables(text) if table.title in TIME_TITLES]
    assert tables, text
    rows: dict[str, list[str]] = {}
    for name in tables[0].column("Stage"):
        cells: dict[str, str] = {}
        for table in tables:
            cells |= table.row(name)
        rows[name] = [cells[header] for header in TIME_COLUMNS[1:]]
    return rows


TIME_TITLES = ("Time in stage (days)", "Time in stage (days; continued)")


def salesforce_time_json() -> dict[str, Any]:
    data = salesforce_json("--as-of", LAST_DAY)
    # The figures the formats must show, as worked out by hand above.
    assert column(data, "p75_days_in_stage") == [15.0, 24.0, 26.75, 31.25, None]
    return data


def test_days_in_stage_in_json_stage_keys() -> None:
    data = salesforce_time_json()
    for stage in data["stages"]:
        assert set(TIME_KEYS) <= set(stage)


def test_days_in_stage_in_csv() -> None:
    data = salesforce_time_json()
    result = salesforce("--as-of", LAST_DAY, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["stage"] for row in rows] == column(data, "name")
    for row, stage in zip(rows, data["stages"], strict=True):
        for key in TIME_KEYS:
            expected = stage[key]
            assert (float(row[key]) if row[key] else None) == expected, (stage["name"], key)


def test_days_in_stage_in_markdown() -> None:
    data = salesforce_time_json()
    result = salesforce("--as-of", LAST_DAY, "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("### Time in stage (days)")
    header = lines[start + 2]
    assert header == (
        "| Stage | Median | p75 | p90 | Still in | Days before loss | Skipped | Moved back |"
    )
    rows: dict[str, list[str]] = {}
    for line in lines[start + 4 :]:
        if not line.startswith("| "):
            break
        name, *cells = (cell.strip() for cell in line.strip("|").split("|"))
        rows[name] = cells
    _check_time_rows(rows, data)
    assert rows["Proposal"][:3] == ["22.5", "26.8", "31.5"]


def test_days_in_stage_in_the_table_output() -> None:
    data = salesforce_time_json()
    result = salesforce("--as-of", LAST_DAY)
    assert result.exit_code == 0, result.stderr
    _check_time_rows(_plain_time_rows(result.stdout), data)


def test_days_in_stage_in_html() -> None:
    data = salesforce_time_json()
    result = salesforce("--as-of", LAST_DAY, "--format", "html")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.lstrip().lower().startswith("<!doctype html")
    table = Dom(result.stdout).table("Time in stage (days)")
    rows = {row[0].text: [cell.text for cell in row[1:]] for row in table.rows}
    _check_time_rows(rows, data)


def test_days_in_stage_in_xlsx(tmp_path: Path) -> None:
    data = salesforce_time_json()
    target = tmp_path / "report.xlsx"
    result = salesforce("--as-of", LAST_DAY, "--output", str(target))
    assert result.exit_code == 0, result.stderr
    workbook = openpyxl.load_workbook(target)
    sheet = workbook["Time in stage"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    titles = {
        "median_days_in_stage": "Median days",
        "p75_days_in_stage": "P75 days",
        "p90_days_in_stage": "P90 days",
        "still_in_stage": "Still in stage",
    }
    assert [row[header.index("Stage")] for row in rows[1:]] == column(data, "name")
    for key, title in titles.items():
        cells = [row[header.index(title)] for row in rows[1:]]
        assert cells == column(data, key), key


# --- 6. --compare-to needs --history -----------------------------------------------------


@pytest.mark.parametrize("output", [(), ("--format", "json")])
def test_compare_to_without_history_is_refused(output: tuple[str, ...]) -> None:
    result = salesforce("--as-of", LAST_DAY, "--compare-to", MIDDLE, *output, history=None)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: --compare-to needs --history: a deals export alone cannot say where deals "
        "stood on a past date\n"
    )


# --- part 2: plans from an export's history ----------------------------------------
#
# Plans from history through the command line: --rates-from, --credit-pipeline, --booked.
#
# The export is tests/data/history_cli/deals.csv with funnel.yaml (Lead > Demo > Won,
# planned 50% and 40%, average_deal_value 20,000; lost: [Lost]). Every figure below is
# worked out by hand from the twelve deals, following the formulas in
# funnelcli/history_plan.py's docstring:
#
#     H01-H03  Won   9,000 + 12,000 + 15,000 = 36,000   -> average won value 12,000
#     H04-H06  Lost  at Lead (a status column keeps the stage they were lost at)
#     H07-H10  Lead  open, 5,000 + 5,000 + 6,000 + 4,000 = 20,000
#     H11-H12  Demo  open, 10,000 + 10,000 = 20,000
#
#     reached: Lead 12, Demo 2 open + 3 won = 5, Won 3; open now: Lead 4, Demo 2.
#     resolved conversion = reached[next] / (reached[i] - open[i]):
#         Lead 5 / (12 - 4) = 5/8 = 62.5%;  Demo 3 / (5 - 2) = 1 = 100%.
#     win from each stage (product of the rates below it): Lead 5/8, Demo 1, Won 1.
#     win rate = won / (won + lost) = 3 / 6 = 1/2; coverage needed = 1 / (1/2) = 2.
#     expected wins from the open deals = 4 x 5/8 + 2 x 1 = 2.5 + 2 = 4.5.
#     expected revenue from them = 20,000 x 5/8 + 20,000 x 1 = 12,500 + 20,000 = 32,500.
#     open value = 20,000 + 20,000 = 40,000.
#     Both rates rest on fewer than 30 resolved deals (8 and 3): a note and a warning each,
#     with the 90% Wilson interval (z = 1.6449; centre (p + z²/2n) / (1 + z²/n), half width
#     z sqrt(p(1 - p)/n + z²/4n²) / (1 + z²/n)):
#         5/8: centre 0.5934, half 0.2454 -> 34.8% to 83.9%;
#         3/3: centre 0.7629, half 0.2371 -> 52.6% to 100%.
#
# unattributed.csv has the same deals with H04-H06 as the label Lost only: where they were
# lost is unknown, so no rate is measured (report.py). The overall win rate 3/6 = 1/2
# stands in at Demo, 100% at Lead: P(win) = 1/2 from both stages.

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


def run_plan(*args: str) -> Result:
    return runner.invoke(app, ["plan", FUNNEL, *args], prog_name="funnel")


def plan_json(*args: str) -> dict[str, Any]:
    result = run_plan(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def needed(data: dict[str, Any]) -> list[int]:
    return [stage["needed"] for stage in data["stages"]]


def markdown_summary(*args: str) -> str:
    """The plan's one-sentence summary: the third line of the Markdown."""
    result = run_plan(*args, "--format", "markdown")
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
    result = run_plan("--target", "100k", "--rates-from", DEALS, "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    # 9 deals at 12,000, 15 leads (above); no pipeline credit, so the plain sentence.
    assert lines[2:10] == [
        "To book $100k at $12,000 per deal you need 9 won deals, which takes 15 leads at "
        "these rates.",
        "",
        # A forwarded output names the export by its file name, not its path.
        "- Rates and deal value measured from deals.csv (resolved conversion, average won value).",
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
    result = run_plan("--target", "100k", "--rates-from", UNATTRIBUTED, "--format", "json")
    assert result.exit_code == 0
    assert "3 lost deals do not say at which stage they were lost" in result.stderr


def test_rates_from_the_win_rate_when_losses_are_unattributed() -> None:
    # Rates: Lead 100% (not measured), Demo the win rate 3/6 = 1/2 (rests on 6 closed
    # deals: centre 0.5, half z sqrt(1/24 + z²/144) / (1 + z²/6) = 0.2787 -> 22.1% to
    # 77.9%). 9 deals at 12,000: Demo ceil(9 / 1/2) = 18, Lead ceil(9 / (1 x 1/2)) = 18.
    result = run_plan("--target", "100k", "--rates-from", UNATTRIBUTED, "--format", "json")
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
    result = run_plan("--target", "100k", "--rates-from", UNKNOWN_LABEL, "--format", "json")
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
    result = run_plan("--target", "100k", *args, "--format", "json")
    assert result.exit_code == 2
    assert result.stderr == message + "\n"
    assert result.stdout == ""


@pytest.mark.parametrize("option", ["--rates-from", "--credit-pipeline"])
def test_a_missing_export(option: str) -> None:
    result = run_plan("--target", "100k", option, MISSING, "--format", "json")
    assert result.exit_code == 2
    assert MISSING_MESSAGE.fullmatch(result.stderr), result.stderr  # the OS's reason: any
    assert result.stdout == ""
