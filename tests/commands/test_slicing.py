"""--by, --cohort, --since/--until, --where and --pipeline against independent computations."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter, defaultdict
from fractions import Fraction

import pytest
from typer.testing import CliRunner, Result

from funnelcli.cli import app
from funnelcli.loading import load_funnel_file
from funnelcli.readers.export import ReadOptions, report_export
from funnelcli.results import SliceRequest

from ..conftest import DATA, ROOT

MAVEN = str(ROOT / "examples" / "maven_pipeline.csv")
MAVEN_FUNNEL = str(ROOT / "sample_funnels" / "maven_crm.yaml")
PIPELINES = str(DATA / "slicing" / "pipelines.csv")
PIPELINES_FUNNEL = str(DATA / "slicing" / "pipelines.yaml")


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), prog_name="funnel")


def maven_rows() -> list[dict[str, str]]:
    with open(MAVEN, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def maven_report(request: SliceRequest):  # type: ignore[no-untyped-def]
    funnel = load_funnel_file(MAVEN_FUNNEL).funnel
    return report_export(
        MAVEN, funnel, as_of=dt.date(2017, 12, 31), options=ReadOptions(), request=request
    )


def _reached_and_resolved(rows: list[dict[str, str]]) -> tuple[list[int], list[Fraction | None]]:
    """Maven's funnel by hand: Prospecting rows are open at 0; Engaging open at 1;
    Won rows won; Lost rows lost at Engaging (they have an engage_date)."""
    stages = Counter(row["deal_stage"] for row in rows)
    reached = [len(rows), len(rows) - stages["Prospecting"], stages["Won"]]
    left_0 = reached[0] - stages["Prospecting"]
    left_1 = reached[1] - stages["Engaging"]
    resolved = [
        Fraction(reached[1], left_0) if left_0 else None,
        Fraction(reached[2], left_1) if left_1 else None,
    ]
    return reached, resolved


def test_by_sales_agent_matches_a_csv_count() -> None:
    rows = maven_rows()
    by_agent: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_agent[row["sales_agent"]].append(row)
    result = maven_report(SliceRequest(by="sales_agent"))
    assert result.segments is not None
    assert result.segment_header == "sales_agent"
    assert {segment.name for segment in result.segments} == set(by_agent)
    for segment in result.segments:
        reached, resolved = _reached_and_resolved(by_agent[segment.name])
        assert [stage.reached for stage in segment.stages] == reached
        assert [stage.resolved_conversion for stage in segment.stages[:2]] == resolved
        won = sum(1 for row in by_agent[segment.name] if row["deal_stage"] == "Won")
        lost = sum(1 for row in by_agent[segment.name] if row["deal_stage"] == "Lost")
        assert segment.win_rate == Fraction(won, won + lost)
    # The largest segment first.
    assert result.segments[0].deals == max(len(group) for group in by_agent.values())


def test_worst_segment_per_stage_is_the_lowest_judged_rate() -> None:
    rows = maven_rows()
    by_agent: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_agent[row["sales_agent"]].append(row)
    rates = {}
    for agent, group in by_agent.items():
        won = sum(1 for row in group if row["deal_stage"] == "Won")
        lost = sum(1 for row in group if row["deal_stage"] == "Lost")
        if won + lost >= 20:  # judged: at least 20 deals left Engaging
            rates[agent] = Fraction(won, won + lost)
    expected_worst = min(rates, key=lambda agent: (rates[agent], agent))
    result = maven_report(SliceRequest(by="sales_agent"))
    assert result.segments is not None
    worst = [segment.name for segment in result.segments if segment.stages[1].worst]
    assert worst == [expected_worst]


def test_cohort_by_quarter_matches_a_csv_count() -> None:
    rows = maven_rows()
    quarters: Counter[str] = Counter()
    for row in rows:
        if row["engage_date"]:
            day = dt.date.fromisoformat(row["engage_date"])
            quarters[f"{day.year}-Q{(day.month - 1) // 3 + 1}"] += 1
        else:
            quarters["(no created date)"] += 1
    result = maven_report(SliceRequest(cohort="quarter"))
    assert result.cohorts is not None
    assert {cohort.name: cohort.deals for cohort in result.cohorts} == dict(quarters)
    # Prospecting deals have no engage_date: all open, so their cohort is immature.
    immature = {cohort.name for cohort in result.cohorts if cohort.immature}
    assert immature == {"(no created date)"}


def test_since_until_and_where_filters_count_every_row() -> None:
    rows = maven_rows()
    since, until = dt.date(2017, 3, 1), dt.date(2017, 6, 30)
    kept = [
        row
        for row in rows
        if row["sales_agent"].casefold() == "darcel schlecht"
        and row["engage_date"]
        and since <= dt.date.fromisoformat(row["engage_date"]) <= until
    ]
    result = maven_report(
        SliceRequest(since=since, until=until, where=(("sales_agent", "DARCEL SCHLECHT"),))
    )
    account = result.account
    assert account.used == len(kept)
    assert account.read == len(rows)
    assert account.read == account.used + account.skipped_total + account.filtered_total
    assert result.report.stages[0].reached == len(kept)
    assert result.report.won == sum(1 for row in kept if row["deal_stage"] == "Won")


def test_pipeline_selects_one_and_a_mixed_export_says_so() -> None:
    # Sales: deals 1, 2, 3, 6 (won 1 and 6, lost 2, open 3); Renewals: 4 (won) and 5 (open).
    mixed = run(
        "report", PIPELINES, "--funnel", PIPELINES_FUNNEL, "--as-of", "2025-04-30", "-f", "json"
    )
    assert mixed.exit_code == 0
    assert (
        f"warning: {PIPELINES}: the export holds several pipelines (Sales (4), Renewals (2)) and "
        "they are reported together; pass --pipeline NAME for one, or --by pipeline to compare them\n"
    ) in mixed.stderr
    sales = run(
        "report",
        PIPELINES,
        "--funnel",
        PIPELINES_FUNNEL,
        "--as-of",
        "2025-04-30",
        "-f",
        "json",
        "--pipeline",
        "sales",
    )
    data = json.loads(sales.stdout)
    assert "several pipelines" not in sales.stderr
    assert data["rows"]["used"] == 4
    assert data["rows"]["filtered_by_reason"] == {"where": 2}
    assert data["won"]["count"] == 2
    assert data["filters"]["pipeline"] == "sales"


def test_unknown_pipeline_lists_the_pipelines() -> None:
    result = run("report", PIPELINES, "--funnel", PIPELINES_FUNNEL, "--pipeline", "Partners")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {PIPELINES}: --pipeline Partners: no such pipeline; "
        "the pipelines are: Sales (4), Renewals (2)\n"
    )


def test_by_region_in_json_csv_and_markdown() -> None:
    # Region values compared as written: EMEA (1, 2), AMER (3, 4, 6), emea (5) -> three segments.
    base = [
        "report",
        PIPELINES,
        "--funnel",
        PIPELINES_FUNNEL,
        "--as-of",
        "2025-04-30",
        "--by",
        "Region",
    ]
    data = json.loads(run(*base, "-f", "json").stdout)
    rows = {row["segment"]: row for row in data["segments"]["rows"]}
    assert {name: row["deals"] for name, row in rows.items()} == {"AMER": 3, "EMEA": 2, "emea": 1}
    assert rows["AMER"]["won"] == 2  # deals 4 and 6
    assert data["segments"]["by"] == "Region"
    lines = run(*base, "-f", "csv").stdout.splitlines()
    assert lines[0] == "segment,stage,reached,resolved_conversion,judged,worst"
    # (all) + 3 segments, 4 stages each.
    assert len(lines) == 1 + 4 * 4
    assert "AMER,Qualified,3," in "\n".join(lines)
    markdown = run(*base, "-f", "markdown").stdout
    assert "### By Region" in markdown
    assert "| AMER | 3 |" in markdown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "Nope"], "error: {export}: --by Nope: no such column; the columns are: "),
        (
            ["--where", "region"],
            "error: --where: 'region' is not COLUMN=VALUE, like --where region=EMEA\n",
        ),
        (["--cohort", "week"], "error: --cohort: 'week' is not a period; use month or quarter\n"),
        (
            ["--since", "2025-05-01", "--until", "2025-01-01"],
            "error: --since 2025-05-01 is after --until 2025-01-01; swap them\n",
        ),
    ],
)
def test_slicing_usage_errors(args: list[str], message: str) -> None:
    result = run("report", PIPELINES, "--funnel", PIPELINES_FUNNEL, *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message.format(export=PIPELINES))
    assert result.stderr.count("\n") == 1
