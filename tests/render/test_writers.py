"""The XLSX workbooks and HTML pages, and spreadsheet-formula neutralising in CSV and XLSX.

Every figure in a workbook is checked against the JSON dict of the same result, so the
two formats cannot drift apart. The inputs are tests/data/cli_report/small.csv (with
small.yaml) and a plan for the default funnel; the formula cases use a tiny export and
funnel written to tmp_path, whose ids, owners and stage names begin with = + - @.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from funnelcli.definition import default_funnel
from funnelcli.loading import load_funnel_file
from funnelcli.pacing import PacingRequest
from funnelcli.plan import Plan, make_plan
from funnelcli.readers.export import ReadOptions, report_export
from funnelcli.render.csv_md_plan import plan_csv
from funnelcli.render.csv_md_report import report_csv
from funnelcli.render.html_plan import plan_html
from funnelcli.render.html_report import report_html
from funnelcli.render.json_plan import plan_to_dict
from funnelcli.render.json_report import report_to_dict
from funnelcli.render.neutralise import neutralise, neutralise_cells
from funnelcli.render.xlsx_plan import plan_xlsx
from funnelcli.render.xlsx_report import report_xlsx
from funnelcli.results import ExportReport

from ..conftest import DATA
from ..html_dom import Dom

SMALL = str(DATA / "cli_report" / "small.csv")
SMALL_FUNNEL = str(DATA / "cli_report" / "small.yaml")
AS_OF = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return make_plan(
        default_funnel(),
        Decimal(1200000),
        confidence=Fraction(9, 10),
        cost_per_lead=Decimal(45),
        pacing=PacingRequest(deadline=dt.date(2025, 12, 31), as_of=dt.date(2025, 7, 1)),
    )


@pytest.fixture(scope="module")
def small() -> ExportReport:
    funnel = load_funnel_file(SMALL_FUNNEL).funnel
    return report_export(SMALL, funnel, as_of=AS_OF, options=ReadOptions())


def load(data: bytes, tmp_path: Path, name: str) -> Any:
    path = tmp_path / name
    path.write_bytes(data)
    return openpyxl.load_workbook(path)


def plain(value: object) -> object:
    """A cell's value as the JSON dict has it: dates as ISO text, numbers as Excel keeps them."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return excel(value)


def excel(value: object) -> object:
    """openpyxl writes floats to 16 significant digits and Excel keeps 15: compare at 15."""
    if isinstance(value, float):
        return float(f"{value:.15g}")
    return value


def excel_figures(figures: dict[str, object]) -> dict[object, object]:
    return {label: excel(value) for label, value in figures.items()}


def excel_rows(rows: list[list[object]]) -> list[list[object]]:
    return [[excel(value) for value in row] for row in rows]


def body(sheet: Any) -> list[list[object]]:
    """The rows under the header, up to the first blank row (the notes follow it)."""
    rows = []
    for row in sheet.iter_rows(min_row=2, values_only=True):
        if all(value is None for value in row):
            break
        rows.append([plain(value) for value in row])
    return rows


def summary(sheet: Any) -> dict[object, object]:
    return {label: value for label, value in body(sheet)}


