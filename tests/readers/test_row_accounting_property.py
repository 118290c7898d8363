"""Every row of a generated export is accounted for, and the funnel adds up.

The generator writes a small HubSpot-style CSV export from a list of row kinds and
counts, on its own, how many rows of each skip reason it wrote; the report must give
the same counts, read = used + skipped + filtered, and per stage
reached[i] = reached[i+1] + current[i] + lost[i].
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import string
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelcli.definition import default_funnel, label_key
from funnelcli.readers.columns import stage_lookup
from funnelcli.readers.export import ReadOptions, report_export

FUNNEL = default_funnel()
HEADER = ("Deal Name", "Deal Stage", "Amount", "Create Date")
KNOWN_LABELS = (
    "Lead",
    "MQL",
    "Marketing Qualified Lead",
    "SQL",
    "Opportunity",
    "Proposal",
    "Won",
    "closedwon",
    "Closed Lost",
)
_KNOWN_KEYS = set(stage_lookup(FUNNEL)) | {label_key(label) for label in FUNNEL.lost_labels}
GOOD_AMOUNTS = ("1000", "$2,500.00", "", "0", "12.5")
BAD_AMOUNTS = ("abc", "12..3", "lots", "n/a", "-")
GOOD_DATES = ("2024-03-05", "", "2023-12-31 14:03")
BAD_DATES = ("2024-02-30", "someday", "2024-13-45", "n/a")
# Letters only: no row of an unknown label can look like a date, a number or a footer.
unknown_labels = st.text(string.ascii_letters + " ", min_size=1, max_size=12).filter(
    lambda label: bool(label_key(label)) and label_key(label) not in _KNOWN_KEYS
)


@dataclass(frozen=True)
class Row:
    """One line of the export, and the skip reason the reader must give it (None: used)."""

    cells: tuple[str, ...] | None  # None: a blank line
    reason: str | None


def _row(stage: str, amount: str, date: str, reason: str | None) -> Row:
    return Row(("Deal", stage, amount, date), reason)


known = st.sampled_from(KNOWN_LABELS)
good_amount = st.sampled_from(GOOD_AMOUNTS)
good_date = st.sampled_from(GOOD_DATES)
# The reader decides the stage first, then the amount, then the date: each bad row
# has exactly one problem, with everything it is checked after valid.
rows = st.one_of(
    st.builds(_row, known, good_amount, good_date, st.none()),
    st.builds(_row, unknown_labels, good_amount, good_date, st.just("unknown_stage_label")),
    st.builds(_row, st.just(""), good_amount, good_date, st.just("missing_stage")),
    st.builds(_row, known, st.sampled_from(BAD_AMOUNTS), good_date, st.just("unreadable_amount")),
    st.builds(_row, known, good_amount, st.sampled_from(BAD_DATES), st.just("unreadable_date")),
    st.just(Row(None, None)),
)


def _export(generated: list[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for number, row in enumerate(generated, 1):
        if row.cells is None:
            buffer.write("\n")
        else:
            writer.writerow((f"Deal {number}", *row.cells[1:]))
    return buffer.getvalue()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(rows, max_size=25))
def test_every_row_is_accounted_for(tmp_path: Path, generated: list[Row]) -> None:
    path = tmp_path / "export.csv"
    path.write_text(_export(generated), encoding="utf-8")
    expected_skips = Counter(row.reason for row in generated if row.reason is not None)
    data_rows = sum(row.cells is not None for row in generated)

    result = report_export(str(path), FUNNEL, as_of=dt.date(2025, 6, 30), options=ReadOptions())

    account = result.account
    assert account.read == data_rows
    assert account.read == account.used + account.skipped_total + account.filtered_total
    assert account.skipped == expected_skips
    assert account.used == sum(row.cells is not None and row.reason is None for row in generated)
    assert not account.filtered
    assert result.table.stats.blank_rows == sum(row.cells is None for row in generated)
    stages = result.report.stages
    for index in range(len(stages) - 1):
        here, after = stages[index], stages[index + 1]
        assert here.reached == after.reached + here.current + here.lost, (index, stages)
