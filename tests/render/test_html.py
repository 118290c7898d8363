"""The HTML pages of report and plan, read back with html.parser (tests/html_dom.py).

Each figure on a page is compared with the JSON of the same command (``--format json``),
converting the page's text by hand ("$1,234" -> 1234, "63.2%" -> 0.632 at the places
shown). Also: CRM text is text (tests/data/forward/injection.*), no path of the machine
is shown, the page is self-contained and accessible, SOURCE_DATE_EPOCH pins the date,
and the terminal's width changes nothing.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from funnelcli.cli import app
from funnelcli.render.html import Card, card_rows, cards_from, generated_at, short
from funnelcli.render.neutralise import forwarded_name
from funnelcli.render.svg import funnel_chart

from ..conftest import DATA, ROOT
from ..figures import DASH_OR_BLANK, count, same_days, same_money
from ..figures import same_percent as _same_percent
from ..html_dom import Dom, Table
from ..processes import run as run_process

MAVEN = ("report", str(ROOT / "examples" / "maven_pipeline.csv"))
MAVEN_ARGS = (*MAVEN, "--funnel", str(ROOT / "sample_funnels" / "maven_crm.yaml"))
REPORT = (*MAVEN_ARGS, "--as-of", "2017-12-31")
SLICED = (
    *(*REPORT, "--by", "sales_agent", "--cohort", "quarter", "--since", "2017-01-01"),
    *("--fail-below", "Engaging=65%"),
)
CASES = DATA / "history_cli_cases"
COMPARED = (
    *("report", str(CASES / "salesforce_deals.csv"), "--funnel"),
    *(str(CASES / "salesforce_funnel.yaml"), "--history", str(CASES / "salesforce_history.csv")),
    *("--as-of", "2025-06-30", "--compare-to", "2025-03-15"),
)
HUBSPOT = ("report", str(ROOT / "examples" / "hubspot_deals.csv"), "--as-of", "2026-12-01")
INJECTION = (
    *("report", str(DATA / "forward" / "injection.csv")),
    *("--funnel", str(DATA / "forward" / "injection.yaml"), "--as-of", "2026-07-01"),
)
PLAN = (
    *("plan", str(ROOT / "sample_funnels" / "b2b_saas.yaml"), "--target", "1.2M"),
    *("--confidence", "90%", "--as-of", "2026-12-01", "--by", "2027-03-31"),
    *("--cost-per-lead", "45"),
)
SKIPPED = (
    *("report", str(DATA / "fit" / "one_of_four_skipped.csv")),
    *("--funnel", str(DATA / "fit" / "hubspot_ids.yaml"), "--as-of", "2026-12-01"),
)
CREDIT = (
    *("plan", "--target", "900k", "--as-of", "2026-12-01"),
    *("--credit-pipeline", str(ROOT / "examples" / "hubspot_deals.csv")),
)
RUNS = {
    "report": REPORT,
    "skipped": SKIPPED,
    "credit": CREDIT,
    "sliced": SLICED,
    "hubspot": HUBSPOT,
    "injection": INJECTION,
    "compared": COMPARED,
    "plan": PLAN,
}
EXIT_CODES = {"sliced": 1}  # its --fail-below alert fires; the page is still written

EPOCH = "1796083200"
# 2026-12-01 00:00 UTC by hand: 56 years from 1970 with 14 leap days (1972..2024) are
# 20,454 days, January to November 2026 334 more: 20,788 days x 86,400 s.
EPOCH_SHOWN = "2026-12-01 00:00 UTC"

INJECTED = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')

runner = CliRunner()


def same_percent(text: str, value: float | None) -> bool:
    return _same_percent(text, value, DASH_OR_BLANK)  # a blank cell shows null too


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), prog_name="funnel")
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def pages() -> dict[str, tuple[str, dict[str, Any]]]:
    """Each run's page (with SOURCE_DATE_EPOCH) and its JSON."""
    made = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        patch.setenv("COLUMNS", "80")
        for name, args in RUNS.items():
            code, html, stderr = invoke(*args, "--format", "html")
            assert code == EXIT_CODES.get(name, 0), stderr
            code, text, stderr = invoke(*args, "--format", "json")
            assert code == EXIT_CODES.get(name, 0), stderr
            made[name] = (html, json.loads(text))
    return made


