"""Command-line and plan defects found in real use, each through a real process.

Every run is ``python -m funnelcli ...`` in its own session, killed with its group if the
test fails, and checked on stdout, stderr and the exit code.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import DATA, ROOT
from ..processes import run

TIMEOUT = 120


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def funnel(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Done:
    """``funnel ARGS`` as a real process (tests/processes.py: its group is killed whatever
    happens)."""
    environment = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    environment.update({"COLUMNS": "80", "TERM": "dumb"})
    environment.update(env or {})
    done = run(
        [sys.executable, "-m", "funnelcli", *args], cwd=cwd, env=environment, timeout=TIMEOUT
    )
    return Done(done.returncode, done.stdout, done.stderr)


# --- 1. `funnel` alone --------------------------------------------------------------------


def test_funnel_alone_prints_the_help_and_no_error_line() -> None:
    done = funnel()
    # Exit 2, the usage code, as click does for a group called without a command.
    assert done.returncode == 2
    assert done.stdout.startswith("Usage: funnel [OPTIONS] COMMAND [ARGS]...")
    for command in ("plan", "report", "inspect", "trend", "validate", "init", "completion"):
        assert f"\n  {command} " in done.stdout
    assert done.stderr == ""


# --- 5. pacing at --confidence --------------------------------------------------------------

PACED = [
    "plan",
    "sample_funnels/b2b_saas.yaml",
    "--target",
    "1.2M",
    "--confidence",
    "90%",
    "--as-of",
    "2026-12-01",
    "--by",
    "2027-03-31",
]


def test_the_schedule_paces_the_confidence_count_and_the_summary_matches_it() -> None:
    done = funnel(*PACED, "--format", "json")
    assert done.returncode == 0, done.stderr
    pacing = json.loads(done.stdout)["pacing"]
    # $1.2M / $24,000 = 50 deals; won from Lead = 25% x 40% x 50% x 30% = 3/200; at 90%
    # 3,945 leads (test_the_confidence_count_is_the_binomial_one).
    assert pacing["leads"] == 3945
    assert pacing["paced_at_confidence"] == 0.9
    # Window 2026-12-01 .. 2027-02-03 (2027-03-31 less the 5+7+14+30 = 56-day cycle): 65
    # days. December: ceil(3945 x 31/65) = ceil(1881.46) = 1882; to January's end
    # ceil(3945 x 62/65) = ceil(3762.92) = 3763, so January 3763 - 1882 = 1881; February
    # 3945 - 3763 = 182.
    assert [(row["period"], row["leads"]) for row in pacing["schedule"]] == [
        ("2026-12", 1882),
        ("2027-01", 1881),
        ("2027-02", 182),
    ]
    assert (pacing["leads_per_period_least"], pacing["leads_per_period"]) == (1881, 1882)
    table = funnel(*PACED)
    assert table.returncode == 0, table.stderr
    text = " ".join(table.stdout.split())
    assert (
        "Pacing: 3,945 leads (the 90% confidence count) enter from 2026-12-01 to 2027-02-03 "
        "(65 days; 56-day cycle to close by 2027-03-31): 1,881 to 1,882 per full month."
    ) in text
    assert "2026-12 2026-12-01 2026-12-31 1,882" in text
    assert "2027-01 2027-01-01 2027-01-31 1,881" in text
    assert "2027-02 2027-02-01 2027-02-03 182" in text


def test_the_confidence_count_is_the_binomial_one() -> None:
    """3,945 by hand: P(at least 50 wins of N at 3/200) first reaches 90% at N = 3,945.

    Summed in floating point here (exact sums over 3,945 terms are slow): the margin at
    3,944 and 3,945 is far above its rounding error.
    """
    p = 3 / 200

    def at_least_50(trials: int) -> float:
        term = (1 - p) ** trials  # P(0 wins)
        below = 0.0
        for wins in range(50):
            below += term
            term *= (trials - wins) / (wins + 1) * p / (1 - p)
        return 1 - below

    assert at_least_50(3944) < 0.9 <= at_least_50(3945)


def test_pacing_without_confidence_paces_the_expected_count() -> None:
    done = funnel(*PACED[:3], *PACED[3:4], *PACED[6:], "--format", "json")
    assert done.returncode == 0, done.stderr
    pacing = json.loads(done.stdout)["pacing"]
    # 50 / (3/200) = 3,333.3 -> 3,334 leads: ceil(3334 x 31/65) = 1591, ceil(3334 x 62/65)
    # = 3181 (January 1590), February 153.
    assert pacing["leads"] == 3334
    assert pacing["paced_at_confidence"] is None
    assert [row["leads"] for row in pacing["schedule"]] == [1591, 1590, 153]
    assert (pacing["leads_per_period_least"], pacing["leads_per_period"]) == (1590, 1591)


def test_a_window_with_no_full_month_gives_its_total_not_a_monthly_rate() -> None:
    """--as-of 2026-12-10 --by 2027-02-20: the last lead enters 56 days before, on
    2026-12-26; 17 days, all in part of December. 3,945 leads a month would be false."""
    arguments = ["plan", "--target", "1.2M", "--confidence", "90%", "--as-of", "2026-12-10"]
    arguments += ["--by", "2027-02-20"]
    table = funnel(*arguments)
    assert table.returncode == 0, table.stderr
    text = " ".join(table.stdout.split())
    assert (
        "Pacing: 3,945 leads (the 90% confidence count) enter from 2026-12-10 to 2026-12-26 "
        "(17 days; 56-day cycle to close by 2027-02-20): all 3,945 in these 17 days (no full "
        "month in the window)."
    ) in text
    assert "per month" not in text.replace("Leads to add per month", "")
    done = funnel(*arguments, "--format", "json")
    pacing = json.loads(done.stdout)["pacing"]
    assert [(row["period"], row["leads"]) for row in pacing["schedule"]] == [("2026-12", 3945)]
    assert (pacing["leads_per_period_least"], pacing["leads_per_period"]) == (None, None)


# --- 6. Too late is the alert code ------------------------------------------------------------

LATE = ["plan", "--target", "1.2M", "--as-of", "2026-12-01", "--by", "2027-01-15"]


@pytest.mark.parametrize("output_format", ["table", "json", "csv", "markdown"])
def test_a_plan_too_late_for_its_deadline_is_written_then_exits_1(output_format: str) -> None:
    done = funnel(*LATE, "--format", output_format)
    assert done.returncode == 1
    # 2027-01-15 less the built-in funnel's 56-day cycle is 2026-11-20, before 2026-12-01.
    assert done.stderr == (
        "alert: Too late for 2027-01-15: with a 56-day cycle the last lead had to enter by "
        "2026-11-20\n"
    )
    assert done.stdout  # the plan is still written
    if output_format == "json":
        assert json.loads(done.stdout)["pacing"]["feasible"] is False
    if output_format == "csv":
        assert done.stdout.splitlines()[0].startswith("stage,")
    if output_format in ("table", "markdown"):
        assert "Too late for 2027-01-15" in done.stdout


def test_a_plan_too_late_to_a_file_is_written_then_exits_1(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    done = funnel(*LATE, "--output", str(target))
    assert done.returncode == 1
    assert json.loads(target.read_text("utf-8"))["pacing"]["last_lead_entry"] == "2026-11-20"


def test_a_plan_in_time_exits_0() -> None:
    done = funnel("plan", "--target", "1.2M", "--as-of", "2026-12-01", "--by", "2027-03-31")
    assert (done.returncode, done.stderr) == (0, "")


# --- 7. counts in alert lines -----------------------------------------------------------------


def test_the_stale_alert_separates_thousands() -> None:
    # Stale: an Engaging deal older than 2 x 60 days on 2017-12-31 (Prospecting deals have
    # no date to age); counted here from the CSV itself.
    as_of = dt.date(2017, 12, 31)
    with (ROOT / "examples" / "maven_pipeline.csv").open(encoding="utf-8", newline="") as file:
        stale = sum(
            1
            for row in csv.DictReader(file)
            if row["deal_stage"] == "Engaging"
            and (as_of - dt.date.fromisoformat(row["engage_date"])).days > 120
        )
    assert stale > 1000  # the figure needs a separator
    done = funnel(
        "report",
        "examples/maven_pipeline.csv",
        "--funnel",
        "sample_funnels/maven_crm.yaml",
        "--as-of",
        "2017-12-31",
        "--max-stale",
        "1000",
        "--format",
        "json",
    )
    assert done.returncode == 1
    assert done.stderr == f"alert: {stale:,} deals are stale, more than the 1,000 allowed\n"


# --- 3. shell completion ----------------------------------------------------------------------

COMMAND_NAMES = ["plan", "report", "inspect", "trend", "validate", "init", "completion"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_shell_s_script(shell: str) -> None:
    done = funnel("completion", shell)
    assert done.returncode == 0, done.stderr
    # The script calls funnel back with the variable the group answers.
    assert "_FUNNEL_COMPLETE=complete_" + shell in done.stdout
    assert "funnel" in done.stdout
    if shell == "bash":
        assert "complete -o default -F _funnel_completion funnel" in done.stdout


def test_completion_refuses_an_unknown_shell() -> None:
    done = funnel("completion", "tcsh")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "error: completion: 'tcsh' is not a shell funnel completes; use bash, zsh or fish\n"
    )


@pytest.mark.parametrize("instruction", ["bash_complete", "complete_bash"])
def test_a_completion_request_returns_the_command_names(instruction: str) -> None:
    every = funnel(
        env={"COMP_WORDS": "funnel ", "COMP_CWORD": "1", "_FUNNEL_COMPLETE": instruction}
    )
    assert (every.returncode, every.stderr) == (0, "")
    assert every.stdout.split() == COMMAND_NAMES
    some = funnel(
        env={"COMP_WORDS": "funnel tr", "COMP_CWORD": "1", "_FUNNEL_COMPLETE": instruction}
    )
    assert some.stdout.split() == ["trend"]


def test_a_completion_request_returns_a_command_s_options() -> None:
    done = funnel(
        env={
            "COMP_WORDS": "funnel plan --conf",
            "COMP_CWORD": "2",
            "_FUNNEL_COMPLETE": "complete_bash",
        }
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.split() == ["--confidence"]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("funnel report deals.csv --format ", ["table", "json", "csv", "markdown", "xlsx", "html"]),
        ("funnel plan -f m", ["markdown"]),
        ("funnel trend history.db --format ", ["table", "json", "csv"]),
        ("funnel completion ", ["bash", "zsh", "fish"]),
        ("funnel completion z", ["zsh"]),
    ],
)
def test_a_completion_request_returns_the_values_of_format_and_shell(
    words: str, expected: list[str]
) -> None:
    current = len(words.split()) - (0 if words.endswith(" ") else 1)
    done = funnel(
        env={"COMP_WORDS": words, "COMP_CWORD": str(current), "_FUNNEL_COMPLETE": "complete_bash"}
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.split() == expected


def test_the_completion_formats_are_the_output_formats() -> None:
    from funnelcli.commands.common import FORMAT_NAMES
    from funnelcli.render.output import FORMATS

    assert FORMAT_NAMES == FORMATS


@pytest.mark.parametrize("option", ["--install-completion", "--show-completion"])
def test_typer_s_completion_options_point_to_the_completion_command(option: str) -> None:
    done = funnel(option)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "error: --install-completion, --show-completion: funnel prints its script with "
        "'funnel completion SHELL'; use: eval \"$(funnel completion bash)\" in ~/.bashrc "
        "(zsh, fish: see 'funnel completion --help')\n"
    )
    assert option not in funnel("--help").stdout  # hidden: the command is the way


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_bash_script_completes_in_bash() -> None:
    """The printed script, loaded into a real bash, fills COMPREPLY from funnel itself."""
    script = (
        'eval "$(funnel completion bash)"; COMP_WORDS=(funnel re); COMP_CWORD=1; '
        '_funnel_completion funnel; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    bin_dir = str(Path(sys.executable).parent)
    if shutil.which("funnel", path=bin_dir) is None:
        pytest.skip("no funnel console script beside this Python")
    environment = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    done = run(
        ["bash", "--norc", "--noprofile", "-c", script], env=environment, cwd=ROOT, timeout=TIMEOUT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["report"]


# --- 4. a currency in a typed amount ----------------------------------------------------------

EUR_FUNNEL = "tests/data/cli_defects/eur_funnel.yaml"


@pytest.mark.parametrize(
    ("option", "value", "bare"),
    [
        ("--target", "€500k", "500k"),
        ("--target", "500k€", "500k"),
        ("--target", "500k EUR", "500k"),
        ("--deal-value", "€24k", "24k"),
        ("--cost-per-lead", "EUR 45", "45"),
    ],
)
def test_an_amount_in_another_currency_than_the_funnel_s_is_refused(
    option: str, value: str, bare: str
) -> None:
    arguments = {"--target": "1.2M", option: value}
    done = funnel("plan", *(item for pair in arguments.items() for item in pair))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"error: {option}: '{value}' is in EUR, but the funnel's currency is USD; "
        f"give the amount in USD, like {bare} or {bare} USD\n"
    )


def test_booked_in_another_currency_is_refused() -> None:
    export = "tests/data/history_cli/deals.csv"
    done = funnel(
        "plan", EUR_FUNNEL, "--target", "500k", "--credit-pipeline", export, "--booked", "$50k"
    )
    assert done.returncode == 2
    assert done.stderr == (
        "error: --booked: '$50k' is in dollars ($), but the funnel's currency is EUR; "
        "give the amount in EUR, like 50k or 50k EUR\n"
    )


@pytest.mark.parametrize("target", ["$500k", "500k$", "USD 500k", "500k USD", "500 000 $", "500k"])
def test_an_amount_in_the_funnel_s_currency_is_planned(target: str) -> None:
    done = funnel("plan", "--target", target, "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    # $500,000 / $24,000 = 20.8 -> 21 deals.
    assert (data["target_revenue"], data["deals_needed"]) == (500_000, 21)


@pytest.mark.parametrize("target", ["€500k", "500 000 €", "EUR 500k"])
def test_euros_on_a_euro_funnel_are_planned(target: str) -> None:
    done = funnel("plan", EUR_FUNNEL, "--target", target, "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    # €500,000 / €20,000 = 25 deals; at 50% then 20%: 50 opportunities, 250 leads.
    assert (data["currency"], data["deals_needed"], data["leads_needed"]) == ("EUR", 25, 250)


# --- 9. a stage history joined by name, two deals sharing the name -----------------------------

SHARED = DATA / "cli_defects"
ZOHO_FUNNEL = str(DATA / "history_cli_cases" / "zoho_funnel.yaml")


@pytest.mark.parametrize("order", ["lost_first", "open_first"])
def test_deals_sharing_a_name_take_no_history_whatever_their_order(order: str) -> None:
    """shared_history.csv (Zoho: names only) holds "Acme renewal" (Q 06-01, NA 06-10,
    Pr 06-20, lost 07-01) and "Globex pilot" (Q, NA, Pr, N, won 07-10). The export has
    two deals named Acme renewal (ids ...01 lost, ...02 open at Needs Analysis) and
    Globex pilot (won), in either order.

    Neither Acme deal may take the history, which is one of theirs but not known whose:
    ...01 is lost at no known stage, so lost at the first (reached Q); ...02 is open at
    NA (reached Q, NA); Globex reached every stage. Reached Q 3, NA 2, Pr 1, N 1, Won 1;
    current NA 1; lost Q 1. (Before, the first Acme in the file took the history: lost
    first, it died at Proposal, reached NA 3 and Pr 2.)
    """
    done = funnel(
        "report",
        str(SHARED / f"shared_deals_{order}.csv"),
        "--funnel",
        ZOHO_FUNNEL,
        "--history",
        str(SHARED / "shared_history.csv"),
        "--as-of",
        "2024-10-31",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    stages = data["stages"]
    assert [stage["reached"] for stage in stages] == [3, 2, 1, 1, 1]
    assert [stage["current"] for stage in stages] == [0, 1, 0, 0, 0]
    assert [stage["lost"] for stage in stages] == [1, 0, 0, 0, 0]
    history = data["history"]
    assert history["ambiguous_names"] == 2  # both Acme deals
    assert history["deals_without_history"] == 2
    # Acme renewal's 4 rows are refused, said with the shared name: not "matching no deal",
    # since two deals of the export have that name; Globex's 5 rows joined.
    assert (history["unmatched_rows"], history["unmatched_deals"]) == (0, 0)
    assert history["shared_name_rows"] == 4
    first_spelling = "Acme renewal" if order == "lost_first" else "Acme Renewal"
    export = str(SHARED / f"shared_deals_{order}.csv")
    assert (
        f"warning: {export}: 2 deals share a name with another deal ({first_spelling}): their "
        f"stage history (4 rows of {SHARED / 'shared_history.csv'}) is not used; add a deal id "
        "column to both files\n"
    ) in done.stderr
    # Both refused deals were just said: no line counts them again as deals without history.
    assert "match no deal" not in done.stderr
    assert "have no history" not in done.stderr


def test_shared_name_lines_count_refused_and_unmatched_apart(tmp_path: Path) -> None:
    """Each line true: the export also has a deal the history lacks (Initech), and the
    history a deal the export lacks (Umbrella, 2 rows). Refused: the two Acme deals and
    Acme's 4 rows; unmatched: Umbrella's 2 rows; without a history of their own: Initech."""
    export = tmp_path / "deals.csv"
    export.write_text(
        (SHARED / "shared_deals_lost_first.csv").read_text(encoding="utf-8")
        + "6000000000000000004,Lena Fischer,Initech deal,5000,2024-12-01,Qualification,"
        "2024-06-07 09:00:00\n",
        encoding="utf-8",
    )
    history = tmp_path / "history.csv"
    history.write_text(
        (SHARED / "shared_history.csv").read_text(encoding="utf-8")
        + "Umbrella,Needs Analysis,,20,,9000,1800,2024-09-01,Omar Haddad,2024-06-12 10:00:00\n"
        + "Umbrella,Qualification,2,10,Needs Analysis,9000,900,2024-09-01,Omar Haddad,"
        "2024-06-10 10:00:00\n",
        encoding="utf-8",
    )
    done = funnel(
        "report",
        str(export),
        "--funnel",
        ZOHO_FUNNEL,
        "--history",
        str(history),
        "--as-of",
        "2024-10-31",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "lost deal does not say" not in line]
    assert lines == [
        f"warning: {history}: 2 history rows (1 deal) match no deal in {export}; they are left out",
        f"warning: {export}: 2 deals share a name with another deal (Acme renewal): their stage "
        f"history (4 rows of {history}) is not used; add a deal id column to both files",
        f"warning: {export}: 1 other deal has no history in {history}; its stage dates come "
        "from the export alone",
    ]
    data = json.loads(done.stdout)["history"]
    assert (data["unmatched_rows"], data["unmatched_deals"], data["shared_name_rows"]) == (2, 1, 4)
    assert data["deals_without_history"] == 3  # the two Acme deals and Initech
    arguments = [str(export), "--funnel", ZOHO_FUNNEL, "--history", str(history)]
    done = funnel("report", *arguments, "--as-of", "2024-10-31", "--format", "markdown", "-q")
    assert (  # the history file by its name: Markdown is forwarded
        "History: history.csv (Zoho): 11 rows read, 11 used, 0 skipped; 3 deals, 1 not in the "
        "export (2 rows); 4 rows under a name deals of the export share, unused; 3 deals of "
        "the export without history."
    ) in done.stdout


def test_the_shared_name_warning_is_quiet_with_quiet() -> None:
    done = funnel(
        "report",
        str(SHARED / "shared_deals_lost_first.csv"),
        "--funnel",
        ZOHO_FUNNEL,
        "--history",
        str(SHARED / "shared_history.csv"),
        "--as-of",
        "2024-10-31",
        "--format",
        "json",
        "--quiet",
    )
    assert (done.returncode, done.stderr) == (0, "")


# --- 2. help: formats and what each argument is -----------------------------------------------

HELP_METAVARS = {
    "plan": [
        "[FUNNEL]",
        "--target AMOUNT",
        "--deal-value AMOUNT",
        "--confidence PERCENT",
        "--by DATE",
        "--period PERIOD",
        "--per month|week",
        "--as-of DATE",
        "--cost-per-lead AMOUNT",
        "--rates-from EXPORT",
        "--credit-pipeline EXPORT",
        "--booked AMOUNT",
        "--format FORMAT",
        "--output FILE",
    ],
    "report": [
        "EXPORT",
        "--funnel FILE",
        "--sheet SHEET",
        "--as-of DATE",
        "--date-format PATTERN",
        "--encoding ENCODING",
        "--stale-days DAYS",
        "--by COLUMN",
        "--pipeline NAME",
        "--since DATE",
        "--until DATE",
        "--where COLUMN=VALUE",
        "--cohort month|quarter",
        "--fail-below STAGE=RATE",
        "--max-stale N",
        "--min-win-rate RATE",
        "--save-snapshot FILE",
        "--history FILE",
        "--compare-to DATE",
        "--format FORMAT",
        "--output FILE",
    ],
    "inspect": [
        "EXPORT",
        "--funnel FILE",
        "--sheet SHEET",
        "--encoding ENCODING",
        "--history FILE",
    ],
    "init": ["[FILE]", "--from EXPORT", "--sheet SHEET", "--encoding ENCODING"],
    "validate": ["FUNNEL"],
    "trend": ["FILE", "--name NAME", "--last N", "--format table|json|csv", "--output FILE"],
    "completion": ["bash|zsh|fish"],
}


@pytest.mark.parametrize("command", list(HELP_METAVARS))
def test_help_names_what_each_value_is(command: str) -> None:
    done = funnel(command, "--help")
    assert (done.returncode, done.stderr) == (0, "")
    for shown in HELP_METAVARS[command]:
        assert shown in done.stdout, shown
    assert "<str>" not in done.stdout
    assert "<int>" not in done.stdout


@pytest.mark.parametrize("command", ["plan", "report"])
def test_help_lists_every_output_format(command: str) -> None:
    from funnelcli.render.output import FORMATS

    done = funnel(command, "--help")
    text = " ".join(done.stdout.split())
    listed = ", ".join(FORMATS[:-1]) + f" or {FORMATS[-1]}"
    assert listed == "table, json, csv, markdown, xlsx or html"
    assert listed in text


# --- 8. what --as-of changes, for trend ---------------------------------------------------------

MAVEN = ["examples/maven_pipeline.csv", "--funnel", "sample_funnels/maven_crm.yaml", "--quiet"]
SALESFORCE = DATA / "history_cli_cases"


def test_without_history_two_dates_of_one_export_make_the_same_snapshot(tmp_path: Path) -> None:
    database = str(tmp_path / "history.db")
    for day in ("2017-03-31", "2017-12-31"):
        saved = funnel(
            "report", *MAVEN, "--as-of", day, "--save-snapshot", database,
            "--output", str(tmp_path / f"{day}.json"),
        )  # fmt: skip
        assert (saved.returncode, saved.stderr) == (0, "")
    done = funnel("trend", database, "--format", "json")
    assert done.returncode == 0, done.stderr
    snapshots = json.loads(done.stdout)["snapshots"]
    assert [snapshot["as_of"] for snapshot in snapshots] == ["2017-03-31", "2017-12-31"]
    # Counted from the CSV: won and open (Prospecting or Engaging) deals, whatever the date.
    with (ROOT / "examples" / "maven_pipeline.csv").open(encoding="utf-8", newline="") as file:
        stages = [row["deal_stage"] for row in csv.DictReader(file)]
    won, still_open = stages.count("Won"), stages.count("Prospecting") + stages.count("Engaging")
    assert (won, still_open) == (4238, 2089)  # the README's old example showed Open 1,589
    for snapshot in snapshots:
        assert (snapshot["won"], snapshot["open"]) == (won, still_open)


def test_with_history_each_date_rebuilds_the_funnel(tmp_path: Path) -> None:
    database = str(tmp_path / "history.db")
    for day in ("2025-01-31", "2025-06-30"):
        saved = funnel(
            "report", str(SALESFORCE / "salesforce_deals.csv"),
            "-F", str(SALESFORCE / "salesforce_funnel.yaml"),
            "--history", str(SALESFORCE / "salesforce_history.csv"),
            "--as-of", day, "--save-snapshot", database, "-o", str(tmp_path / f"{day}.json"), "-q",
        )  # fmt: skip
        assert (saved.returncode, saved.stderr) == (0, "")
    done = funnel("trend", database, "--format", "json")
    snapshots = json.loads(done.stdout)["snapshots"]
    # From the timelines in test_history_cli.py's docstring: by 2025-01-31 five deals exist
    # (S01, S02, S04, S05, S06); S04 was lost on 01-29, none is won, 4 are open. By
    # 2025-06-30 S01, S02, S03 are won and S09 to S12 open.
    assert [(s["as_of"], s["won"], s["open"]) for s in snapshots] == [
        ("2025-01-31", 0, 4),
        ("2025-06-30", 3, 4),
    ]


@pytest.mark.parametrize("command", ["trend", "report"])
def test_help_says_what_as_of_changes_without_history(command: str) -> None:
    done = funnel(command, "--help")
    text = " ".join(done.stdout.split())
    assert "Without --history" in text
    assert "changes only the ages of open deals" in text
    assert "rebuilt as it stood" in text or "rebuilds the funnel as it stood" in text
