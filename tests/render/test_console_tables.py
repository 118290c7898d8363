"""The terminal's tables at 80 and 60 columns (render/console.py's FittedTable, used by
console_report.py and console_plan.py): no figure disappears, none is cut short.

Each command runs as a real process with its stdout a pipe and ``COLUMNS`` set, as in a
cron job, and its text is read back (tests/fixed_width.py: columns two or more spaces
apart) and compared with ``--format json`` of the same command, converting by hand
(``$1,234`` is 1234, ``63.2%`` 0.632 to the places shown).

Exports: the Maven pipeline with its planned funnel; Salesforce's standard stages (long
names, tests/data/crm/) with planned rates (tests/data/terminal/salesforce_planned.yaml);
HubSpot's default pipeline sliced by owner; the HubSpot example without a funnel file; the
Workshops export with its stage history compared with June; and the README's plan.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console

from funnelcli.render.console import Column, FittedTable, split_columns, table_width
from funnelcli.render.report_view import COMPARE_COLUMNS, STAGE_COLUMNS, TIME_COLUMNS

from ..conftest import DATA, ROOT
from ..figures import DASH_OR_BLANK, count, same_days, same_money
from ..figures import same_percent as _same_percent
from ..fixed_width import TextTable, read_tables
from ..processes import run_funnel

CRM = DATA / "crm"
WIDTHS = (80, 60)

REPORTS = {
    "maven": (
        "examples/maven_pipeline.csv",
        *("--funnel", "sample_funnels/maven_crm.yaml", "--as-of", "2017-12-31"),
    ),
    "salesforce": (
        str(CRM / "salesforce_default.csv"),
        *("--funnel", str(DATA / "terminal" / "salesforce_planned.yaml")),
        *("--as-of", "2026-12-01"),
    ),
    "hubspot_by_owner": (
        str(CRM / "hubspot_default.csv"),
        *("--funnel", str(CRM / "hubspot_default_funnel.yaml"), "--as-of", "2026-12-01"),
        *("--by", "Deal owner"),
    ),
    "inferred": ("examples/hubspot_deals.csv", "--as-of", "2026-12-01"),
    "history": (
        str(CRM / "history_deals.csv"),
        *("--funnel", str(CRM / "history_funnel.yaml"), "--as-of", "2026-12-01"),
        *("--history", str(CRM / "history_stages.csv"), "--compare-to", "2026-06-01"),
    ),
}
PLAN = (
    *("sample_funnels/b2b_saas.yaml", "--target", "1.2M", "--confidence", "90%"),
    *("--as-of", "2026-12-01", "--by", "2027-03-31", "--cost-per-lead", "45"),
)
FOOTNOTE = "Resolved conversion per stage"


def same_percent(text: str, value: float | None) -> bool:
    return _same_percent(text, value, DASH_OR_BLANK)  # a blank cell shows null too


def funnel(*args: str, columns: int | None) -> str:
    """stdout of ``funnel ARGS`` run with its output piped, ``COLUMNS`` set (or unset)."""
    env = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    result = run_funnel(*args, "-q", cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def as_json(*args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(funnel(*args, "--format", "json", columns=None))
    return data


@pytest.fixture(scope="module")
def shown() -> dict[tuple[str, int], str]:
    """Each report and the plan at each width, run once for the module."""
    texts = {}
    for width in WIDTHS:
        for name, args in REPORTS.items():
            texts[name, width] = funnel("report", *args, columns=width)
        texts["plan", width] = funnel("plan", *PLAN, columns=width)
    return texts


@pytest.fixture(scope="module")
def data() -> dict[str, dict[str, Any]]:
    found = {name: as_json("report", *args) for name, args in REPORTS.items()}
    return {**found, "plan": as_json("plan", *PLAN)}


# --- figures as shown ----------------------------------------------------------------------


def continued(text: str, title: str | None, continuation: str) -> list[TextTable]:
    """A table and the continuations that follow it (the stage table has no title)."""
    found = read_tables(text, ends=(FOOTNOTE,))
    first = next(
        index
        for index, table in enumerate(found)
        if table.title == title and table.headers[0] in ("Stage", "Segment")
    )
    parts = [found[first]]
    for table in found[first + 1 :]:
        if table.title != continuation:
            break
        parts.append(table)
    return parts


def joined(parts: list[TextTable], name: str) -> dict[str, str]:
    """A row's cells from every part, by header: each header in exactly one part."""
    cells: dict[str, str] = {}
    for part in parts:
        row = part.row(name)
        assert not (set(row) - {part.headers[0]}) & set(cells), row
        cells |= row
    return cells


