"""A report that leaves out more than a tenth of its rows says so at its top, in JSON and,
with ``--max-skipped`` or ``alerts: max_skipped``, as an alert (exit 1).

tests/data/fit/one_of_four_skipped.csv: rows 2 and 3 won (closedwon), row 4 an unknown
label ('Nope', skipped), row 5 open at SQL (qualifiedtobuy): 1 of 4 rows read skipped, 25%,
against tests/data/fit/hubspot_ids.yaml, a funnel that knows the other two labels.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ..conftest import ROOT
from ..processes import run_funnel

EXPORT = "tests/data/fit/one_of_four_skipped.csv"
FUNNEL = "tests/data/fit/hubspot_ids.yaml"
WARNING = (
    "25% of the rows read (1 of 4) were skipped: the figures below leave them out. The "
    "reasons are at the end and on stderr."
)


def _report(*args: str, export: str = EXPORT) -> tuple[int, str, list[str]]:
    environment = {**os.environ, "COLUMNS": "200"}
    done = run_funnel(
        "report",
        export,
        "--funnel",
        FUNNEL,
        "--as-of",
        "2026-01-01",
        *args,
        env=environment,
        cwd=ROOT,
    )
    return done.returncode, done.stdout, done.stderr.splitlines()


def test_json_carries_the_share_of_rows_skipped() -> None:
    code, stdout, _ = _report("--format", "json")
    rows = json.loads(stdout)["rows"]
    assert code == 0
    assert (rows["read"], rows["skipped"], rows["skipped_share"]) == (4, 1, 1 / 4)


def test_the_table_says_so_above_the_stage_table() -> None:
    code, stdout, _ = _report("--format", "table")
    lines = stdout.splitlines()
    assert code == 0
    warning_at = lines.index(f"Warning: {WARNING}")
    stage_header_at = next(i for i, line in enumerate(lines) if line.startswith("Stage "))
    assert warning_at < stage_header_at


def test_markdown_says_so_under_its_title() -> None:
    code, stdout, _ = _report("--format", "markdown")
    assert code == 0
    assert stdout.splitlines()[4] == f"**Warning:** {WARNING}"


@pytest.mark.parametrize(
    ("threshold", "code"),
    [("20%", 1), ("0.2", 1), ("25%", 0), ("30%", 0)],
)
def test_max_skipped_fires_above_its_share(threshold: str, code: int) -> None:
    done_code, stdout, stderr = _report("--format", "json", "--max-skipped", threshold)
    assert done_code == code
    alerts = json.loads(stdout)["alerts"]
    if code == 1:
        assert stderr[-1] == (
            "alert: 25% of the rows read were skipped (1 of 4), more than the 20% allowed"
        )
        assert [(a["rule"], a["threshold"], a["actual"]) for a in alerts] == [
            ("max_skipped", 0.2, 0.25)
        ]
    else:
        assert alerts == []


def test_max_skipped_from_the_funnel_file(tmp_path: Path) -> None:
    funnel = tmp_path / "funnel.yaml"
    funnel.write_text(
        "name: HubSpot default\n"
        "stages:\n"
        "  - {name: SQL, conversion: 50%, aliases: [qualifiedtobuy]}\n"
        "  - {name: Won, aliases: [closedwon]}\n"
        "alerts:\n"
        "  max_skipped: 10%\n"
    )
    code, _, stderr = _report("--format", "json", "--funnel", str(funnel))
    assert code == 1
    assert (
        stderr[-1] == "alert: 25% of the rows read were skipped (1 of 4), more than the 10% allowed"
    )


def test_a_tenth_skipped_is_not_announced(tmp_path: Path) -> None:
    """1 of 10 rows skipped is exactly a tenth: the rule is "more than a tenth"."""
    export = tmp_path / "deals.csv"
    rows = ["Deal Name,Deal Stage,Amount", "X,Nope,1"] + [f"D{n},closedwon,100" for n in range(9)]
    export.write_text("\n".join(rows) + "\n")
    code, stdout, _ = _report("--format", "table", export=str(export))
    assert code == 0
    assert "Warning:" not in stdout
    code, stdout, _ = _report("--format", "json", export=str(export))
    assert json.loads(stdout)["rows"]["skipped_share"] == 1 / 10


def test_the_workbook_says_so_in_its_first_summary_row(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "report.xlsx"
    code, _, _ = _report("--format", "xlsx", "--output", str(out))
    assert code == 0
    sheet = load_workbook(out)["Summary"]
    assert [sheet["A2"].value, sheet["B2"].value] == ["Warning", WARNING]
