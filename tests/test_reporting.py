"""The report use case (reporting.py) called as the command calls it, without the command.

Inputs: the Salesforce pair of tests/data/history_cli_cases/ and an export of
tests/data/history_cli/ (tests/commands/test_history_cli.py counts their figures by hand).
The use case prints nothing: what a step warns of reaches ``warn``, in order; the alerts
are judged, and left for the command to say.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

import pytest

from funnelcli.alerts import AlertRules
from funnelcli.errors import UsageError
from funnelcli.loading import load_funnel_file
from funnelcli.readers.export import ReadOptions
from funnelcli.reporting import ReportRequest, run_report

from .conftest import DATA

CASES = DATA / "history_cli_cases"
SF_DEALS = str(CASES / "salesforce_deals.csv")
SF_FUNNEL = str(CASES / "salesforce_funnel.yaml")
SF_GAPS = str(CASES / "salesforce_history_gaps.csv")  # S06 and S11 missing, two deals extra
LAST_DAY = dt.date(2025, 6, 30)


def _request(**changes: Any) -> ReportRequest:
    loaded = load_funnel_file(SF_FUNNEL)
    return ReportRequest(SF_DEALS, loaded, LAST_DAY, ReadOptions(), **changes)


def test_warnings_go_to_warn_in_order_and_nothing_is_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # salesforce_history_gaps.csv: Oscorp - Trial (2 rows) and Massive Dynamic - Pilot
    # (1 row) are no deal of the export: 3 rows, 2 deals; S06 and S11 have no rows.
    said: list[str] = []
    result = run_report(_request(history=SF_GAPS), warn=said.append)
    assert said == [
        f"{SF_GAPS}: 3 history rows (2 deals) match no deal in {SF_DEALS}; they are left out",
        f"{SF_DEALS}: 2 deals have no history in {SF_GAPS}; "
        "their stage dates come from the export alone",
    ]
    assert capsys.readouterr() == ("", "")
    assert result.history is not None and result.history.source == SF_GAPS
    assert result.alerts is None  # no rules, in the file or given


def test_the_alerts_are_judged_and_left_for_the_command_to_say(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Without history, 3 of the 8 closed deals are won (S01-S03; S04-S08 lost): a win rate
    # of 3/8 = 37.5%, below 50%: the rule fires.
    rules = AlertRules(min_win_rate=Fraction(1, 2))
    result = run_report(_request(rules=rules), warn=lambda line: None)
    assert result.alerts is not None
    assert [alert.rule for alert in result.alerts.fired] == ["min_win_rate"]
    assert capsys.readouterr() == ("", "")


def test_strict_refuses_a_skipped_row_of_the_export() -> None:
    # tests/data/history_cli/unknown_label.csv: 13 rows, H13's stage Negotiation (file
    # row 14, after the header) is no stage of its funnel.
    export = str(DATA / "history_cli" / "unknown_label.csv")
    loaded = load_funnel_file(str(DATA / "history_cli" / "funnel.yaml"))
    run = ReportRequest(export, loaded, LAST_DAY, ReadOptions(), strict=True)
    with pytest.raises(UsageError) as refused:
        run_report(run, warn=lambda line: None)
    assert str(refused.value) == (
        f"{export}: --strict: 1 of 13 rows skipped: unknown stage label 1 (first: row 14); "
        "fix them or run without --strict"
    )


def test_compare_to_is_the_report_as_of_that_day() -> None:
    # As of 2025-03-15, S11 and S12 were not created yet: 10 deals used, 2 filtered.
    middle = dt.date(2025, 3, 15)
    result = run_report(_request(history=SF_GAPS, compare_to=middle), warn=lambda line: None)
    assert result.compare is not None
    assert result.compare.account.used == 10
    assert result.compare.account.filtered["created_after_as_of"] == 2
