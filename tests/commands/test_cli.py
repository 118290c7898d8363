"""The command line through typer's CliRunner: every option, every error, whole messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from funnelcli import __version__
from funnelcli.cli import app

from ..conftest import DATA, THEIRS, line_matching
from ..processes import run_funnel

FUNNEL = str(DATA / "cli" / "readme_funnel.yaml")
runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, list(args), prog_name="funnel")


def plan_json(*args: str) -> dict[str, object]:
    result = run("plan", FUNNEL, "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"funnel {__version__}\n"


def test_python_dash_m_runs_the_same_app() -> None:
    completed = run_funnel("--version")
    assert completed.returncode == 0
    assert completed.stdout == f"funnel {__version__}\n"


@pytest.mark.parametrize("command", ["plan", "report", "inspect", "trend", "validate", "init"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example: funnel " in result.stdout


def test_readme_example_numbers() -> None:
    # 1,200,000 / 24,000 = 50 deals; cumulative rates from each stage to won:
    # Lead .25*.4*.5*.3 = .015 -> 50/.015 = 3333.3 -> 3334; MQL .06 -> 833.3 -> 834;
    # SQL .15 -> 333.3 -> 334; Opportunity .3 -> 166.7 -> 167; Won 50.
    data = plan_json("--target", "1.2M", "--deal-value", "24k")
    assert data["deals_needed"] == 50
    assert data["leads_needed"] == 3334
    stages = data["stages"]
    assert isinstance(stages, list)
    assert [stage["needed"] for stage in stages] == [3334, 834, 334, 167, 50]
    assert [stage["conversion_to_next"] for stage in stages] == [0.25, 0.4, 0.5, 0.3, None]
    assert [stage["cumulative_to_won"] for stage in stages] == [0.015, 0.06, 0.15, 0.3, 1.0]
    assert data["target_revenue"] == 1200000
    assert data["average_deal_value"] == 24000
    assert data["funnel"] == "B2B SaaS"
    assert data["currency"] == "USD"


@pytest.mark.parametrize("target", ["1200000", "1,200,000", "1_200_000", "1.2M", "1200k", "$1.2M"])
def test_target_forms(target: str) -> None:
    assert plan_json("--target", target)["target_revenue"] == 1200000


def test_deal_value_comes_from_the_yaml_when_not_given(tmp_path: Path) -> None:
    # The README funnel's 24,000 is the built-in default's too: 32,000 tells the file's apart.
    text = Path(FUNNEL).read_text(encoding="utf-8")
    file = tmp_path / "funnel.yaml"
    file.write_text(text.replace("average_deal_value: 24000", "average_deal_value: 32000"))
    result = run("plan", str(file), "--target", "480000", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    # 480,000 / 32,000 = 15 deals (the default's 24,000 would give 20).
    assert (data["average_deal_value"], data["deals_needed"]) == (32000, 15)


def test_deal_value_option_overrides_the_yaml() -> None:
    # 480,000 / 30,000 = 16 deals.
    assert plan_json("--target", "480k", "--deal-value", "30,000")["deals_needed"] == 16


def test_confidence() -> None:
    data = plan_json("--target", "1.2M", "--confidence", "90%")
    confidence = data["confidence"]
    assert isinstance(confidence, dict)
    assert confidence["level"] == 0.9
    names = [stage["name"] for stage in confidence["stages"]]
    assert names == ["Lead", "MQL", "SQL", "Opportunity", "Won"]
    # At 90% you need more than the expected-value plan, and exactly 50 at the won stage.
    needed = [stage["needed"] for stage in confidence["stages"]]
    assert needed[-1] == 50
    assert all(high > low for high, low in zip(needed[:-1], [3334, 834, 334, 167], strict=True))
    assert confidence["leads_needed"] == needed[0]


def test_budget_from_yaml_and_option() -> None:
    # cost_per_lead 45 in the file: 3334 x 45 = 150,030; per won deal 150,030 / 50 = 3,000.60.
    budget = plan_json("--target", "1.2M")["budget"]
    assert budget == {
        "cost_per_lead": 45,
        "lead_budget": 150030,
        "cost_per_won_deal": 3000.6,
        "lead_budget_at_confidence": None,
    }
    # --cost-per-lead 50: 3334 x 50 = 166,700; / 50 = 3,334.
    budget = plan_json("--target", "1.2M", "--cost-per-lead", "50")["budget"]
    assert isinstance(budget, dict)
    assert budget["lead_budget"] == 166700
    assert budget["cost_per_won_deal"] == 3334


def test_pacing_by_deadline() -> None:
    # Stage days 5 + 7 + 14 + 30 = 56: the last lead enters 2027-03-31 - 56 days = 2027-02-03.
    # Window 2026-12-01 .. 2027-02-03 = 31 + 31 + 3 = 65 days.
    # Cumulative ceilings: Dec ceil(3334*31/65) = 1591; Jan ceil(3334*62/65) = 3181 -> 1590; Feb 153.
    pacing = plan_json("--target", "1.2M", "--by", "2027-03-31", "--as-of", "2026-12-01")["pacing"]
    assert isinstance(pacing, dict)
    assert pacing["last_lead_entry"] == "2027-02-03"
    assert pacing["cycle_days"] == 56
    assert pacing["window_days"] == 65
    assert pacing["feasible"] is True
    assert [(row["period"], row["leads"]) for row in pacing["schedule"]] == [
        ("2026-12", 1591),
        ("2027-01", 1590),
        ("2027-02", 153),
    ]


def test_pacing_enter_by_dates_per_stage() -> None:
    # Days to close from each stage: 56, 51, 44, 30, 0 before 2027-03-31.
    data = plan_json("--target", "1.2M", "--by", "2027-03-31", "--as-of", "2026-12-01")
    stages = data["stages"]
    assert isinstance(stages, list)
    assert [stage["enter_by"] for stage in stages] == [
        "2027-02-03",
        "2027-02-08",
        "2027-02-15",
        "2027-03-01",
        "2027-03-31",
    ]


def test_pacing_by_period_per_week() -> None:
    # 2027-Q1 ends 2027-03-31; last entry 2027-02-03; as of 2027-01-25 (a Monday):
    # weeks 2027-W04 (25th..31st, 7 days) and 2027-W05 (1st..3rd Feb, 3 days): 10 days.
    # ceil(3334*7/10) = 2334, then 1000.
    pacing = plan_json(
        "--target", "1.2M", "--period", "2027-Q1", "--per", "week", "--as-of", "2027-01-25"
    )["pacing"]
    assert isinstance(pacing, dict)
    assert [(row["period"], row["leads"]) for row in pacing["schedule"]] == [
        ("2027-W04", 2334),
        ("2027-W05", 1000),
    ]


def test_pacing_too_late() -> None:
    result = run(
        "plan",
        FUNNEL,
        "--format",
        "json",
        "--target",
        "1.2M",
        "--by",
        "2027-01-15",
        "--as-of",
        "2026-12-01",
    )
    assert result.exit_code == 1  # the alert code: the plan cannot be met in time
    pacing = json.loads(result.stdout)["pacing"]
    assert isinstance(pacing, dict)
    assert pacing["feasible"] is False
    assert pacing["schedule"] == []
    # 2027-01-15 - 56 days = 2026-11-20, before the as-of date.
    assert pacing["last_lead_entry"] == "2026-11-20"


def test_sensitivity_and_lever() -> None:
    data = plan_json("--target", "1.2M")
    # Raise Lead 25% -> 30%: 50 / (.3*.4*.5*.3 = .018) = 2777.8 -> 2778, saving 556.
    # MQL 40 -> 45%: 50 / .016875 = 2962.96 -> 2963 (371); SQL 50 -> 55%: 50/.0165 -> 3031 (303);
    # Opportunity 30 -> 35%: 50 / .0175 = 2857.1 -> 2858 (476).
    rows = data["sensitivity"]
    assert isinstance(rows, list)
    assert [(row["stage"], row["leads_needed"], row["leads_saved"]) for row in rows] == [
        ("Lead", 2778, 556),
        ("MQL", 2963, 371),
        ("SQL", 3031, 303),
        ("Opportunity", 2858, 476),
    ]
    assert data["lever"] == "Lead"


def test_csv_output() -> None:
    result = run("plan", FUNNEL, "--target", "1.2M", "--format", "csv")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "stage,needed,conversion_to_next,cumulative_to_won,needed_at_confidence,enter_by",
        "Lead,3334,0.25,0.015,,",
        "MQL,834,0.4,0.06,,",
        "SQL,334,0.5,0.15,,",
        "Opportunity,167,0.3,0.3,,",
        "Won,50,,1.0,,",
    ]


def test_markdown_output() -> None:
    result = run("plan", FUNNEL, "--target", "1.2M", "--format", "markdown")
    assert result.exit_code == 0
    assert "| Lead | 3,334 | 25% | 1.5% |" in result.stdout
    assert (
        "To book $1.2M at $24,000 per deal you need 50 won deals, which takes 3,334 leads at these rates."
        in result.stdout
    )


def test_table_output_names_the_figures() -> None:
    result = run("plan", FUNNEL, "--target", "1.2M")
    assert result.exit_code == 0
    assert "which takes 3,334 leads" in result.stdout
    assert (
        "Lever to pull first: Lead (25% -> 30%: 556 fewer leads, $25,020 saved)." in result.stdout
    )
    assert "\x1b[" not in result.stdout  # no colour when not a terminal


def test_default_funnel_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("plan", "--target", "1M", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["funnel"] == "B2B SaaS (built-in default)"
    assert data["funnel_source"] == "built-in default"


def test_local_funnel_yaml_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "funnel.yaml").write_text(Path(FUNNEL).read_text().replace("B2B SaaS", "Local"))
    monkeypatch.chdir(tmp_path)
    data = json.loads(run("plan", "--target", "1M", "--format", "json").stdout)
    assert data["funnel"] == "Local"
    assert data["funnel_source"] == "funnel.yaml"


def test_output_file_and_format_from_extension(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    result = run("plan", FUNNEL, "--target", "1.2M", "--output", str(target))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert json.loads(target.read_text())["leads_needed"] == 3334


def test_output_refuses_the_input_file() -> None:
    result = run("plan", FUNNEL, "--target", "1.2M", "--format", "json", "--output", FUNNEL)
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"error: --output {FUNNEL}: is an input file; write the output somewhere else\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--target", "abc"],
            "error: --target: 'abc' is not an amount; use 1200000, 1,200,000, 1_200_000, 1.2M, 250k or $1.2M",
        ),
        ([], "error: --target is required: the revenue to book, like --target 1.2M"),
        (["--target", "0"], "error: --target: must be above 0, got 0"),
        (["--target", "-5"], "error: --target: must be above 0, got -5"),
        (["--target", "1M", "--deal-value", "0"], "error: --deal-value: must be above 0, got 0"),
        (
            ["--target", "1M", "--confidence", "1"],
            "error: --confidence: must be a probability above 0 and below 1 (like 0.9 or 90%), got 1",
        ),
        (
            ["--target", "1M", "--confidence", "high"],
            "error: --confidence: expected a rate (like 0.35 or 35%), got 'high'",
        ),
        (
            ["--target", "1M", "--by", "2027-02-30"],
            "error: --by: '2027-02-30' is not a real date: February 2027 has 28 days",
        ),
        (
            ["--target", "1M", "--period", "2027-Q5"],
            "error: --period: '2027-Q5' is not a period; use a quarter (2027-Q1), a month (2027-03) or a year (2027)",
        ),
        (
            ["--target", "1M", "--by", "2027-03-31", "--period", "2027-Q1"],
            "error: --by and --period both give a deadline; pass one of them",
        ),
        (
            ["--target", "1M", "--per", "day"],
            "error: --per: 'day' is not a pacing bucket; use month or week",
        ),
        (
            ["--target", "1M", "--format", "pdf"],
            "error: --format: 'pdf' is not a format; use one of table, json, csv, markdown, xlsx, html",
        ),
        (
            ["--target", "1M", "--output", "plan.pdf"],
            "error: --output plan.pdf: cannot tell the format from '.pdf'; pass --format (table, json, csv, markdown, xlsx, html)",
        ),
    ],
)
def test_plan_usage_errors(args: list[str], message: str) -> None:
    result = run("plan", FUNNEL, *args)
    assert result.exit_code == 2
    assert result.stderr == message + "\n"
    assert result.stdout == ""


def test_an_unknown_option_is_one_line_naming_it() -> None:
    result = run("plan", FUNNEL, "--target", "1M", "--tagret", "5")
    assert (result.exit_code, result.stdout) == (2, "")
    # click's words around the option: any; the project's frame of the line: exact.
    expected = line_matching("error: ", THEIRS, "--tagret", THEIRS, "; see 'funnel plan --help'\n")
    assert expected.fullmatch(result.stderr), result.stderr


def test_missing_deal_value() -> None:
    path = str(DATA / "cli" / "no_deal_value.yaml")
    result = run("plan", path, "--target", "1M")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: no average deal value: pass --deal-value (like --deal-value 24k) "
        f"or set average_deal_value: in {path}\n"
    )


def test_pacing_without_days() -> None:
    path = str(DATA / "cli" / "no_days.yaml")
    result = run("plan", path, "--target", "1M", "--by", "2027-03-31")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}: pacing (--by or --period) needs days: on every stage but the last; missing on Lead\n"
    )


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        (
            "several_problems.yaml",
            [
                "stages[0].conversion: must be a rate between 0 and 1 (like 0.35 or 35%), got 0",
                "stages[1].name: 'lead' repeats stages[0].name; stage names must be unique (ignoring case)",
                "stages[2].conversion: must be a rate between 0 and 1 (like 0.35 or 35%), got 1.4",
                "stages[2].days: must be a number of days, 0 or more (like 14), got -2",
                "stages[1].conversion: missing for stage 'lead'; give the rate to the next stage, like 0.35 or 35%",
            ],
        ),
        (
            "one_stage.yaml",
            ["stages: needs at least two stages (a first stage and the won stage), got 1"],
        ),
    ],
)
def test_validate_reports_every_problem(name: str, lines: list[str]) -> None:
    path = str(DATA / "cli" / name)
    result = run("validate", path)
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {path}: {line}" for line in lines]
    assert "Traceback" not in result.stderr


def test_validate_warns_of_unknown_keys() -> None:
    path = str(DATA / "cli" / "several_problems.yaml")
    result = run("validate", path)
    assert (
        f"warning: {path}: stages[1].conversoin: unknown key, ignored; did you mean 'conversion'?\n"
        in (result.stderr)
    )


def test_validate_ok() -> None:
    result = run("validate", FUNNEL)
    assert result.exit_code == 0
    assert (
        result.stdout
        == f"{FUNNEL}: OK: 'B2B SaaS', 5 stages (Lead -> Won), 1.5% from first stage to won\n"
    )


def test_plan_with_bad_funnel_file() -> None:
    result = run("plan", "no/such/file.yaml", "--target", "1M")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: no/such/file.yaml: no such file; check the path, or run 'funnel init no/such/file.yaml' to write one\n"
    )


def test_init_writes_a_valid_file_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = str(tmp_path / "funnel.yaml")
    first = run("init", path)
    assert first.exit_code == 0
    assert run("validate", path).exit_code == 0
    again = run("init", path)
    assert again.exit_code == 2
    assert again.stderr == f"error: {path}: already exists; pass --force to overwrite it\n"
    assert run("init", path, "--force").exit_code == 0


def test_init_writes_the_built_in_funnel_with_its_aliases(tmp_path: Path) -> None:
    """`funnel init` then `funnel report` maps what the built-in default maps: the written
    file holds the same stages, rates, days, aliases (HubSpot's internal ids among them) and
    lost labels, so writing the file never makes a report worse."""
    from funnelcli.definition import default_funnel
    from funnelcli.loading import load_funnel_file

    path = tmp_path / "funnel.yaml"
    assert run("init", str(path)).exit_code == 0
    written = load_funnel_file(str(path)).funnel
    built_in = default_funnel()

    def shape(funnel: Any) -> list[tuple[object, ...]]:
        return [
            (stage.name, stage.conversion, stage.days, tuple(stage.aliases))
            for stage in funnel.stages
        ]

    assert shape(written) == shape(built_in)
    assert written.lost_labels == built_in.lost_labels == ("Closed Lost", "Lost", "closedlost")
    # HubSpot's ids, written out by hand: the default maps these without a file.
    aliases = {alias for stage in written.stages for alias in stage.aliases}
    assert {"marketingqualifiedlead", "qualifiedtobuy", "contractsent", "closedwon"} <= aliases


def test_no_traceback_for_a_directory_as_funnel(tmp_path: Path) -> None:
    result = run("plan", str(tmp_path), "--target", "1M")
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"error: {tmp_path}: is a folder, not a funnel file; give the path of a .yaml file\n"
    )


def test_a_bug_says_so_in_one_line_before_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import funnelcli.plan

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(funnelcli.plan, "make_plan", broken)
    result = run("plan", FUNNEL, "--target", "1M")
    assert result.exit_code == 70
    first, *rest = result.stderr.splitlines()
    assert first == (
        f"error: internal error (a bug in funnel {__version__}): RuntimeError: boom; "
        "please report it with the command line; details follow"
    )
    assert rest[0] == "Traceback (most recent call last):"
