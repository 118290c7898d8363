"""The workbooks as a person opens them (render/xlsx.py, xlsx_report.py, xlsx_plan.py).

Each case runs the real CLI twice, ``--format json`` and ``--output <tmp>/NAME.xlsx``, with
absolute paths to its inputs: the Maven report (a funnel file), the HubSpot report (no
funnel file: stages inferred), a Salesforce report with a stage history and
``--compare-to``, the injection export of tests/data/forward (names that are formulas,
script or Markdown, with --by and --cohort), and two plans. Then:

- LibreOffice converts every workbook to a non-empty PDF (no repair, no crash), and leaves
  no process behind;
- the workbook opens on its Summary, whose headline rows and chart fit a 1280x800 window;
- every headline figure, stage row, schedule and sensitivity row equals the JSON's, the
  expected values written here from the JSON by hand (names of files, dates, quoting);
- CRM text is a text cell, never a formula, and no machine path is anywhere in the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml

from funnelcli.render.xlsx import money_format

from ..conftest import DATA, ROOT
from ..processes import group_members, run_funnel, started
from ..tools import require_program

FORWARD = DATA / "forward"
CASES = DATA / "history_cli_cases"
B2B = str(ROOT / "sample_funnels" / "b2b_saas.yaml")

RUNS: dict[str, tuple[str, ...]] = {
    "maven": (
        *("report", str(ROOT / "examples" / "maven_pipeline.csv")),
        *("--funnel", str(ROOT / "sample_funnels" / "maven_crm.yaml"), "--as-of", "2017-12-31"),
    ),
    "hubspot": ("report", str(ROOT / "examples" / "hubspot_deals.csv"), "--as-of", "2026-12-01"),
    "history": (
        *("report", str(CASES / "salesforce_deals.csv")),
        *("--funnel", str(CASES / "salesforce_funnel.yaml")),
        *("--history", str(CASES / "salesforce_history.csv")),
        *("--as-of", "2025-06-30", "--compare-to", "2025-03-15"),
    ),
    "injection": (
        *("report", str(FORWARD / "injection.csv"), "--funnel", str(FORWARD / "injection.yaml")),
        *("--as-of", "2026-12-01", "--by", "Deal owner", "--cohort", "month"),
    ),
    "plan": (
        *("plan", B2B, "--target", "1.2M", "--confidence", "90%", "--as-of", "2026-12-01"),
        *("--by", "2027-03-31", "--cost-per-lead", "45"),
    ),
    "injection_plan": (
        *("plan", str(FORWARD / "injection.yaml"), "--target", "100k"),
        *("--as-of", "2026-12-01", "--by", "2027-03-31", "--cost-per-lead", "10"),
    ),
}
REPORTS = ("maven", "hubspot", "history", "injection")
PLANS = ("plan", "injection_plan")

FORMULA_STARTS = ("=", "+", "-", "@")
MONEY_USD = '"$"#,##0.00'
PERCENT = "0.0%"
COUNT = "#,##0"
DAYS = "#,##0.0"


@dataclass(frozen=True)
class Made:
    """One case's workbook and the JSON of the same command."""

    path: Path
    data: dict[str, Any]

    def workbook(self) -> Any:
        return openpyxl.load_workbook(self.path)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Made]:
    folder = tmp_path_factory.mktemp("workbooks")
    cases = {}
    for name, args in RUNS.items():
        path = folder / f"{name}.xlsx"
        written = run_funnel(*args, "--output", str(path))
        assert written.returncode == 0, written.stderr
        shown = run_funnel(*args, "--format", "json")
        assert shown.returncode == 0, shown.stderr
        cases[name] = Made(path, json.loads(shown.stdout))
    return cases


