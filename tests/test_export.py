"""readers/export.py: reading with two processes gives exactly the one-process report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from funnelcli.definition import default_funnel
from funnelcli.loading import load_funnel_file
from funnelcli.readers.export import ReadOptions, report_export
from funnelcli.render.report_files import report_json

from .conftest import DATA, ROOT

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