# --- the report's figures against its JSON ------------------------------------------------


REPORTS = ["report", "sliced", "hubspot", "compared"]


@pytest.mark.parametrize("name", REPORTS)
def test_report_stage_table_equals_the_json(
    pages: dict[str, tuple[str, dict[str, Any]]], name: str
) -> None:
    html, data = pages[name]
    table = Dom(html).table("Stages")
    has_plan = any(stage["planned_conversion"] is not None for stage in data["stages"])
    assert [row[0].text for row in table.rows] == [stage["name"] for stage in data["stages"]]
    assert ("Plan" in [cell.text for cell in table.header]) == has_plan
    for stage in data["stages"]:
        cells = dict(
            zip([cell.text for cell in table.header], table.row(stage["name"]), strict=True)
        )
        cell = cells.__getitem__
        assert count(cell("Reached").text) == stage["reached"]
        assert count(cell("Open").text) == stage["current"]
        assert count(cell("Lost").text) == stage["lost"]
        assert same_percent(cell("To next").text, stage["conversion_to_next"])
        assert same_percent(cell("Resolved").text, stage["resolved_conversion"])
        assert same_percent(cell("Cum.").text, stage["cumulative_conversion"])
        assert same_money(cell("Open value").text, stage["open_value"])
        assert same_days(cell("Days").text, stage["median_days_in_stage"])
        below = (
            stage["planned_conversion"] is not None
            and stage["resolved_conversion"] is not None
            and stage["resolved_conversion"] < stage["planned_conversion"]
        )
        assert cell("Resolved").mark == ("▼ (below plan)" if below else "")
        if has_plan:
            assert same_percent(cell("Plan").text, stage["planned_conversion"])