def date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def excel(value: object) -> object:
    """A cell as the JSON has it: datetimes as dates; floats at the 16 significant digits
    openpyxl writes (a JSON float read back from the file is this)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, float):
        return float(f"{value:.16g}")
    return value


def quoted(text: str | None) -> str | None:
    """CRM text as a cell holds it: a leading quote where a spreadsheet would see a formula."""
    return "'" + text if text and text.startswith(FORMULA_STARTS) else text


def figures(workbook: Any) -> dict[str, Any]:
    """The Summary's label -> value cell, from row 2 to the first empty row."""
    cells = {}
    for label, value in workbook["Summary"].iter_rows(min_row=2, max_col=2):
        if label.value is None and value.value is None:
            break
        cells[label.value] = value
    return cells


def table(sheet: Any) -> list[list[object]]:
    """A table sheet's rows under its header, each cell as the JSON has it."""
    return [[excel(value) for value in row] for row in sheet.iter_rows(min_row=2, values_only=True)]


def assert_figures(cells: dict[str, Any], expected: dict[str, tuple[object, str | None]]) -> None:
    """Each label's value equals the JSON's and shows in its number format (None: text)."""
    for label, (value, number_format) in expected.items():
        cell = cells[label]
        assert excel(cell.value) == excel(value), label
        if number_format is not None and value is not None:
            assert cell.data_type in ("n", "d"), label  # a number to compute with, not text
            assert cell.number_format == number_format, label


# --- LibreOffice opens every workbook -----------------------------------------------------


