"""`make bench` compares `funnel report` with a DuckDB and a pandas baseline: they must agree.

duckdb and pandas come with `make test` (the bench extra): without them this fails, it is
not skipped, so that an agreement never tested cannot pass as one that holds.
"""

from __future__ import annotations

import json
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import duckdb  # noqa: F401  (the bench extra: missing, the suite fails here, by name)
import pandas  # noqa: F401
from benchmarks.baselines import Figures, duckdb_figures, from_tool_report, pandas_figures
from benchmarks.generate import FUNNEL_YAML, OWNERS, STAGES, write_export
from benchmarks.run import differences
from typer.testing import CliRunner

from funnelcli.cli import app

DEALS = 2_000


def _tool_figures(export: Path, funnel: Path) -> Figures:
    """The same command the benchmark times, in-process."""
    arguments = ["report", str(export), "--funnel", str(funnel), "--as-of", "2025-12-01"]
    arguments += ["--by", "Deal owner", "--format", "json"]
    result = CliRunner().invoke(app, arguments, prog_name="funnel")
    assert result.exit_code == 0, result.output
    return from_tool_report(json.loads(result.stdout, parse_float=Decimal))


def test_tool_duckdb_and_pandas_compute_the_same_figures(tmp_path: Path) -> None:
    export, funnel = tmp_path / "deals.csv", tmp_path / "funnel.yaml"
    write_export(DEALS, export)
    funnel.write_text(FUNNEL_YAML, encoding="utf-8")

    tool = _tool_figures(export, funnel)
    results = {"tool": tool, "duckdb": duckdb_figures(export), "pandas": pandas_figures(export)}

    assert differences(results) == []
    assert results["duckdb"] == tool
    assert results["pandas"] == tool
    # Not agreement on nothing: every deal reached the first stage, some were won, and the
    # README's identity holds: reached[i] = reached[i+1] + current[i] + lost[i].
    stages = tool["stages"]
    assert [stage["name"] for stage in stages] == [*STAGES, "Closed Won"]
    assert stages[0]["reached"] == DEALS
    assert tool["won"]["count"] == stages[-1]["reached"] > 0
    for here, after in pairwise(stages):
        assert here["reached"] == after["reached"] + here["current"] + here["lost"]
    assert set(tool["reached_by_owner"]) == set(OWNERS)
    assert sum(row[0] for row in tool["reached_by_owner"].values()) == DEALS
    assert tool["median_cycle_days"] is not None


def test_differences_names_each_figure_that_differs() -> None:
    same: Figures = {"stages": [{"reached": 10, "lost": 2}], "won": {"value": "5.00"}}
    other: Figures = {"stages": [{"reached": 10, "lost": 3}], "won": {"value": "5.01"}}
    assert differences({"tool": same, "duckdb": same, "pandas": same}) == []
    assert differences({"tool": same, "duckdb": other, "pandas": same}) == [
        "stages[0].lost: tool 2, duckdb 3, pandas 2",
        "won.value: tool 5.00, duckdb 5.01, pandas 5.00",
    ]