# --- the rule, by hand ---------------------------------------------------------------------


def test_split_columns_moves_what_does_not_fit_and_drops_nothing() -> None:
    # A name 10 wide and figures 7, 5, 5, 4 wide, two cells apart: all of it is
    # 10 + 7 + 5 + 5 + 4 + 4 x 2 = 39 wide.
    widths = [10, 7, 5, 5, 4]
    assert table_width(widths) == 39
    assert split_columns(widths, 39) == [[1, 2, 3, 4]]
    # At 30: the rightmost columns move first (10 + 7 + 5 + 2 x 2 = 26 fits, with the
    # third figure 33 does not); the continuation holds the rest, in order.
    assert split_columns(widths, 30) == [[1, 2], [3, 4]]
    # Given up first: the second column (a group moves as one).
    assert split_columns(widths, 30, give_up=[[1, 2]]) == [[3, 4], [1, 2]]
    # So narrow that one figure a table: each still in a table of its own.
    assert split_columns(widths, 12) == [[1], [2], [3], [4]]


def test_a_long_name_wraps_whole_and_no_figure_moves_out_of_its_row() -> None:
    """At 30 cells a 24-cell name takes at most 10 and wraps at its spaces; the figures
    (7 + 8 wide, two cells apart: 10 + 7 + 8 + 4 = 29) stay whole, on the name's first line."""
    table = FittedTable(
        [Column("Stage", "left", folds=True), Column("Reached"), Column("Resolved")],
        [["Decision Maker Bought-In", "1,234", "63.2%"], ["Won", "9", "–"]],
        continued="Stages (continued)",
    )
    console = Console(width=30, file=io.StringIO(), no_color=True)
    with console.capture() as captured:
        console.print(table)
    lines = [line.rstrip() for line in captured.get().splitlines()]
    assert lines == [
        "Stage       Reached  Resolved",
        "─────────────────────────────",
        "Decision      1,234     63.2%",
        "Maker",
        "Bought-In",
        "Won               9         –",
    ]
    parts = read_tables(captured.get())
    assert [part.rows for part in parts] == [
        [["Decision Maker Bought-In", "1,234", "63.2%"], ["Won", "9", "–"]]
    ]


# --- the report ----------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", [*REPORTS, "plan"])
def test_no_line_is_wider_than_columns_and_nothing_is_cut(
    shown: dict[tuple[str, int], str], name: str, width: int
) -> None:
    text = shown[name, width]
    assert max(cell_len(line) for line in text.splitlines()) <= width
    assert "…" not in text and "..." not in text


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", REPORTS)
def test_every_stage_column_is_shown_and_equals_the_json(
    shown: dict[tuple[str, int], str], data: dict[str, dict[str, Any]], name: str, width: int
) -> None:
    report = data[name]
    planned = any(stage["planned_conversion"] is not None for stage in report["stages"])
    parts = continued(shown[name, width], None, "Stages (continued)")
    # Every column with figures is in one of the tables; Plan in the first, when planned.
    headers = [header for part in parts for header in part.headers[1:]]
    assert sorted(headers) == sorted(
        column for column in STAGE_COLUMNS[1:] if planned or column != "Plan"
    )
    assert ("Plan" in parts[0].headers) == planned
    assert [part.headers[0] for part in parts] == ["Stage"] * len(parts)
    for stage in report["stages"]:
        cells = joined(parts, stage["name"])
        assert count(cells["Reached"]) == stage["reached"]
        assert count(cells["Open"]) == stage["current"]
        assert count(cells["Lost"]) == stage["lost"]
        assert same_percent(cells["To next"], stage["conversion_to_next"]), cells
        assert same_percent(cells["Resolved"], stage["resolved_conversion"]), cells
        if planned:
            assert same_percent(cells["Plan"], stage["planned_conversion"]), cells
        assert same_percent(cells["Cum."], stage["cumulative_conversion"]), cells
        assert same_money(cells["Open value"], stage["open_value"]), cells
        assert same_days(cells["Days"], stage["median_days_in_stage"]), cells