def test_libreoffice_converts_every_workbook(made: dict[str, Made], tmp_path: Path) -> None:
    """One soffice run converts them all (it starts slowly); a timeout, and its process
    group killed afterwards even when it fails, so no soffice outlives the test."""
    soffice = require_program("soffice")
    command = [
        soffice,
        f"-env:UserInstallation=file://{tmp_path}/lo-profile",
        *("--headless", "--convert-to", "pdf", "--outdir", str(tmp_path)),
        *(str(case.path) for case in made.values()),
    ]
    with started(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        group = process.pid
        stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr.decode("utf-8", "replace")
    assert group_members(group) == []
    for name in made:
        pdf = tmp_path / f"{name}.pdf"
        assert pdf.is_file(), (name, stdout, stderr)
        content = pdf.read_bytes()
        assert content.startswith(b"%PDF") and len(content) > 1000, name


# --- the Summary: first, and its chart in view ------------------------------------------

WINDOW = (1280, 800)
GRID_IN_VIEW = (1280 - 60, 800 - 300)
"""The cells a 1280x800 Excel window shows at 100%: less the row numbers and scroll bar
across, the title, ribbon, formula bar, column letters, sheet tabs and status bar down."""


def column_pixels(sheet: Any, letter: str) -> int:
    """Excel's pixels for a column of ``width`` characters (7-pixel digits, 5 of padding)."""
    width = sheet.column_dimensions[letter].width or 8.43
    return int(width * 7 + 5)


def row_pixels(sheet: Any, row: int) -> float:
    height = sheet.row_dimensions[row].height or 15  # points; the default row is 15
    return float(height) * 4 / 3


@pytest.mark.parametrize("name", [*REPORTS, *PLANS])
def test_the_summary_opens_first_with_its_chart_in_view(made: dict[str, Made], name: str) -> None:
    workbook = made[name].workbook()
    assert workbook.sheetnames[0] == "Summary"
    assert workbook.active.title == "Summary"
    summary = workbook["Summary"]
    assert len(summary._charts) == 1
    chart = summary._charts[0]
    anchor = chart.anchor._from
    assert (anchor.col, anchor.row) == (3, 1)  # D2: beside the label and value columns
    left = sum(column_pixels(summary, letter) for letter in "ABC")
    top = row_pixels(summary, 1)
    centimetre = 96 / 2.54
    assert left + chart.width * centimetre <= GRID_IN_VIEW[0]
    assert top + chart.height * centimetre <= GRID_IN_VIEW[1]
    # The headline is in view too: its rows down to the funnel's provenance (a report) or
    # the funnel file (a plan) fit the window's height.
    last = "Stages and order from" if name in REPORTS else "Funnel file"
    last_row = figures(workbook)[last].row
    assert sum(row_pixels(summary, row) for row in range(1, last_row + 1)) <= GRID_IN_VIEW[1]
    # The chart draws the funnel's counts from the Stages sheet: reached, or needed.
    stages = len(made[name].data["stages"])
    assert chart.series[0].val.numRef.f == f"'Stages'!$B$2:$B${stages + 1}"
    assert [cell.value for cell in workbook["Stages"][1][:2]] in (
        ["Stage", "Reached"],
        ["Stage", "Needed"],
    )


@pytest.mark.parametrize("name", [*REPORTS, *PLANS])
def test_every_table_has_a_frozen_header_and_prints_whole(made: dict[str, Made], name: str) -> None:
    for sheet in made[name].workbook():
        assert sheet.freeze_panes in ("A2", "B2"), sheet.title
        assert sheet.print_title_rows == "$1:$1", sheet.title
        assert sheet.print_area, sheet.title
        if sheet.max_column > 7 or sheet.title == "Summary":
            assert sheet.page_setup.orientation == "landscape", sheet.title
            assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
            assert sheet.page_setup.fitToWidth == 1, sheet.title


# --- the report's figures equal the JSON's -------------------------------------------------

EXPORT_NAMES = {
    "maven": "maven_pipeline.csv",
    "hubspot": "hubspot_deals.csv",
    "history": "salesforce_deals.csv",
    "injection": "injection.csv",
}
FUNNEL_NAMES = {
    "maven": "maven_crm.yaml",
    "hubspot": "none: built from the export",
    "history": "salesforce_funnel.yaml",
    "injection": "injection.yaml",
}


@pytest.mark.parametrize("name", REPORTS)
def test_report_headline_equals_the_json(made: dict[str, Made], name: str) -> None:
    data = made[name].data
    workbook = made[name].workbook()
    assert workbook["Summary"]["B1"].value == quoted(data["funnel"])
    cells = figures(workbook)
    expected: dict[str, tuple[object, str | None]] = {
        "Won": (data["won"]["count"], COUNT),
        "Win rate": (data["win_rate"], PERCENT),
        "Won value (USD)": (data["won"]["value"], MONEY_USD),
        "Open value (USD)": (data["open"]["value"], MONEY_USD),
        "Weighted open value (USD)": (data["open"]["weighted_value"], MONEY_USD),
        "Median cycle days (won)": (data["median_cycle_days"], DAYS),
        "Sales velocity per day (USD)": (data["sales_velocity_per_day"], MONEY_USD),
        "As of": (date(data["as_of"]), "yyyy-mm-dd"),
        "Export": (EXPORT_NAMES[name], None),
        "Funnel file": (FUNNEL_NAMES[name], None),
        "Stages and order from": (data["funnel_evidence"] or "the funnel file", None),
        "Lost": (data["lost"]["count"], COUNT),
        "Open": (data["open"]["count"], COUNT),
        "Rows read": (data["rows"]["read"], COUNT),
        "Rows used": (data["rows"]["used"], COUNT),
        "Rows skipped": (data["rows"]["skipped"], COUNT),
        "Stale deals": (data["stale_count"], COUNT),
    }
    assert_figures(cells, expected)
    # Under a tenth of the rows skipped in each: no warning row on top.
    assert data["rows"]["skipped"] * 10 <= data["rows"]["read"]
    assert workbook["Summary"]["A2"].value == "Won"
    assert isinstance(cells["Bottleneck"].value, str)


def test_maven_bottleneck_sentence_has_the_json_figures(made: dict[str, Made]) -> None:
    data = made["maven"].data
    top = data["bottlenecks"][0]
    sentence = figures(made["maven"].workbook())["Bottleneck"].value
    impact = f"${round(top['revenue_impact']):,}"
    assert sentence.startswith(
        f"{top['stage']} to {top['next_stage']} converts {top['actual']:.1%} "
        f"against {top['planned']:.0%} planned"
    ), sentence
    assert f"about {impact} lost" in sentence, sentence


STAGE_KEYS = (
    *("name", "reached", "current", "lost", "conversion_to_next", "resolved_conversion"),
    *("planned_conversion", "cumulative_conversion", "open_value", "median_days_in_stage"),
    "win_probability",
)
TIME_KEYS = (
    *("name", "median_days_in_stage", "p75_days_in_stage", "p90_days_in_stage"),
    *("still_in_stage", "median_days_before_loss", "skipped", "moved_back"),
)


@pytest.mark.parametrize("name", REPORTS)
def test_report_stage_rows_equal_the_json(made: dict[str, Made], name: str) -> None:
    data = made[name].data
    workbook = made[name].workbook()
    quote = {"name": quoted}
    assert table(workbook["Stages"]) == [
        [excel(quote.get(key, lambda value: value)(stage[key])) for key in STAGE_KEYS]
        for stage in data["stages"]
    ]
    stages = workbook["Stages"]
    assert [stages.cell(2, column).number_format for column in (2, 5, 9)] == [
        COUNT,
        PERCENT,
        MONEY_USD,
    ]
    if "Time in stage" in workbook.sheetnames:
        assert table(workbook["Time in stage"]) == [
            [excel(quoted(stage[key]) if key == "name" else stage[key]) for key in TIME_KEYS]
            for stage in data["stages"]
        ]
    stale = table(workbook["Stale deals"])
    assert stale == [
        [
            quoted(deal["id"]),
            quoted(deal["owner"]),
            quoted(deal["stage"]),
            deal["days"],
            excel(deal["value"]),
            deal["currency"],
        ]
        for deal in data["stale"]
    ]
    rows = {row[0]: row[1] for row in table(workbook["Rows"])}
    counts = data["rows"]
    assert (rows["Read"], rows["Used"], rows["Skipped"]) == (
        counts["read"],
        counts["used"],
        counts["skipped"],
    )
    assert rows["Read"] == rows["Used"] + rows["Skipped"] + rows["Filtered out"]


def test_hubspot_rows_sheet_names_each_skip_reason(made: dict[str, Made]) -> None:
    rows = {row[0]: row[1] for row in table(made["hubspot"].workbook()["Rows"])}
    # examples/hubspot_deals.csv: rows 9 and 17 have the stage label 'test'.
    assert rows["Skipped: unknown stage label"] == 2
    assert rows["Share of rows read skipped"] == pytest.approx(2 / 26)


def test_compare_sheet_equals_the_json(made: dict[str, Made]) -> None:
    data = made["history"].data
    compare = data["compare"]
    workbook = made["history"].workbook()
    assert workbook.sheetnames == [
        *("Summary", "Stages", "Time in stage", "Stale deals", "Compare", "Rows")
    ]
    rows = table(workbook["Compare"])
    assert rows[:-1] == [
        [
            stage["name"],
            stage["reached_then"],
            stage["reached"],
            stage["reached"] - stage["reached_then"],
            excel(stage["resolved_conversion_then"]),
            excel(stage["resolved_conversion"]),
            excel(stage["resolved_conversion_change"]),
            excel(stage["median_days_in_stage_then"]),
            excel(stage["median_days_in_stage"]),
            excel(stage["median_days_in_stage_change"]),
        ]
        for stage in compare["stages"]
    ]
    win = compare["win_rate"]
    assert rows[-1][:1] + rows[-1][4:7] == ["Win rate", win["then"], win["now"], win["change"]]
    assert workbook["Compare"]["G2"].number_format == "+0.0%;-0.0%;0.0%"
    cells = figures(workbook)
    assert excel(cells["Compared with"].value) == date(compare["as_of"])
    history = cells["History"].value
    assert history.startswith("History: salesforce_history.csv (")


def test_segments_and_cohorts_equal_the_json(made: dict[str, Made]) -> None:
    data = made["injection"].data
    workbook = made["injection"].workbook()
    assert table(workbook["Segments"]) == [
        [
            quoted(row["segment"]),
            quoted(stage["name"]),
            stage["reached"],
            excel(stage["resolved_conversion"]),
            stage["judged"],
            stage["worst"],
        ]
        for row in data["segments"]["rows"]
        for stage in row["stages"]
    ]
    assert [row[0] for row in table(workbook["Cohorts"])] == [
        row["cohort"] for row in data["cohorts"]["rows"] for _ in row["stages"]
    ]


# --- the plan's figures equal the JSON's ---------------------------------------------------


@pytest.mark.parametrize("name", PLANS)
def test_plan_headline_and_tables_equal_the_json(made: dict[str, Made], name: str) -> None:
    data = made[name].data
    workbook = made[name].workbook()
    assert workbook.sheetnames == ["Summary", "Stages", "Schedule", "Sensitivity"]
    assert workbook["Summary"]["B1"].value == quoted(data["funnel"])
    budget, pacing = data["budget"], data["pacing"]
    expected: dict[str, tuple[object, str | None]] = {
        "Target revenue (USD)": (data["target_revenue"], MONEY_USD),
        "Won deals needed": (data["deals_needed"], COUNT),
        "Leads needed": (data["leads_needed"], COUNT),
        "Lead budget (USD)": (budget["lead_budget"], MONEY_USD),
        "Lever to pull first": (quoted(data["lever"]), None),
        "As of": (date(pacing["as_of"]), "yyyy-mm-dd"),
        "Deadline": (date(pacing["deadline"]), "yyyy-mm-dd"),
        "Funnel file": (Path(RUNS[name][1]).name, None),
        "Cost per lead (USD)": (budget["cost_per_lead"], MONEY_USD),
    }
    if data["confidence"]:
        expected |= {
            "Confidence": (data["confidence"]["level"], PERCENT),
            "Leads needed at confidence": (data["confidence"]["leads_needed"], COUNT),
            "Lead budget at confidence (USD)": (budget["lead_budget_at_confidence"], MONEY_USD),
        }
    assert_figures(figures(workbook), expected)
    at_confidence = (
        [stage["needed"] for stage in data["confidence"]["stages"]]
        if data["confidence"]
        else [None] * len(data["stages"])
    )
    assert table(workbook["Stages"]) == [
        [
            quoted(stage["name"]),
            stage["needed"],
            excel(stage["conversion_to_next"]),
            excel(stage["cumulative_to_won"]),
            needed,
            date(stage["enter_by"]),
        ]
        for stage, needed in zip(data["stages"], at_confidence, strict=True)
    ]
    schedule = table(workbook["Schedule"])
    assert schedule == [
        [row["period"], date(row["start"]), date(row["end"]), row["leads"]]
        for row in pacing["schedule"]
    ]
    assert sum(row[3] for row in schedule) == pacing["leads"]  # type: ignore[misc]
    assert table(workbook["Sensitivity"]) == [
        [
            quoted(row["stage"]),
            excel(row["current_rate"]),
            excel(row["raised_rate"]),
            row["leads_needed"],
            row["leads_saved"],
            excel(row["budget_saved"]),
        ]
        for row in data["sensitivity"]
    ]
    assert workbook["Sensitivity"]["F2"].number_format == MONEY_USD


# --- CRM text is text; no path of this machine --------------------------------------------


def crm_strings() -> set[str]:
    """Every deal name, stage label and owner of the injection export, and the funnel's
    stage and funnel names, read here from the files themselves."""
    with (FORWARD / "injection.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    strings = {row[key] for row in rows for key in ("Deal Name", "Deal Stage", "Deal owner")}
    funnel = yaml.safe_load((FORWARD / "injection.yaml").read_text(encoding="utf-8"))
    return strings | {funnel["name"]} | {stage["name"] for stage in funnel["stages"]}


@pytest.mark.parametrize("name", ["injection", "injection_plan"])
def test_crm_text_is_stored_as_text_never_a_formula(made: dict[str, Made], name: str) -> None:
    strings = crm_strings()
    assert any(text.startswith(FORMULA_STARTS) for text in strings)
    found = set()
    for sheet in made[name].workbook():
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate)
                if not isinstance(cell.value, str):
                    continue
                assert cell.data_type == "s", (sheet.title, cell.coordinate)
                assert not cell.value.startswith(FORMULA_STARTS), (sheet.title, cell.value)
                original = cell.value.removeprefix("'")
                if original in strings:
                    assert cell.value == quoted(original)
                    found.add(original)
    # The funnel's stage names and name are in both workbooks; the report has the deals too.
    assert any(text.startswith("=HYPERLINK") for text in found)
    assert any("<script>" in text for text in found)


@pytest.mark.parametrize("name", [*REPORTS, *PLANS])
def test_no_path_of_this_machine_in_the_workbook(made: dict[str, Made], name: str) -> None:
    folders = {str(ROOT), str(made[name].path.parent), str(Path.home()) + "/"}
    with zipfile.ZipFile(made[name].path) as archive:
        for entry in archive.namelist():
            text = archive.read(entry).decode("utf-8")
            for folder in folders:
                assert folder not in text, (entry, folder)


# --- money in the funnel's currency ---------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "expected"),
    [
        ("USD", '"$"#,##0.00'),
        ("EUR", '"€"#,##0.00'),
        ("GBP", '"£"#,##0.00'),
        ("SEK", '#,##0.00 "SEK"'),
        (None, "#,##0.00"),
        # Not a currency code: nothing of it goes into the format (a quote would break it).
        ('U"S', "#,##0.00"),
        ("usd", "#,##0.00"),
    ],
)
def test_money_format(currency: str | None, expected: str) -> None:
    assert money_format(currency) == expected


