"""Exit codes through a real process with stdout piped, as cron runs the tool."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from ..conftest import MAVEN, ROOT
from ..processes import run_funnel


def funnel(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    return run_funnel(*args, cwd=ROOT, env=environment)


def test_success_is_0_with_data_on_stdout_only() -> None:
    done = funnel("report", *MAVEN, "--format", "json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["rows"]["read"] == 8800
    assert done.stderr == ""


def test_a_fired_alert_is_1_and_the_report_is_still_written() -> None:
    # Engaging resolves 4238 / 6711 = 63.2%: below 65% fires, below 60% does not.
    fired = funnel("report", *MAVEN, "--format", "json", "--fail-below", "Engaging=65%")
    assert fired.returncode == 1
    assert fired.stderr == "alert: Engaging resolved conversion 63.2% is below 65%\n"
    assert json.loads(fired.stdout)["alerts"][0]["rule"] == "fail_below"
    calm = funnel("report", *MAVEN, "--format", "json", "--fail-below", "Engaging=60%")
    assert calm.returncode == 0
    assert json.loads(calm.stdout)["alerts"] == []


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--target", "abc"],
        ["plan", "--target", "1M", "no/such.yaml"],
        ["report", "no/such.csv"],
        ["report", *MAVEN, "--fail-below", "Engaging"],
        ["report", *MAVEN, "--cohort", "fortnight"],
        ["plan", "--tagret", "1M"],
    ],
)
def test_usage_and_input_errors_are_2_with_one_line(args: list[str]) -> None:
    done = funnel(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: ")
    assert "Traceback" not in done.stderr


def test_no_colour_when_piped() -> None:
    done = funnel("report", *MAVEN)
    assert done.returncode == 0
    assert "\x1b[" not in done.stdout
    assert "Funnel report: Maven CRM pipeline" in done.stdout


def test_a_report_that_can_use_no_row_is_an_error_naming_the_labels_and_the_fix() -> None:
    """Pipedrive's default stages against a funnel file of other stages: a table of zeros
    with exit 0 would read as a real, empty pipeline; it is exit 2 and one line after the
    warnings. (With no funnel file the report builds the export's own funnel instead:
    tests/commands/test_own_funnel.py.)"""
    export = "tests/data/fit/pipedrive_default_stages.csv"
    done = funnel("report", export, "--format", "json", "--funnel", "sample_funnels/b2b_saas.yaml")
    assert (done.returncode, done.stdout) == (2, "")
    warning, error = done.stderr.splitlines()
    assert warning.startswith(f"warning: {export}: 4 rows skipped, unknown stage label: ")
    # 4 rows, all unknown labels; the most common first: Qualified (2 rows), then the
    # others in the order first seen.
    assert error == (
        f"error: {export}: no row could be used: all 4 rows read were skipped "
        "(unknown stage label 4); the funnel 'B2B SaaS' knows none of the "
        "labels 'Qualified', 'Contact Made', 'Proposal Made': write funnel.yaml from the "
        f"export with `funnel init --from {export}`, check its stages and run again, or add "
        "the labels to a stage's aliases: in sample_funnels/b2b_saas.yaml"
    )


def test_a_report_with_some_rows_used_is_not_refused() -> None:
    """One row of the same export in a stage the funnel knows: a report, exit 0."""
    done = funnel(
        "report",
        "tests/data/fit/pipedrive_default_stages.csv",
        "--format",
        "json",
        "--quiet",
        "--funnel",
        "tests/data/fit/one_known_stage.yaml",
    )
    assert done.returncode == 0
    rows = json.loads(done.stdout)["rows"]
    # Qualified (rows 2 and 5) is the funnel's first stage; the other two labels are not.
    assert (rows["read"], rows["used"], rows["skipped"]) == (4, 2, 2)