def test_plan_stays_in_the_first_table_beside_resolved(
    shown: dict[tuple[str, int], str],
) -> None:
    """The Maven stage table is 85 cells wide: at 80 its last column moves, not Plan."""
    parts = continued(shown["maven", 80], None, "Stages (continued)")
    assert parts[0].headers == [*STAGE_COLUMNS[:-1]]
    assert [part.headers for part in parts[1:]] == [["Stage", "Days"]]
    first = parts[0].headers
    assert first.index("Plan") == first.index("Resolved") + 1


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["maven", "history", "inferred"])
def test_time_in_stage_columns_are_all_shown(
    shown: dict[tuple[str, int], str], data: dict[str, dict[str, Any]], name: str, width: int
) -> None:
    title = "Time in stage (days)"
    parts = continued(shown[name, width], title, "Time in stage (days; continued)")
    assert sorted(header for part in parts for header in part.headers[1:]) == sorted(
        TIME_COLUMNS[1:]
    )
    for stage in data[name]["stages"][:-1]:
        cells = joined(parts, stage["name"])
        assert same_days(cells["Median"], stage["median_days_in_stage"])
        assert same_days(cells["p75"], stage["p75_days_in_stage"])
        assert same_days(cells["p90"], stage["p90_days_in_stage"])
        assert count(cells["Still in"]) == stage["still_in_stage"]
        assert same_days(cells["Days before loss"], stage["median_days_before_loss"])
        assert count(cells["Skipped"]) == stage["skipped"]
        assert count(cells["Moved back"]) == stage["moved_back"]


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_columns_are_all_shown_each_change_beside_its_figure(
    shown: dict[tuple[str, int], str], data: dict[str, dict[str, Any]], width: int
) -> None:
    report = data["history"]
    compare = report["compare"]
    title = f"Then ({compare['as_of']}) and now ({report['as_of']})"
    found = read_tables(shown["history", width])
    parts = [table for table in found if table.title in (title, f"{title} (continued)")]
    headers = [header for part in parts for header in part.headers[1:]]
    assert sorted(headers) == sorted(COMPARE_COLUMNS[1:])
    for part in parts:  # Reached, Resolved, Days: each with its Change after it
        assert "Change" not in part.headers[1::2]
        assert part.headers[2::2] == ["Change"] * (len(part.headers) // 2)
    for stage in compare["stages"]:
        pairs: dict[str, tuple[str, str]] = {}  # a figure's header: (then -> now, change)
        for part in parts:
            row = next(row for row in part.rows if row[0] == stage["name"])
            for index in range(1, len(row), 2):
                pairs[part.headers[index]] = (row[index], row[index + 1])
        reached, change = pairs["Reached"]
        assert reached == f"{stage['reached_then']:,} -> {stage['reached']:,}"
        assert int(change) == stage["reached_change"]
        resolved, points = pairs["Resolved"]
        then, now = resolved.split(" -> ")
        assert same_percent(then, stage["resolved_conversion_then"])
        assert same_percent(now, stage["resolved_conversion"])
        if stage["resolved_conversion_change"] is not None:
            shown_points = float(points.removesuffix(" pp")) / 100
            assert abs(shown_points - stage["resolved_conversion_change"]) <= 0.0005 + 1e-9
        days, days_change = pairs["Days"]
        then, now = days.split(" -> ")
        assert same_days(then, stage["median_days_in_stage_then"])
        assert same_days(now, stage["median_days_in_stage"])
        assert same_days(days_change, stage["median_days_in_stage_change"])


@pytest.mark.parametrize("width", WIDTHS)
def test_every_segment_column_is_shown_and_equals_the_json(
    shown: dict[tuple[str, int], str], data: dict[str, dict[str, Any]], width: int
) -> None:
    """HubSpot's stage names head the segment columns: they wrap, and what does not fit
    continues below, led by the owner's name."""
    report = data["hubspot_by_owner"]
    title = f"By {report['segments']['by']}"
    parts = continued(shown["hubspot_by_owner", width], title, f"{title} (continued)")
    stages = report["stages"][:-1]
    headers = [header for part in parts for header in part.headers[1:]]
    assert sorted(headers) == sorted(
        ["Deals", "Win", "Bottleneck", *(stage["name"] for stage in stages)]
    )
    for row in report["segments"]["rows"]:
        cells = joined(parts, row["segment"])
        assert count(cells["Deals"]) == row["deals"]
        assert same_percent(cells["Win"], row["win_rate"])
        for stage, figures in zip(stages, row["stages"], strict=False):
            cell = cells[stage["name"]].removesuffix(" !").removesuffix("*")
            assert same_percent(cell, figures["resolved_conversion"]), cells
        assert cells["Bottleneck"] == (row["bottleneck"] or "–")


# --- the plan ------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_plan_tables_equal_the_json(
    shown: dict[tuple[str, int], str], data: dict[str, dict[str, Any]], width: int
) -> None:
    plan = data["plan"]
    found = read_tables(shown["plan", width])
    stages = [table for table in found if table.title in (None, "Stages (continued)")]
    for stage, confident in zip(plan["stages"], plan["confidence"]["stages"], strict=True):
        cells = joined(stages, stage["name"])
        assert count(cells["Needed"]) == stage["needed"]
        assert count(cells["At 90%"]) == confident["needed"]
        assert same_percent(cells["To next"], stage["conversion_to_next"])
        assert same_percent(cells["To won"], stage["cumulative_to_won"])
        assert cells["Enter by"] == stage["enter_by"]
    schedule = next(table for table in found if table.title == "Leads to add per month")
    assert schedule.rows == [
        [row["period"], row["start"], row["end"], f"{row['leads']:,}"]
        for row in plan["pacing"]["schedule"]
    ]
    sensitivity = next(table for table in found if table.title == "If one rate rose 5 points")
    for row in plan["sensitivity"]:
        cells = sensitivity.row(row["stage"])
        current, raised = cells["Rate"].split(" -> ")
        assert same_percent(current, row["current_rate"])
        assert same_percent(raised, row["raised_rate"])
        assert count(cells["Leads needed"]) == row["leads_needed"]
        assert count(cells["Saved"]) == row["leads_saved"]


# --- where the width comes from ------------------------------------------------------------


def test_piped_without_columns_is_80_wide() -> None:
    """No COLUMNS and no terminal on any stream (cron): Rich's 80 columns."""
    text = funnel("report", *REPORTS["maven"], columns=None)
    assert max(cell_len(line) for line in text.splitlines()) <= 80
    assert "Stages (continued)" in text  # the Maven stage table needs 85


def test_a_table_written_to_a_file_is_100_wide_or_columns(tmp_path: Any) -> None:
    wide = tmp_path / "wide.txt"
    funnel("report", *REPORTS["maven"], "--output", str(wide), columns=None)
    text = wide.read_text("utf-8")
    assert "Stages (continued)" not in text  # 85 cells fit in 100
    assert 80 < max(cell_len(line) for line in text.splitlines()) <= 100
    narrow = tmp_path / "narrow.txt"
    funnel("report", *REPORTS["maven"], "--output", str(narrow), columns=60)
    text = narrow.read_text("utf-8")
    assert "Stages (continued)" in text
    assert max(cell_len(line) for line in text.splitlines()) <= 60