def test_each_currency_of_a_mixed_export_in_its_own_format(tmp_path: Path) -> None:
    export = str(DATA / "exports" / "pipedrive_multicurrency.csv")
    args = ("report", export, "--as-of", "2026-12-01")
    path = tmp_path / "mixed.xlsx"
    assert run_funnel(*args, "--output", str(path)).returncode == 0
    data = json.loads(run_funnel(*args, "--format", "json").stdout)
    assert data["currency"] is None  # no fx: rates, so no figure sums EUR and USD
    cells = figures(openpyxl.load_workbook(path))
    for code, symbol in (("EUR", "€"), ("USD", "$")):
        money = f'"{symbol}"#,##0.00'
        by_currency = data["by_currency"][code]
        assert_figures(
            cells,
            {
                f"Won value ({code})": (by_currency["won_value"], money),
                f"Open value ({code})": (by_currency["open_value"], money),
                f"Weighted open value ({code})": (by_currency["weighted_open_value"], money),
            },
        )
    assert "Won value" not in " ".join(label for label in cells if "(" not in label)


def test_a_late_plan_says_so_in_red_and_has_no_schedule(tmp_path: Path) -> None:
    args = ("plan", B2B, "--target", "1.2M", "--as-of", "2027-03-01", "--by", "2027-03-31")
    path = tmp_path / "late.xlsx"
    assert run_funnel(*args, "--output", str(path)).returncode == 1  # too late: the alert
    data = json.loads(run_funnel(*args, "--format", "json").stdout)
    assert data["pacing"]["feasible"] is False
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Summary", "Stages", "Sensitivity"]
    pacing = figures(workbook)["Pacing"]
    assert pacing.value.startswith(f"Too late for {data['pacing']['deadline']}")
    assert pacing.font.b and pacing.font.color.rgb == "00C00000"