def test_the_maven_report_marks_engaging_below_plan(
    pages: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    """2,473 lost at Engaging: 4,238 / (8,300 - 1,589) = 63.2% against 70% planned."""
    dom = Dom(pages["report"][0])
    table = dom.table("Stages")
    assert table.cell("Engaging", "Resolved").text == "63.2%"
    assert table.cell("Engaging", "Resolved").mark == "▼ (below plan)"
    assert table.cell("Prospecting", "Resolved").mark == ""
    assert "▼ below plan: the stage's resolved conversion is under its planned rate" in dom.text


@pytest.mark.parametrize("name", REPORTS)
def test_report_cards_equal_the_json(
    pages: dict[str, tuple[str, dict[str, Any]]], name: str
) -> None:
    html, data = pages[name]
    dom = Dom(html)
    assert count(dom.card("Won").figure) == data["won"]["count"]
    assert count(dom.card("Lost").figure) == data["lost"]["count"]
    assert count(dom.card("Open").figure) == data["open"]["count"]
    assert same_percent(dom.card("Win rate").figure, data["win_rate"])
    assert same_money(dom.card("Won value").figure, data["won"]["value"])
    open_value = dom.card("Open value")
    assert same_money(open_value.figure, data["open"]["value"])
    weighted = re.match(r"weighted (\S+?)[;,)]?(?:\s|$)", open_value.detail)
    assert weighted is not None, open_value
    assert same_money(weighted.group(1), data["open"]["weighted_value"])
    cycle = dom.card("Cycle days (won)")
    assert cycle.figure.startswith("median ") and cycle.detail.startswith("p90 ")
    assert same_days(cycle.figure.removeprefix("median "), data["median_cycle_days"])
    assert same_days(cycle.detail.removeprefix("p90 "), data["p90_cycle_days"])
    velocity = dom.card("Sales velocity")
    assert velocity.detail == "per day"
    assert same_money(velocity.figure, data["sales_velocity_per_day"])


@pytest.mark.parametrize("name", REPORTS)
def test_report_funnel_chart_equals_the_json(
    pages: dict[str, tuple[str, dict[str, Any]]], name: str
) -> None:
    """The chart's texts: per stage its name and count, then the conversion to the next."""
    html, data = pages[name]
    dom = Dom(html)
    expected: list[str] = []
    for stage in data["stages"]:
        expected += [stage["name"], f"{stage['reached']:,}"]
        if stage["conversion_to_next"] is not None:
            expected.append(f"↓ {stage['conversion_to_next'] * 100:.1f}% to next")
    shown = [text.replace(".0%", "%") for text in dom.charts[0]]
    assert shown == [text.replace(".0%", "%") for text in expected]


def test_sliced_report_tables_equal_the_json(
    pages: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    html, data = pages["sliced"]
    dom = Dom(html)
    for caption, key, slices in (
        ("By sales_agent", "segment", data["segments"]),
        ("Cohorts by created quarter", "cohort", data["cohorts"]),
    ):
        table = dom.table(caption)
        names = [row[0].text for row in table.rows]
        assert len(names) == len(slices["rows"])
        for row, expected in zip(table.rows, slices["rows"], strict=True):
            assert row[0].text.removesuffix(" (immature)") == expected[key]
            assert count(row[1].text) == expected["deals"]
            assert same_percent(row[2].text, expected["win_rate"])
            for cell, stage in zip(row[3:-1], expected["stages"], strict=False):
                text = cell.text.removesuffix(" !").removesuffix("*")
                assert same_percent(text, stage["resolved_conversion"]), (cell, stage)
                assert cell.text.endswith(" !") == stage["worst"]
    assert "* fewer than 20 deals left the stage" in dom.text
    text = dom.flat_text()
    assert data["alerts"]
    for alert in data["alerts"]:
        assert f"Alert: {alert['message']}" in text


def test_compared_report_equals_the_json(pages: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """Then -> now per stage, and the change: reached, resolved (points), median days."""
    html, data = pages["compared"]
    dom = Dom(html)
    compare = data["compare"]
    table = dom.table(f"Then ({compare['as_of']}) and now ({data['as_of']})")
    for stage in compare["stages"]:
        cells = [cell.text for cell in table.row(stage["name"])]
        assert cells[1] == f"{stage['reached_then']:,} -> {stage['reached']:,}"
        assert count(cells[2]) == stage["reached_change"]
        then, now = cells[3].split(" -> ")
        assert same_percent(then, stage["resolved_conversion_then"])
        assert same_percent(now, stage["resolved_conversion"])
        if stage["resolved_conversion_change"] is None:
            assert cells[4] == "–"
        else:
            points = float(cells[4].removesuffix(" pp"))
            assert abs(points / 100 - stage["resolved_conversion_change"]) <= 0.0005 + 1e-6
        then, now = cells[5].split(" -> ")
        assert same_days(then, stage["median_days_in_stage_then"])
        assert same_days(now, stage["median_days_in_stage"])
    history = data["history"]
    text = dom.flat_text()
    assert (
        f"History: salesforce_history.csv ({history['dialect']}): {history['rows']['read']:,} rows read"
    ) in text
    time = dom.table("Time in stage (days)")
    for stage in data["stages"][:-1]:
        cells = [cell.text for cell in time.row(stage["name"])]
        assert same_days(cells[1], stage["median_days_in_stage"])
        assert same_days(cells[2], stage["p75_days_in_stage"])
        assert same_days(cells[3], stage["p90_days_in_stage"])
        assert count(cells[4]) == stage["still_in_stage"]


def test_report_stale_deals_equal_the_json(pages: dict[str, tuple[str, dict[str, Any]]]) -> None:
    html, data = pages["report"]
    table = Dom(html).table("Stale deals")
    assert table.caption == f"Stale deals: {data['stale_count']:,} (the 10 oldest shown)"
    shown = [[cell.text for cell in row] for row in table.rows]
    assert shown == [
        [deal["id"], deal["owner"], deal["stage"], f"{deal['days']:,}", "–"]
        for deal in data["stale"][:10]
    ]


def test_report_sentences_are_the_terminals(pages: dict[str, tuple[str, dict[str, Any]]]) -> None:
    html, data = pages["report"]
    text = Dom(html).flat_text()
    assert (
        "Bottleneck: Engaging to Won converts 63.2% against 70% planned (90% interval "
        "62.2%–64.1%): about $1,085,310 lost. Fix this first."
    ) in text
    read = data["rows"]["read"]
    assert f"Rows: {read:,} read = {read:,} used + 0 skipped." in text


def test_report_without_funnel_file_says_where_its_stages_came_from(
    pages: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    html, data = pages["hubspot"]
    dom = Dom(html)
    text = dom.flat_text()
    assert f"No funnel file: stages and order from {data['funnel_evidence']}." in text
    assert "`funnel init --from hubspot_deals.csv` writes them to a file to edit." in text
    facts = dom.flat_text()
    assert "Funnel built from hubspot_deals.csv" in facts


def test_a_report_missing_a_tenth_of_its_rows_says_so_first(
    pages: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    """1 of the 4 rows read skipped: 25%, above the tenth that is shown at the top."""
    html, data = pages["skipped"]
    assert (data["rows"]["read"], data["rows"]["skipped"]) == (4, 1)
    dom = Dom(html)
    warning = (
        "Warning: 25% of the rows read (1 of 4) were skipped: the figures below leave them "
        "out. The reasons are at the end and on stderr."
    )
    text = dom.flat_text()
    assert warning in text
    assert text.index(warning) < text.index("Bottleneck:")
    assert "Rows: 4 read = 3 used + 1 skipped (unknown stage label 1)." in text


def test_a_plan_crediting_the_pipeline_names_the_export_alone(
    pages: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    html, data = pages["credit"]
    credit = data["pipeline_credit"]
    text = Dom(html).flat_text()
    assert "Pipeline credit from hubspot_deals.csv: remaining target" in text
    assert f"{credit['open_deals']:,} open deals are expected to win" in text
    dom = Dom(html)
    assert "Funnel built from hubspot_deals.csv" in text
    assert dom.card("Target").figure == "$900k"
    assert credit["target_revenue"] == 900_000
    assert count(dom.card("Won deals needed").figure) == credit["deals_needed"]
    assert count(dom.card("New leads needed").figure) == data["leads_needed"]
    assert dom.card("New leads needed").detail == f"for {credit['gap_deals']:,} more won deals"


# --- the plan -----------------------------------------------------------------------------


def test_plan_tables_equal_the_json(pages: dict[str, tuple[str, dict[str, Any]]]) -> None:
    html, data = pages["plan"]
    dom = Dom(html)
    stages = dom.table("Stages")
    assert [cell.text for cell in stages.header] == [
        *("Stage", "Needed", "At 90%", "To next", "To won", "Enter by"),
    ]
    for stage, confident in zip(data["stages"], data["confidence"]["stages"], strict=True):
        row = [cell.text for cell in stages.row(stage["name"])]
        assert count(row[1]) == stage["needed"]
        assert count(row[2]) == confident["needed"]
        assert same_percent(row[3], stage["conversion_to_next"])
        assert same_percent(row[4], stage["cumulative_to_won"])
        assert row[5] == stage["enter_by"]
    schedule = dom.table("The schedule: leads to add per month")
    assert [[cell.text for cell in row] for row in schedule.rows] == [
        [row["period"], row["start"], row["end"], f"{row['leads']:,}"]
        for row in data["pacing"]["schedule"]
    ]
    sensitivity = dom.table("If one rate rose 5 points")
    for row, expected in zip(sensitivity.rows, data["sensitivity"], strict=True):
        assert row[0].text == expected["stage"]
        assert row[0].mark == (
            "★ (the lever to pull first)" if expected["stage"] == data["lever"] else ""
        )
        before, after = row[1].text.split(" → ")
        assert same_percent(before, expected["current_rate"])
        assert same_percent(after, expected["raised_rate"])
        assert count(row[2].text) == expected["leads_needed"]
        assert count(row[3].text) == expected["leads_saved"]


def test_plan_charts_equal_the_json(pages: dict[str, tuple[str, dict[str, Any]]]) -> None:
    html, data = pages["plan"]
    funnel, schedule = Dom(html).charts
    expected: list[str] = []
    for stage in data["stages"]:
        expected += [stage["name"], f"{stage['needed']:,}"]
        if stage["conversion_to_next"] is not None:
            expected.append(f"↓ {stage['conversion_to_next'] * 100:g}% to next")
    assert funnel == expected
    # Columns: each period's leads above its bar, its label below.
    assert schedule == [
        text for row in data["pacing"]["schedule"] for text in (f"{row['leads']:,}", row["period"])
    ]


def test_plan_cards_equal_the_json(pages: dict[str, tuple[str, dict[str, Any]]]) -> None:
    html, data = pages["plan"]
    dom = Dom(html)
    assert dom.card("Target").figure == "$1.2M"  # 1,200,000 as the headline writes it
    assert data["target_revenue"] == 1_200_000
    assert count(dom.card("Won deals needed").figure) == data["deals_needed"]
    assert count(dom.card("Leads needed").figure) == data["leads_needed"]
    assert count(dom.card("Leads at 90% confidence").figure) == data["confidence"]["leads_needed"]
    budget = dom.card("Lead budget")
    assert same_money(budget.figure, data["budget"]["lead_budget"])
    at_confidence = budget.detail.removesuffix(" at the confidence level")
    assert same_money(at_confidence, data["budget"]["lead_budget_at_confidence"])
    assert dom.card("Last lead enters by").figure == data["pacing"]["last_lead_entry"]
    text = dom.flat_text()
    assert "To reach 50 won deals with 90% confidence: 3,945 leads." in text
    assert "Lead budget: $150,030 at $45 per lead" in text


# --- safety: CRM text is text; no path; nothing loaded --------------------------------------


def test_injected_names_are_text(pages: dict[str, tuple[str, dict[str, Any]]]) -> None:
    html, data = pages["injection"]
    dom = Dom(html)
    assert {"script", "img", "iframe", "object", "a"}.isdisjoint(dom.tags())
    for element in dom.elements:
        names = {name.lower() for name in element.attrs}
        assert not any(name.startswith("on") for name in names), element
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    stages = [row[0].text for row in dom.table("Stages").rows]
    assert stages == [stage["name"] for stage in data["stages"]]
    assert all(text in stages for text in INJECTED)
    chart = dom.charts[0]
    for text in INJECTED:
        assert any(label.startswith(text[:21]) for label in chart), chart
    assert dom.title == f"Funnel report: {data['funnel']}"
    owners = [row[1].text for row in dom.table("Stale deals").rows]
    assert set(owners) <= {deal["owner"] for deal in data["stale"]}
    assert INJECTED[1] in owners


@pytest.mark.parametrize("name", RUNS)
def test_no_path_of_the_machine(pages: dict[str, tuple[str, dict[str, Any]]], name: str) -> None:
    html, _ = pages[name]
    assert str(ROOT) not in html
    assert str(DATA) not in html


@pytest.mark.parametrize("name", RUNS)
def test_the_page_is_self_contained(
    pages: dict[str, tuple[str, dict[str, Any]]], name: str
) -> None:
    html, _ = pages[name]
    dom = Dom(html)
    assert {"script", "link", "img", "iframe"}.isdisjoint(dom.tags())
    assert [element.tag for element in dom.elements].count("style") == 1
    for element in dom.elements:
        assert not {"src", "href", "xlink:href"} & set(element.attrs), element
        if element.tag != "svg":
            assert "url(" not in (element.attrs.get("style") or "")
    assert "url(" not in html and "@import" not in html


@pytest.mark.parametrize("name", RUNS)
def test_tables_and_charts_are_accessible(
    pages: dict[str, tuple[str, dict[str, Any]]], name: str
) -> None:
    html, _ = pages[name]
    dom = Dom(html)
    assert dom.tables
    for table in dom.tables:
        assert table.caption.strip(), table
        assert all(cell.tag == "th" and cell.attrs.get("scope") == "col" for cell in table.header)
        for row in table.rows:
            assert row[0].tag == "th" and row[0].attrs.get("scope") == "row", row[0]
            assert all(cell.tag == "td" for cell in row[1:])
    ids = {element.attrs.get("id") for element in dom.elements}
    charts = [element for element in dom.elements if element.tag == "svg"]
    assert charts
    for chart in charts:
        assert chart.attrs["role"] == "img"
        labelled = (chart.attrs.get("aria-labelledby") or "").split()
        assert len(labelled) == 2 and set(labelled) <= ids
    assert len(dom.chart_titles) == 2 * len(charts)
    assert ("html", {"lang": "en"}) in dom.elements


def test_figures_are_right_aligned_with_tabular_digits(
    pages: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    html, _ = pages["report"]
    table = Dom(html).table("Stages")
    for row in table.rows:
        assert all("num" in (cell.attrs.get("class") or "").split() for cell in row[1:])
    rule = re.search(r"\.num \{([^}]*)\}", html)
    assert rule is not None
    assert "text-align: right" in rule.group(1) and "tabular-nums" in rule.group(1)


def test_print_keeps_tables_and_cards_whole(
    pages: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    html, _ = pages["report"]
    rule = re.search(r"@media print \{(.*?)\n\}", html, re.DOTALL)
    assert rule is not None
    assert re.search(r"table[^{]*\{[^}]*break-inside: avoid", rule.group(1))
    assert ".card" in rule.group(1)


# --- the generation date, the terminal's width --------------------------------------------


def test_source_date_epoch_is_the_generation_time(
    pages: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    for name in ("report", "plan"):
        assert f"Generated {EPOCH_SHOWN}" in Dom(pages[name][0]).flat_text()


def test_the_same_inputs_make_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    first = invoke(*PLAN, "--format", "html")[1]
    second = invoke(*PLAN, "--format", "html")[1]
    assert first == second


def test_a_malformed_source_date_epoch_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    code, stdout, stderr = invoke(*PLAN, "--format", "html")
    assert code == 2
    assert stdout == ""
    assert stderr == (
        "error: SOURCE_DATE_EPOCH='yesterday': not a whole number of seconds since "
        "1970-01-01 UTC; set it to one (date +%s) or unset it\n"
    )


def test_generated_at_reads_the_environment_given() -> None:
    assert generated_at({"SOURCE_DATE_EPOCH": "0"}) == "1970-01-01 00:00 UTC"
    assert generated_at({"SOURCE_DATE_EPOCH": "90061"}) == "1970-01-02 01:01 UTC"  # 1 d 1 h 1 m 1 s


def test_the_page_does_not_depend_on_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A piped run in an 80-column terminal and a 300-column CliRunner run: the same page."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setenv("COLUMNS", "300")
    wide = invoke(*REPORT, "--format", "html")[1]
    environment = {"SOURCE_DATE_EPOCH": EPOCH, "COLUMNS": "80", "PATH": "/usr/bin:/bin"}
    piped = run_process(
        [sys.executable, "-m", "funnelcli", *REPORT, "--format", "html"], env=environment
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == wide


def test_an_export_from_standard_input_names_no_folder_of_the_funnel(tmp_path: Path) -> None:
    """Read from stdin, the export is ``-``: the funnel file, whose path holds a ``-``, is
    still named alone (a rule that replaced the export's text inside the funnel's kept the
    whole path)."""
    funnel = tmp_path / "maven-crm.yaml"
    funnel.write_bytes((ROOT / "sample_funnels" / "maven_crm.yaml").read_bytes())
    command = ["report", "-", "--funnel", str(funnel), "--as-of", "2017-12-31", "--format", "html"]
    piped = run_process(
        [sys.executable, "-m", "funnelcli", *command],
        input=(ROOT / "examples" / "maven_pipeline.csv").read_bytes(),
    )
    assert piped.returncode == 0, piped.stderr
    assert str(tmp_path) not in piped.stdout
    assert "Funnel <b>maven-crm.yaml</b>" in piped.stdout


# --- the page's parts, alone --------------------------------------------------------------


def test_file_name_keeps_words_and_drops_folders() -> None:
    assert forwarded_name("/home/ann/deals.csv") == "deals.csv"
    assert forwarded_name("built from /home/ann/deals.csv") == "built from deals.csv"
    assert forwarded_name("built-in default") == "built-in default"


def test_cards_from_key_figures() -> None:
    assert cards_from([("Cycle", "median 57, p90 106"), ("Velocity", "$54,640.75 per day")]) == (
        Card("Cycle", "median 57", "p90 106"),
        Card("Velocity", "$54,640.75", "per day"),
    )
    assert cards_from([("Cycle", "– (no won deal yet)")]) == (
        Card("Cycle", "–", "no won deal yet"),
    )
    cards = cards_from(
        [
            ("Won", "12"),
            ("Open value", "$10 (weighted $4, by win rate, 40%)"),
            ("", "2 open deals have no amount"),
        ]
    )
    assert cards == (
        Card("Won", "12"),
        Card("Open value", "$10", "weighted $4, by win rate, 40%; 2 open deals have no amount"),
    )


def test_chart_labels_are_cut_by_their_width() -> None:
    assert short("Proposal") == "Proposal"
    assert short("x" * 22) == "x" * 22
    assert short("x" * 23) == "x" * 21 + "…"
    assert short("潜在客户" * 3) == "潜在客户" * 2 + "潜在…"  # 10 wide characters, 20 cells, then …


def test_the_package_ships_every_template() -> None:
    """Each file of templates/html/ matches a package-data glob of pyproject.toml."""
    import fnmatch
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["funnelcli"]
    package = ROOT / "src" / "funnelcli"
    templates = [
        p.relative_to(package).as_posix()
        for p in (package / "templates" / "html").rglob("*")
        if p.is_file()
    ]
    assert templates

    def shipped(name: str) -> bool:  # setuptools' "*" stays within one folder
        parts = name.split("/")
        return any(
            len(parts) == len(glob.split("/")) and all(map(fnmatch.fnmatch, parts, glob.split("/")))
            for glob in globs
        )

    assert [name for name in templates if not shipped(name)] == []


def test_card_rows_are_even() -> None:
    cards = [Card(str(number), "") for number in range(7)]
    assert [len(row) for row in card_rows(cards)] == [4, 3]
    assert [len(row) for row in card_rows(cards[:6])] == [6]
    assert card_rows([]) == ()


def test_funnel_bars_are_as_wide_as_their_counts() -> None:
    """The band is 540 units wide (220 to 760): 100 deals fill it, 25 take 135, centred."""
    chart = funnel_chart("t", "d", ["A", "B", "C"], [100, 25, 0], ["25%", ""])
    assert [(bar.x, bar.width) for bar in chart.bars] == [(220, 540), (422.5, 135), (490, 0)]
    assert [bar.figure for bar in chart.bars] == ["100", "25", "0"]


def test_dom_reads_a_table() -> None:
    """The test parser itself: caption, header, marks apart from the text."""
    dom = Dom(
        "<table><caption>T</caption><thead><tr><th scope=col>A</th><th scope=col>B</th></tr>"
        "</thead><tbody><tr><th scope=row>x</th><td>1<span class=mark> ▼</span>"
        "<span class=vh> (below plan)</span></td></tr></tbody></table>"
    )
    table: Table = dom.table("T")
    assert table.cell("x", "B").text == "1"
    assert table.cell("x", "B").mark == "▼ (below plan)"


def test_jinja2_is_the_html_writers_alone() -> None:
    """Only the HTML writers import Jinja2 (start-up of the other formats:
    tests/system/test_startup.py)."""
    sources = (ROOT / "src" / "funnelcli").rglob("*.py")
    importing = sorted(
        path.relative_to(ROOT / "src").as_posix()
        for path in sources
        if re.search(r"^\s*(import jinja2|from jinja2)", path.read_text("utf-8"), re.M)
    )
    assert importing == ["funnelcli/render/html.py"]
    assert Path(ROOT / "src" / "funnelcli" / "templates" / "html" / "page.html.j2").is_file()
