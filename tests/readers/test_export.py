"""readers/export.py: reading with two processes gives exactly the one-process report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from funnelcli.definition import default_funnel
from funnelcli.loading import load_funnel_file
from funnelcli.readers.export import ReadOptions, report_export
from funnelcli.render.json_report import report_json

from ..conftest import DATA, ROOT

EXPORTS = DATA / "exports"
CASES = [
    (ROOT / "examples" / "maven_pipeline.csv", ROOT / "sample_funnels" / "maven_crm.yaml"),
    (EXPORTS / "hubspot_deals.csv", EXPORTS / "hubspot_funnel.yaml"),
    (EXPORTS / "hubspot_internal.csv", EXPORTS / "hubspot_funnel.yaml"),
    (EXPORTS / "salesforce_report.csv", EXPORTS / "salesforce_funnel.yaml"),
    # cp1250 bytes cp1252 leaves undefined, and day-first dates: both re-reads must re-detect.
    (EXPORTS / "salesforce_cp1250.csv", EXPORTS / "salesforce_funnel.yaml"),
    (EXPORTS / "pipedrive_deals.csv", EXPORTS / "pipedrive_funnel.yaml"),
    (EXPORTS / "pipedrive_multicurrency.csv", EXPORTS / "pipedrive_funnel.yaml"),
    (EXPORTS / "zoho_deals.csv", EXPORTS / "zoho_funnel.yaml"),
    (EXPORTS / "skips.csv", None),
]


def _report(export: Path, funnel_path: Path | None) -> str:
    funnel = load_funnel_file(str(funnel_path)).funnel if funnel_path else default_funnel()
    result = report_export(str(export), funnel, as_of=dt.date(2025, 11, 30), options=ReadOptions())
    return report_json(result, "funnel", "export")


@pytest.mark.parametrize(("export", "funnel"), CASES, ids=lambda value: getattr(value, "name", ""))
def test_two_processes_give_the_one_process_report(
    export: Path, funnel: Path | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUNNEL_WORKERS", "1")
    alone = _report(export, funnel)
    monkeypatch.setenv("FUNNEL_WORKERS", "2")
    shared = _report(export, funnel)
    assert shared == alone
    assert '"read": ' in alone  # a real report, not an error


def test_progress_is_reported_in_rising_row_counts(tmp_path: Path) -> None:
    from benchmarks.generate import FUNNEL_YAML, write_export

    path = tmp_path / "deals.csv"
    write_export(20_000, path)
    (tmp_path / "funnel.yaml").write_text(FUNNEL_YAML, encoding="utf-8")
    funnel = load_funnel_file(str(tmp_path / "funnel.yaml")).funnel
    calls: list[tuple[int, int]] = []
    report_export(
        str(path),
        funnel,
        as_of=dt.date(2025, 12, 1),
        options=ReadOptions(),
        progress=lambda done, expected: calls.append((done, expected)),
    )
    # Every 8,192 rows: 8,192 and 16,384 of 20,000.
    assert [done for done, _ in calls] == [8192, 16384]
    # The estimate from the file's first lines is close to the 20,000 rows written.
    assert all(abs(expected - 20_000) < 2_000 for _, expected in calls)


def test_no_progress_display_when_not_a_terminal() -> None:
    from typer.testing import CliRunner

    from funnelcli.cli import app

    result = CliRunner().invoke(
        app,
        ["report", str(CASES[0][0]), "--funnel", str(CASES[0][1]), "--as-of", "2017-12-31"],
        prog_name="funnel",
    )
    assert result.exit_code == 0
    assert result.stderr == ""