def numbers_in(value: object) -> set[object]:
    """Every number in a JSON-like value."""
    if isinstance(value, bool):
        return set()
    if isinstance(value, int | float):
        return {excel(value)}
    if isinstance(value, dict):
        return set().union(*(numbers_in(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(numbers_in(item) for item in value))
    return set()


def sheet_numbers(workbook: Any) -> set[object]:
    return {
        excel(value)
        for sheet in workbook
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def assert_every_sheet_framed(workbook: Any) -> None:
    assert workbook.sheetnames[0] == "Summary"
    assert workbook.active.title == "Summary"
    for sheet in workbook:
        # The header row frozen (and, on a wide table, the stage names' column too).
        assert sheet.freeze_panes in ("A2", "B2"), sheet.title
        assert all(cell.font.b for cell in sheet[1]), sheet.title
        assert sheet.column_dimensions["A"].width >= 8, sheet.title
        assert sheet.print_title_rows == "$1:$1", sheet.title


def assert_funnel_chart(sheet: Any, column: str, stage_count: int) -> None:
    """The Summary's chart, of a column of the Stages sheet, beside the two figure columns."""
    assert sheet.title == "Summary"
    assert len(sheet._charts) == 1
    chart = sheet._charts[0]
    assert chart.tagname == "barChart"
    assert chart.type == "bar"
    # Anchored at D2 (openpyxl counts from 0): right of the label and value columns.
    assert (chart.anchor._from.col, chart.anchor._from.row) == (3, 1)
    series = chart.series[0]
    assert series.val.numRef.f == f"'Stages'!${column}$2:${column}${stage_count + 1}"
    categories = series.cat.numRef or series.cat.strRef
    assert categories.f == f"'Stages'!$A$2:$A${stage_count + 1}"


# --- neutralise ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","click")', '\'=HYPERLINK("http://x","click")'),
        ("+1", "'+1"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("  =1+1", "'  =1+1"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\tAna", "'\tAna"),
        ("\n@x", "'\n@x"),
        ("Ana", "Ana"),
        ("Acme - Renewal", "Acme - Renewal"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(value: str, expected: str) -> None:
    assert neutralise(value) == expected


def test_neutralise_cells_leaves_numbers_alone() -> None:
    cells = [-5, -0.25, Decimal("-1.5"), None, "-5", "Lead"]
    assert neutralise_cells(cells) == [-5, -0.25, Decimal("-1.5"), None, "'-5", "Lead"]


# --- the plan workbook --------------------------------------------------------------------


def test_plan_workbook_sheets_and_frames(plan: Plan, tmp_path: Path) -> None:
    workbook = load(plan_xlsx(plan, "built-in default"), tmp_path, "plan.xlsx")
    assert workbook.sheetnames == ["Summary", "Stages", "Schedule", "Sensitivity"]
    assert_every_sheet_framed(workbook)
    assert_funnel_chart(workbook["Summary"], "B", len(plan.stages))


def test_plan_workbook_without_pacing(tmp_path: Path) -> None:
    unpaced = make_plan(default_funnel(), Decimal(24000))
    workbook = load(plan_xlsx(unpaced, "built-in default"), tmp_path, "plan.xlsx")
    assert workbook.sheetnames == ["Summary", "Stages", "Sensitivity"]
    assert body(workbook["Stages"])[0][4:] == [None, None]


def test_plan_workbook_figures_match_the_json(plan: Plan, tmp_path: Path) -> None:
    data = plan_to_dict(plan, "built-in default")
    workbook = load(plan_xlsx(plan, "built-in default"), tmp_path, "plan.xlsx")
    confidence = data["confidence"]
    assert body(workbook["Stages"]) == excel_rows(
        [
            [
                stage["name"],
                stage["needed"],
                stage["conversion_to_next"],
                stage["cumulative_to_won"],
                at_confidence["needed"],
                stage["enter_by"],
            ]
            for stage, at_confidence in zip(data["stages"], confidence["stages"], strict=True)
        ]
    )
    pacing = data["pacing"]
    assert body(workbook["Schedule"]) == excel_rows(
        [[row["period"], row["start"], row["end"], row["leads"]] for row in pacing["schedule"]]
    )
    assert body(workbook["Sensitivity"]) == excel_rows(
        [
            [
                row["stage"],
                row["current_rate"],
                row["raised_rate"],
                row["leads_needed"],
                row["leads_saved"],
                row["budget_saved"],
            ]
            for row in data["sensitivity"]
        ]
    )
    budget = data["budget"]
    assert workbook["Summary"]["B1"].value == data["funnel"]
    figures = summary(workbook["Summary"])
    assert {label: figures[label] for label in PLAN_FIGURES} == excel_figures(
        {
            "Funnel file": "built-in default",
            "Target revenue (USD)": data["target_revenue"],
            "Average deal value (USD)": data["average_deal_value"],
            "Won deals needed": data["deals_needed"],
            "Leads needed": data["leads_needed"],
            "Confidence": confidence["level"],
            "Leads needed at confidence": confidence["leads_needed"],
            "Cost per lead (USD)": budget["cost_per_lead"],
            "Lead budget (USD)": budget["lead_budget"],
            "Cost per won deal (USD)": budget["cost_per_won_deal"],
            "Lead budget at confidence (USD)": budget["lead_budget_at_confidence"],
            "Deadline": pacing["deadline"],
            "As of": pacing["as_of"],
            "Cycle days": pacing["cycle_days"],
            "Leads enter from": pacing["window_start"],
            "Last lead entry": pacing["last_lead_entry"],
            "Window days": pacing["window_days"],
            "Leads per month": pacing["leads_per_period"],
            "Lever to pull first": data["lever"],
        }
    )
    assert sheet_numbers(workbook) <= numbers_in(data)


PLAN_FIGURES = (
    *("Funnel file", "Target revenue (USD)", "Average deal value (USD)", "Won deals needed"),
    *("Leads needed", "Confidence", "Leads needed at confidence", "Cost per lead (USD)"),
    *("Lead budget (USD)", "Cost per won deal (USD)", "Lead budget at confidence (USD)"),
    *("Deadline", "As of", "Cycle days", "Leads enter from", "Last lead entry"),
    *("Window days", "Leads per month", "Lever to pull first"),
)


def test_plan_workbook_number_formats(plan: Plan, tmp_path: Path) -> None:
    workbook = load(plan_xlsx(plan, "built-in default"), tmp_path, "plan.xlsx")
    stages = workbook["Stages"]
    assert [cell.number_format for cell in stages[2]] == [
        "General",
        "#,##0",
        "0.0%",
        "0.0%",
        "#,##0",
        "yyyy-mm-dd",
    ]
    figures = {row[0].value: row[1].number_format for row in workbook["Summary"].iter_rows()}
    assert figures["Target revenue (USD)"] == '"$"#,##0.00'
    assert figures["Confidence"] == "0.0%"
    assert figures["Won deals needed"] == "#,##0"
    assert workbook["Sensitivity"]["F2"].number_format == '"$"#,##0.00'


def test_plan_workbook_is_deterministic(plan: Plan) -> None:
    first = plan_xlsx(plan, "built-in default")
    assert plan_xlsx(plan, "built-in default") == first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {entry.date_time for entry in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "1980-01-01T00:00:00Z" in core


# --- the report workbook ------------------------------------------------------------------


def test_report_workbook_sheets_and_frames(small: ExportReport, tmp_path: Path) -> None:
    workbook = load(report_xlsx(small, SMALL_FUNNEL, SMALL), tmp_path, "report.xlsx")
    # small.csv dates no stage: no Time in stage sheet.
    assert workbook.sheetnames == ["Summary", "Stages", "Stale deals", "Rows"]
    assert_every_sheet_framed(workbook)
    assert_funnel_chart(workbook["Summary"], "B", len(small.report.stages))
    assert [cell.value for cell in workbook["Stages"][1]] == [
        "Stage",
        "Reached",
        "Open",
        "Lost",
        "Conversion to next",
        "Resolved conversion",
        "Planned conversion",
        "Cumulative conversion",
        "Open value",
        "Median days in stage",
        "Win probability",
    ]


def test_report_workbook_figures_match_the_json(small: ExportReport, tmp_path: Path) -> None:
    data = report_to_dict(small, SMALL_FUNNEL, SMALL)
    workbook = load(report_xlsx(small, SMALL_FUNNEL, SMALL), tmp_path, "report.xlsx")
    assert body(workbook["Stages"]) == excel_rows(
        [[stage[key] for key in REPORT_STAGE_KEYS] for stage in data["stages"]]
    )
    assert len(data["stale"]) == 3
    assert body(workbook["Stale deals"]) == excel_rows(
        [
            [
                deal["id"],
                deal["owner"],
                deal["stage"],
                deal["days"],
                deal["value"],
                deal["currency"],
            ]
            for deal in data["stale"]
        ]
    )
    assert workbook["Summary"]["B1"].value == data["funnel"]
    figures = summary(workbook["Summary"])
    assert {label: figures[label] for label in REPORT_FIGURES} == excel_figures(
        {
            "Funnel file": "small.yaml",
            "Export": "small.csv",
            "As of": "2025-06-30",
            "Won": data["won"]["count"],
            "Lost": data["lost"]["count"],
            "Lost at an unknown stage": data["lost"]["unknown_stage"],
            "Open": data["open"]["count"],
            "Open without an amount": data["open"]["without_amount"],
            "Win rate": data["win_rate"],
            "Won value (USD)": data["won"]["value"],
            "Lost value (USD)": data["lost"]["value"],
            "Average won value (USD)": data["average_won_value"],
            "Median won value (USD)": data["median_won_value"],
            "Open value (USD)": data["open"]["value"],
            "Weighted open value (USD)": data["open"]["weighted_value"],
            "Open deals weighted by": data["open"]["weighted_from"],
            "Median cycle days (won)": data["median_cycle_days"],
            "P90 cycle days (won)": data["p90_cycle_days"],
            "Sales velocity per day (USD)": data["sales_velocity_per_day"],
            "Rows read": data["rows"]["read"],
            "Rows used": data["rows"]["used"],
            "Rows skipped": data["rows"]["skipped"],
        }
    )
    # Every number is one of the JSON's, or the count of alerts fired (none here).
    assert sheet_numbers(workbook) <= numbers_in(data) | {0}


REPORT_STAGE_KEYS = (
    *("name", "reached", "current", "lost", "conversion_to_next", "resolved_conversion"),
    *("planned_conversion", "cumulative_conversion", "open_value", "median_days_in_stage"),
    "win_probability",
)
REPORT_FIGURES = (
    *("Funnel file", "Export", "As of", "Won", "Lost", "Lost at an unknown stage", "Open"),
    *("Open without an amount", "Win rate", "Won value (USD)", "Lost value (USD)"),
    *("Average won value (USD)", "Median won value (USD)", "Open value (USD)"),
    *("Weighted open value (USD)", "Open deals weighted by", "Median cycle days (won)"),
    *("P90 cycle days (won)", "Sales velocity per day (USD)", "Rows read", "Rows used"),
    "Rows skipped",
)


def test_report_workbook_notes_and_formats(small: ExportReport, tmp_path: Path) -> None:
    workbook = load(report_xlsx(small, SMALL_FUNNEL, SMALL), tmp_path, "report.xlsx")
    notes = {row[0]: row[1] for row in workbook["Summary"].iter_rows(values_only=True) if row[0]}
    # small.csv's lost deals carry no stage: no bottleneck can be found, and it says why.
    assert notes["Bottleneck"].startswith("None can be found. 3 lost deals have no stage")
    assert notes["Rows"] == "Rows: 13 read = 13 used + 0 skipped."
    stages = workbook["Stages"]
    formats = {
        key: cell.number_format for key, cell in zip(REPORT_STAGE_KEYS, stages[2], strict=True)
    }
    assert formats["reached"] == "#,##0"
    # resolved_conversion is empty for small.csv (its lost deals carry no stage): the
    # percent format is checked on conversion_to_next.
    assert formats["conversion_to_next"] == "0.0%"
    assert formats["open_value"] == '"$"#,##0.00'
    assert [cell.number_format for cell in workbook["Stale deals"][2]][3:5] == [
        "#,##0",
        '"$"#,##0.00',
    ]


def test_report_workbook_is_deterministic(small: ExportReport) -> None:
    assert report_xlsx(small, SMALL_FUNNEL, SMALL) == report_xlsx(small, SMALL_FUNNEL, SMALL)


# --- formulas from the CRM and the funnel file --------------------------------------------

INJECTED_FUNNEL = """\
name: "=Injected funnel"
currency: USD
average_deal_value: 1000
stages:
  - name: "=Lead"
    conversion: 50%
    days: 5
  - name: "-Demo"
    conversion: 50%
    days: 5
  - name: Won
lost: [Lost]
"""

# Every open deal is stale (older than 2 x 5 days); the Demo deal's amount is negative,
# so its stage's open value is a negative number we compute.
INJECTED_EXPORT = """\
id,stage,amount,created,closed,owner
"=HYPERLINK(""http://x"",""click"")",Demo,-500,2025-01-01,,-cmd
+1,Lead,1000,2025-02-01,,@SUM(A1)
-cmd,Lead,2000,2025-03-01,,"=1+1"
@SUM(A1),Lead,3000,2025-04-01,,+1
W1,Won,4000,2025-01-01,2025-03-01,Ana
"""

FORMULA_STARTS = ("=", "+", "-", "@")


@pytest.fixture
def injected(tmp_path: Path) -> ExportReport:
    (tmp_path / "funnel.yaml").write_text(INJECTED_FUNNEL, encoding="utf-8")
    (tmp_path / "export.csv").write_text(INJECTED_EXPORT, encoding="utf-8")
    funnel = load_funnel_file(str(tmp_path / "funnel.yaml")).funnel
    return report_export(str(tmp_path / "export.csv"), funnel, as_of=AS_OF, options=ReadOptions())


def test_report_csv_neutralises_stage_names_not_numbers(injected: ExportReport) -> None:
    rows = list(csv.reader(io.StringIO(report_csv(injected, "funnel.yaml", "export.csv"))))
    assert [row[0] for row in rows[1:]] == ["'=Lead", "'-Demo", "Won"]
    open_value = rows[0].index("open_value")
    assert rows[2][open_value] == "-500.0"


def test_plan_csv_neutralises_stage_names(tmp_path: Path) -> None:
    (tmp_path / "funnel.yaml").write_text(INJECTED_FUNNEL, encoding="utf-8")
    funnel = load_funnel_file(str(tmp_path / "funnel.yaml")).funnel
    rows = list(csv.reader(io.StringIO(plan_csv(make_plan(funnel, Decimal(10000))))))
    assert rows[1:] == [
        ["'=Lead", "40", "0.5", "0.25", "", ""],
        ["'-Demo", "20", "0.5", "0.5", "", ""],
        ["Won", "10", "", "1.0", "", ""],
    ]


def test_report_workbook_neutralises_crm_text(injected: ExportReport, tmp_path: Path) -> None:
    workbook = load(report_xlsx(injected, "funnel.yaml", "export.csv"), tmp_path, "report.xlsx")
    stale = body(workbook["Stale deals"])
    assert [row[:3] for row in stale] == [
        ['\'=HYPERLINK("http://x","click")', "'-cmd", "'-Demo"],
        ["'+1", "'@SUM(A1)", "'=Lead"],
        ["'-cmd", "'=1+1", "'=Lead"],
        ["'@SUM(A1)", "'+1", "'=Lead"],
    ]
    assert stale[0][4] == -500
    assert workbook["Summary"]["B1"].value == "'=Injected funnel"
    for sheet in workbook:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_STARTS), cell.value
    demo = workbook["Stages"][3]
    assert demo[0].value == "'-Demo"
    assert demo[REPORT_STAGE_KEYS.index("open_value")].value == -500
    assert demo[REPORT_STAGE_KEYS.index("open_value")].data_type == "n"


def test_plan_workbook_neutralises_funnel_text(tmp_path: Path) -> None:
    (tmp_path / "funnel.yaml").write_text(INJECTED_FUNNEL, encoding="utf-8")
    funnel = load_funnel_file(str(tmp_path / "funnel.yaml")).funnel
    plan = make_plan(funnel, Decimal(10000))
    workbook = load(plan_xlsx(plan, "funnel.yaml"), tmp_path, "plan.xlsx")
    assert [row[0] for row in body(workbook["Stages"])] == ["'=Lead", "'-Demo", "Won"]
    assert [row[0] for row in body(workbook["Sensitivity"])] == ["'=Lead", "'-Demo"]


def test_workbook_replaces_control_characters(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("id,stage,amount,created,owner\nD1,Lead,10,2025-01-01,A\x07na\n")
    funnel = load_funnel_file(SMALL_FUNNEL).funnel
    result = report_export(str(export), funnel, as_of=AS_OF, options=ReadOptions())
    workbook = load(report_xlsx(result, SMALL_FUNNEL, str(export)), tmp_path, "report.xlsx")
    assert body(workbook["Stale deals"])[0][1] == "A\ufffdna"


# --- HTML ---------------------------------------------------------------------------------


def test_plan_html_is_one_page_with_title_and_stages(plan: Plan) -> None:
    html = plan_html(plan._replace(funnel="B2B {SaaS} & co"), "built-in default")
    page = Dom(html)
    assert page.title == "Plan: B2B {SaaS} & co"
    assert "<title>Plan: B2B {SaaS} &amp; co</title>" in html
    for stage in plan.stages:
        assert stage.name in page.text
    assert {"link", "script", "img"}.isdisjoint(page.tags())
    assert "http:" not in html.replace("http://www.w3.org/2000/svg", "")  # no external assets
    assert "svg" in page.tags()  # the funnel drawn, not only listed


def test_report_html_escapes_crm_text(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "id,stage,amount,created,owner\n"
        "D1,Lead,10,2025-01-01,<script>alert(1)</script>\n"
        "D2,Lead,10,2025-01-01,[link=javascript:alert(2)]x[/link]\n"
        "D3,Demo,10,2025-01-01,A\x1b[2Jna\n"
    )
    funnel = load_funnel_file(SMALL_FUNNEL).funnel
    result = report_export(str(export), funnel, as_of=AS_OF, options=ReadOptions())
    html = report_html(result, SMALL_FUNNEL, str(export))
    page = Dom(html)
    assert "script" not in page.tags()
    assert "a" not in page.tags()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" in page.text
    assert "[link=javascript:alert(2)]x[/link]" in page.text
    assert "A[2Jna" in page.text  # the escape character dropped, as on a terminal
    assert "\x1b" not in html
    for stage in ("Lead", "Demo", "Proposal", "Won"):
        assert stage in page.text
