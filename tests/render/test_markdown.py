"""``--format markdown`` (render/csv_md_report.py, csv_md_plan.py): every table the terminal
shows, as pipe tables a chat or GitHub renders, each figure equal to the JSON's.

The Markdown is read back here with no help from the program: a table is the lines from its
header to the first line that is not a row, a row is split on the pipes without a backslash
before them, and a cell's escapes are undone (a backslash before punctuation, then HTML
entities). Each figure is then compared with the ``--format json`` output of the same
command, converted by hand: ``$1,234`` is 1234, ``63.2%`` is 0.632 to the places shown.

Runs: the Maven export sliced by agent and quarter with an alert that fires; the Workshops
export with its stage history, compared with June; the HubSpot example without a funnel
file; an export a tenth of whose rows are skipped; the README's plan; and the injection
export of tests/data/forward/ (script, image, formula and table-breaking names).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from funnelcli.cli import app
from funnelcli.render.neutralise import markdown_text

from ..conftest import DATA, ROOT
from ..figures import count, same_days, same_money, same_percent

MAVEN = str(ROOT / "examples" / "maven_pipeline.csv")  # absolute: the output names files
MAVEN_FUNNEL = str(ROOT / "sample_funnels" / "maven_crm.yaml")
CRM = DATA / "crm"
FORWARD = DATA / "forward"

RUNS: dict[str, tuple[tuple[str, ...], int]] = {
    "sliced": (
        (
            *("report", MAVEN, "--funnel", MAVEN_FUNNEL, "--as-of", "2017-12-31"),
            *("--by", "sales_agent", "--max-segments", "5", "--cohort", "quarter"),
            *("--since", "2017-01-01", "--fail-below", "Engaging=65%"),
        ),
        1,
    ),
    "history": (
        (
            *("report", str(CRM / "history_deals.csv"), "--as-of", "2026-12-01"),
            *("--funnel", str(CRM / "history_funnel.yaml")),
            *("--history", str(CRM / "history_stages.csv"), "--compare-to", "2026-06-01"),
        ),
        0,
    ),
    "inferred": (
        ("report", str(ROOT / "examples" / "hubspot_deals.csv"), "--as-of", "2026-12-01"),
        0,
    ),
    "skipped": (
        (
            *("report", str(DATA / "fit" / "one_of_four_skipped.csv"), "--as-of", "2026-12-01"),
            *("--funnel", str(DATA / "fit" / "hubspot_ids.yaml")),
        ),
        0,
    ),
    "plan": (
        (
            *("plan", str(ROOT / "sample_funnels" / "b2b_saas.yaml"), "--target", "1.2M"),
            *("--confidence", "90%", "--as-of", "2026-12-01", "--by", "2027-03-31"),
            *("--cost-per-lead", "45"),
        ),
        0,
    ),
    "injection": (
        (
            *("report", str(FORWARD / "injection.csv"), "--as-of", "2026-12-01"),
            *("--funnel", str(FORWARD / "injection.yaml"), "--by", "Deal owner"),
        ),
        0,
    ),
}
"""Each run: its arguments (absolute paths) and its exit code (1: the alert fires)."""

REPORTS = ("sliced", "history", "inferred", "skipped", "injection")


@dataclass(frozen=True)
class Output:
    markdown: str
    data: dict[str, Any]


@pytest.fixture(scope="module")
def outputs() -> dict[str, Output]:
    """Each run as Markdown and as JSON, made once for the module."""
    runner = CliRunner()
    made = {}
    for name, (args, exit_code) in RUNS.items():
        markdown = runner.invoke(app, [*args, "--format", "markdown"], prog_name="funnel")
        data = runner.invoke(app, [*args, "--format", "json"], prog_name="funnel")
        assert (markdown.exit_code, data.exit_code) == (exit_code, exit_code), markdown.stderr
        made[name] = Output(markdown.stdout, json.loads(data.stdout))
    return made


# --- reading the Markdown back -------------------------------------------------------------

_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def split_row(line: str) -> list[str]:
    """A table row's cells: split on the pipes a backslash does not escape."""
    assert line.startswith("| ") and line.endswith(" |"), line
    return [cell.strip() for cell in _UNESCAPED_PIPE.split(line[1:-1])]


