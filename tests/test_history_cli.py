"""Acceptance tests of `funnel report --history`, with matched deals exports and history files.

The inputs are in tests/data/history_cli_cases/. Every expected figure is worked out by
hand below from the dates in the files (following the definitions in report.py's and
readers/history.py's docstrings), never copied from the program's output.

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
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner, Result

from funnelcli.cli import app

from .conftest import DATA

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
    """The rows under the rule below the "Time in stage (days)" title, to the blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Time in stage (days)"))
    rule = next(i for i in range(start, len(lines)) if lines[i].startswith("─"))
    rows: dict[str, list[str]] = {}
    for line in lines[rule + 1 :]:
        if not line.strip():
            break
        name, *cells = line.split()
        rows[name] = cells
    return rows


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
    start = lines.index("**Time in stage (days)**")
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
    text = html.unescape(re.sub(r"<[^>]+>", "", result.stdout))
    _check_time_rows(_plain_time_rows(text), data)


def test_days_in_stage_in_xlsx(tmp_path: Path) -> None:
    data = salesforce_time_json()
    target = tmp_path / "report.xlsx"
    result = salesforce("--as-of", LAST_DAY, "--output", str(target))
    assert result.exit_code == 0, result.stderr
    workbook = openpyxl.load_workbook(target)
    sheet = workbook["Stages"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    titles = {
        "median_days_in_stage": "Median days in stage",
        "p75_days_in_stage": "P75 days in stage",
        "p90_days_in_stage": "P90 days in stage",
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