def unescape(cell: str) -> str:
    """The text a Markdown renderer shows for an escaped cell."""
    return html.unescape(re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", cell))


@dataclass(frozen=True)
class PipeTable:
    header: list[str]
    aligns: list[str]
    rows: list[list[str]]

    def by_name(self) -> dict[str, dict[str, str]]:
        """Each row by its first cell (unescaped), its cells by (unescaped) header."""
        header = [unescape(cell) for cell in self.header]
        return {unescape(row[0]): dict(zip(header, row, strict=True)) for row in self.rows}


def tables(markdown: str) -> dict[str, PipeTable]:
    """Every pipe table, by the ``###`` heading above it."""
    found: dict[str, PipeTable] = {}
    lines = markdown.splitlines()
    heading = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("### "):
            heading = unescape(line.removeprefix("### "))
        if line.startswith("| "):
            header = split_row(line)
            aligns = lines[index + 1].strip("|").split("|")
            rows = []
            index += 2
            while index < len(lines) and lines[index].startswith("|"):
                rows.append(split_row(lines[index]))
                index += 1
            found[heading] = PipeTable(header, aligns, rows)
        index += 1
    return found


def bullets(markdown: str, heading: str) -> dict[str, str]:
    """``- label: value`` lines under a heading, by label."""
    lines = markdown.splitlines()
    start = lines.index(f"### {heading}") + 2
    items = {}
    for line in lines[start:]:
        if not line.startswith("- "):
            break
        label, _, value = line.removeprefix("- ").partition(": ")
        items[label] = value
    return items


# --- figures as shown, against the JSON ----------------------------------------------------


# --- every table is one table ----------------------------------------------------------------


@pytest.mark.parametrize("name", RUNS)
def test_every_table_has_one_cell_per_column_in_every_row(
    outputs: dict[str, Output], name: str
) -> None:
    """A name that broke out of its cell would add a cell: the table would not render."""
    found = tables(outputs[name].markdown)
    assert found
    for heading, table in found.items():
        width = len(table.header)
        assert len(table.aligns) == width, heading
        assert [len(row) for row in table.rows] == [width] * len(table.rows), heading
        # Names on the left, figures right-aligned (the stale deals' owner and stage and a
        # slice's bottleneck are names too; a schedule's dates read left to right).
        assert table.aligns[0] == ":---", heading
        assert set(table.aligns) <= {":---", "---:"}, heading


def test_figures_are_right_aligned(outputs: dict[str, Output]) -> None:
    found = tables(outputs["sliced"].markdown)
    assert found["Stages"].aligns == [":---"] + ["---:"] * 9
    stale = found[f"Stale deals: {outputs['sliced'].data['stale_count']:,} (the 10 oldest shown)"]
    assert stale.aligns == [":---"] * 3 + ["---:"] * 2
    assert found["By sales_agent"].aligns == [":---", *["---:"] * 4, ":---"]
    plan = tables(outputs["plan"].markdown)
    assert plan["Leads to add per month"].aligns == [":---"] * 3 + ["---:"]
    assert plan["If one rate rose 5 points"].aligns == [":---"] + ["---:"] * 3


# --- the report --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REPORTS)
def test_stage_table_equals_the_json(outputs: dict[str, Output], name: str) -> None:
    data = outputs[name].data
    table = tables(outputs[name].markdown)["Stages"]
    planned = any(stage["planned_conversion"] is not None for stage in data["stages"])
    # The terminal's columns; Plan only with planned rates (no column of dashes).
    assert table.header == [
        *("Stage", "Reached", "Open", "Lost", "To next", "Resolved"),
        *(["Plan"] if planned else []),
        *("Cum.", "Open value", "Days"),
    ]
    rows = table.by_name()
    assert list(rows) == [stage["name"] for stage in data["stages"]]
    for stage in data["stages"]:
        cells = rows[stage["name"]]
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


@pytest.mark.parametrize("name", REPORTS)
def test_key_figures_equal_the_json(outputs: dict[str, Output], name: str) -> None:
    data = outputs[name].data
    figures = bullets(outputs[name].markdown, "Key figures")
    assert count(figures["Won"]) == data["won"]["count"]
    lost, _, unknown = figures["Lost"].partition(" (")
    assert count(lost) == data["lost"]["count"]
    if data["lost"]["unknown_stage"]:
        assert unknown == f"{data['lost']['unknown_stage']:,} at an unknown stage)"
    assert count(figures["Open"]) == data["open"]["count"]
    assert same_percent(figures["Win rate"], data["win_rate"])
    assert same_money(figures["Won value"], data["won"]["value"])
    average, median = figures["Average / median won"].split(" / ")
    assert same_money(average, data["average_won_value"])
    assert same_money(median, data["median_won_value"])
    found = re.fullmatch(r"(\S+) \(weighted (\$[\d,]+(?:\.\d+)?).*\)", figures["Open value"])
    assert found is not None, figures["Open value"]
    total, weighted = found.groups()
    assert same_money(total, data["open"]["value"])
    assert same_money(weighted, data["open"]["weighted_value"])
    cycle = re.fullmatch(r"median (\S+), p90 (\S+)", figures["Cycle days (won)"])
    if data["median_cycle_days"] is None:
        assert cycle is None and figures["Cycle days (won)"].startswith("– (")
    else:
        assert cycle is not None
        assert same_days(cycle[1], data["median_cycle_days"])
        assert same_days(cycle[2], data["p90_cycle_days"])
    if data["sales_velocity_per_day"] is None:
        assert "Sales velocity" not in figures
    else:
        velocity = figures["Sales velocity"].removesuffix(" per day")
        assert same_money(velocity, data["sales_velocity_per_day"])


@pytest.mark.parametrize("name", ["sliced", "history"])
def test_time_in_stage_equals_the_json(outputs: dict[str, Output], name: str) -> None:
    data = outputs[name].data
    rows = tables(outputs[name].markdown)["Time in stage (days)"].by_name()
    assert list(rows) == [stage["name"] for stage in data["stages"][:-1]]
    for stage in data["stages"][:-1]:
        cells = rows[stage["name"]]
        assert same_days(cells["Median"], stage["median_days_in_stage"]), cells
        assert same_days(cells["p75"], stage["p75_days_in_stage"]), cells
        assert same_days(cells["p90"], stage["p90_days_in_stage"]), cells
        assert count(cells["Still in"]) == stage["still_in_stage"]
        assert same_days(cells["Days before loss"], stage["median_days_before_loss"]), cells
        assert count(cells["Skipped"]) == stage["skipped"]
        assert count(cells["Moved back"]) == stage["moved_back"]


def test_stale_deals_equal_the_json(outputs: dict[str, Output]) -> None:
    data = outputs["sliced"].data
    heading = f"Stale deals: {data['stale_count']:,} (the 10 oldest shown)"
    table = tables(outputs["sliced"].markdown)[heading]
    assert table.header == ["Deal", "Owner", "Stage", "Days", "Value"]
    assert len(table.rows) == 10 < data["stale_count"]
    for row, deal in zip(table.rows, data["stale"], strict=False):
        deal_id, owner, stage, days, value = row
        assert [unescape(deal_id), unescape(owner), unescape(stage)] == [
            deal["id"],
            deal["owner"],
            deal["stage"],
        ]
        assert count(days) == deal["days"]
        assert same_money(value, deal["value"])


def check_slices(table: PipeTable, slices: dict[str, Any], key: str) -> None:
    """Deals, win rate, each stage's resolved rate (``*`` too few deals to judge, ``!`` the
    worst) and the bottleneck, for every row of --by or --cohort."""
    rows = table.by_name()
    expected = [*slices["rows"], *([slices["others"]] if slices.get("others") else [])]
    assert len(rows) == len(expected)
    for row in expected:
        label = row[key] + (" (immature)" if key == "cohort" and row["immature"] else "")
        cells = rows[label]
        assert count(cells["Deals"]) == row["deals"]
        assert same_percent(cells["Win"], row["win_rate"]), cells
        for stage in row["stages"][:-1]:
            cell = cells[stage["name"]]
            worst = cell.endswith(" !")
            cell = cell.removesuffix(" !")
            unjudged = cell.endswith("*")
            assert same_percent(cell.removesuffix("*"), stage["resolved_conversion"]), cells
            assert worst == stage["worst"]
            assert unjudged == (stage["resolved_conversion"] is not None and not stage["judged"])
        assert unescape(cells["Bottleneck"]) == (row["bottleneck"] or "–")


def test_segments_and_cohorts_equal_the_json(outputs: dict[str, Output]) -> None:
    data = outputs["sliced"].data
    found = tables(outputs["sliced"].markdown)
    check_slices(found["By sales_agent"], data["segments"], "segment")
    check_slices(found["Cohorts by created quarter"], data["cohorts"], "cohort")
    assert data["segments"]["others"]["segment"] == "(others)"  # --max-segments 5 folds


def test_compare_equals_the_json(outputs: dict[str, Output]) -> None:
    data = outputs["history"].data
    compare = data["compare"]
    table = tables(outputs["history"].markdown)[
        f"Then ({compare['as_of']}) and now ({data['as_of']})"
    ]
    assert table.header == ["Stage", "Reached", "Change", "Resolved", "Change", "Days", "Change"]
    rows = {row[0]: row[1:] for row in table.rows}
    for stage in compare["stages"]:
        reached, reached_change, resolved, points, days, days_change = rows[stage["name"]]
        assert reached == f"{stage['reached_then']:,} -> {stage['reached']:,}"
        assert int(reached_change) == stage["reached_change"]
        then, now = resolved.split(" -> ")
        assert same_percent(then, stage["resolved_conversion_then"])
        assert same_percent(now, stage["resolved_conversion"])
        change = stage["resolved_conversion_change"]
        if change is None:
            assert points == "–"
        else:
            assert abs(float(points.removesuffix(" pp")) / 100 - change) <= 0.0005 + 1e-9
        then, now = days.split(" -> ")
        assert same_days(then, stage["median_days_in_stage_then"])
        assert same_days(now, stage["median_days_in_stage"])
        assert same_days(days_change, stage["median_days_in_stage_change"])
    win = compare["win_rate"]
    then, now = rows["Win rate"][2].split(" -> ")
    assert same_percent(then, win["then"]) and same_percent(now, win["now"])


def test_alerts_bottleneck_and_rows_equal_the_json(outputs: dict[str, Output]) -> None:
    data = outputs["sliced"].data
    markdown = outputs["sliced"].markdown
    engaging = data["stages"][1]["resolved_conversion"]
    message = f"Engaging resolved conversion {engaging:.1%} is below 65%"
    assert [alert["message"] for alert in data["alerts"]] == [message]
    assert bullets(markdown, "Alerts") == {message: ""}
    top = data["bottlenecks"][0]
    sentence = next(line for line in markdown.splitlines() if line.startswith("**Bottleneck:**"))
    found = re.search(r"converts (\S+) against (\S+) planned .*about (\$[\d,]+) lost", sentence)
    assert found is not None, sentence
    actual, planned, impact = found.groups()
    assert same_percent(actual, top["actual"]) and same_percent(planned, top["planned"])
    assert same_money(impact, top["revenue_impact"])
    rows = data["rows"]
    assert (
        f"Rows: {rows['read']:,} read = {rows['used']:,} used + {rows['skipped']:,} skipped "
        f"+ {rows['filtered']:,} filtered out"
    ) in markdown


def test_history_sentence_names_the_file(outputs: dict[str, Output]) -> None:
    data = outputs["history"].data
    history = data["history"]
    assert (
        f"History: history_stages.csv ({history['dialect']}): {history['rows']['read']:,} rows "
        f"read, {history['rows']['used']:,} used"
    ) in outputs["history"].markdown


def test_skipped_warning_equals_the_json(outputs: dict[str, Output]) -> None:
    rows = outputs["skipped"].data["rows"]
    # one_of_four_skipped.csv: 1 of 4 rows skipped, 25% > 10%: said under the title.
    assert (rows["skipped"], rows["read"]) == (1, 4)
    assert outputs["skipped"].markdown.splitlines()[4] == (
        "**Warning:** 25% of the rows read (1 of 4) were skipped: the figures below leave "
        "them out. The reasons are at the end and on stderr."
    )


def test_provenance_of_a_funnel_built_from_the_export(outputs: dict[str, Output]) -> None:
    data = outputs["inferred"].data
    assert outputs["inferred"].markdown.splitlines()[2:5] == [
        # An underscore inside a word starts no emphasis: it stays as it is.
        "hubspot_deals.csv, as of 2026-12-01; funnel built from hubspot_deals.csv.",
        "",
        f"No funnel file: stages and order from {data['funnel_evidence']}. "
        "`funnel init --from hubspot_deals.csv` writes them to a file to edit.",
    ]


@pytest.mark.parametrize("name", RUNS)
def test_files_go_by_name_not_path(outputs: dict[str, Output], name: str) -> None:
    """The runs name every file by its absolute path; the Markdown never shows one."""
    markdown = outputs[name].markdown
    assert str(ROOT) not in markdown
    assert markdown_text(str(ROOT)) not in markdown


# --- the plan ----------------------------------------------------------------------------------


def test_plan_tables_equal_the_json(outputs: dict[str, Output]) -> None:
    data = outputs["plan"].data
    found = tables(outputs["plan"].markdown)
    stages = found["Stages"]
    assert stages.header == ["Stage", "Needed", "At 90%", "To next", "To won", "Enter by"]
    assert len(stages.rows) == len(data["stages"])
    confident = data["confidence"]["stages"]
    for row, stage, at_level in zip(stages.rows, data["stages"], confident, strict=True):
        name, needed, at_confidence, to_next, to_won, enter_by = row
        assert name == stage["name"]
        assert count(needed) == stage["needed"]
        assert count(at_confidence) == at_level["needed"]
        assert (
            (to_next == "")
            if stage["conversion_to_next"] is None
            else same_percent(to_next, stage["conversion_to_next"])
        )
        assert same_percent(to_won, stage["cumulative_to_won"])
        assert enter_by == stage["enter_by"]
    schedule = found["Leads to add per month"]
    assert schedule.header == ["Month", "From", "To", "Leads"]
    assert schedule.rows == [
        [row["period"], row["start"], row["end"], f"{row['leads']:,}"]
        for row in data["pacing"]["schedule"]
    ]
    sensitivity = found["If one rate rose 5 points"]
    assert sensitivity.header == ["Stage", "Rate", "Leads needed", "Saved"]
    assert len(sensitivity.rows) == len(data["sensitivity"])
    for (stage, rate, needed, saved), row in zip(
        sensitivity.rows, data["sensitivity"], strict=True
    ):
        assert stage == row["stage"]
        current, raised = rate.split(" -> ")
        assert same_percent(current, row["current_rate"])
        assert same_percent(raised, row["raised_rate"])
        assert [count(needed), count(saved)] == [row["leads_needed"], row["leads_saved"]]


def test_plan_sentences_equal_the_json(outputs: dict[str, Output]) -> None:
    data = outputs["plan"].data
    markdown = outputs["plan"].markdown
    budget, pacing = data["budget"], data["pacing"]
    lines = markdown.splitlines()
    assert (
        f"- To reach {data['deals_needed']:,} won deals with 90% confidence: "
        f"{data['confidence']['leads_needed']:,} leads."
    ) in lines
    budget_line = next(line for line in lines if line.startswith("- Lead budget: "))
    shown = re.findall(r"\$[\d,]+(?:\.\d+)?", budget_line)
    expected = [
        budget["lead_budget"],
        budget["cost_per_lead"],
        budget["cost_per_won_deal"],
        budget["lead_budget_at_confidence"],
    ]
    assert all(same_money(text, value) for text, value in zip(shown, expected, strict=True))
    assert (
        f"{pacing['leads_per_period_least']:,} to {pacing['leads_per_period']:,} per full month"
    ) in markdown
    lever = data["sensitivity"][0]
    assert f"- Lever to pull first: {data['lever']} (25% -> 30%: {lever['leads_saved']:,} " in (
        markdown
    )
    assert lines[-1] == "Funnel: b2b_saas.yaml"


# --- CRM text that tries to break out ------------------------------------------------------------


def rendered(markdown: str) -> str:
    """The HTML a CommonMark renderer with GitHub's tables makes of the Markdown."""
    return MarkdownIt("commonmark").enable("table").render(markdown)


@pytest.mark.parametrize("name", ["injection", "plan"])
def test_crm_text_renders_as_text(outputs: dict[str, Output], name: str) -> None:
    page = rendered(outputs[name].markdown)
    for tag in ("<script", "<img", "<a ", "<b>", "<code", "<em>", "<strong>Owner"):
        assert tag not in page, tag
    # Each table renders as many cells in every row as it has headers.
    for table in page.split("<table>")[1:]:
        head, _, body = table.partition("</thead>")
        cells = [row.count("<td") for row in body.split("<tr>")[1:]]
        assert cells == [len(re.findall("<th[ >]", head))] * len(cells)


def test_crm_text_round_trips(outputs: dict[str, Output]) -> None:
    """Unescaped, each name is the text of the JSON: shown, not obeyed, and not altered."""
    data = outputs["injection"].data
    markdown = outputs["injection"].markdown
    assert unescape(markdown.splitlines()[0]) == f"## Funnel report: {data['funnel']}"
    found = tables(markdown)
    assert list(found["Stages"].by_name()) == [stage["name"] for stage in data["stages"]]
    stale = found[f"Stale deals: {data['stale_count']:,} (the 10 oldest shown)"]
    assert [[unescape(cell) for cell in row[:3]] for row in stale.rows] == [
        [deal["id"], deal["owner"], deal["stage"]] for deal in data["stale"][:10]
    ]
    segments = found[f"By {data['segments']['by']}"]
    assert [unescape(cell) for cell in segments.header[3:-1]] == [
        stage["name"] for stage in data["stages"][:-1]
    ]
    check_slices(segments, data["segments"], "segment")
