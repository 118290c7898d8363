"""What a report found, as the renderers show it: the result types of the core.

A report of an export (:class:`ExportReport`, with the :class:`TableInfo` of the file read,
the :class:`SliceRequest` it answers and the :class:`HistorySummary` of a --history file).
The readers and the report use case (reporting.py) make them; the renderers read them
and nothing else. A plan's results are in plan.py (:class:`~funnelcli.plan.Plan`,
:class:`~funnelcli.plan.PlanContext`): named tuples, which ``funnel plan`` makes at
start-up for less than these dataclasses cost (about 8 ms for the four, measured on a
busy machine: 0.4 ms or more each).

Pure: no files, no terminal. Some fields hold objects a reader made and filled while it
read (the :class:`~funnelcli.readers.row_account.RowAccount` of the rows, the
:class:`~funnelcli.readers.columns.ColumnMap` found, the file's
:class:`~funnelcli.readers.tabular.table.ReadStats`, the history's
:class:`~funnelcli.readers.history.HistoryAccount`): they are named here for the type
checker only (under ``TYPE_CHECKING``), so this module never imports a reader. They stay
with the code that fills them: a row account hashes deal ids with the compiled module, a
column map's dialect is the reader's guess from the headers.

The report's own types (``funnelcli.report``, ``funnelcli.alerts``) are named for the type
checker too: importing them is the readers' business, at run time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from funnelcli.alerts import AlertResult
    from funnelcli.dates import DayOrder
    from funnelcli.readers.columns import ColumnMap
    from funnelcli.readers.history import HistoryAccount
    from funnelcli.readers.row_account import RowAccount
    from funnelcli.readers.tabular.table import ReadStats
    from funnelcli.report_figures import Report
    from funnelcli.segments import FoldedSegments, SegmentFigures

DEFAULT_MAX_SEGMENTS = 50
"""--by shows the segments with the most deals, this many; the rest share one row."""

SKIP_REASONS = {
    "unknown_stage_label": "unknown stage label",
    "missing_stage": "missing stage",
    "unreadable_amount": "unreadable amount",
    "unreadable_date": "unreadable date",
    "unknown_status": "unknown status",
    "status_conflict": "status and stage disagree",
    "deleted": "deleted deal",
    "repeated_header": "repeated header row",
    "duplicate": "same deal id and content as an earlier row",
    "conflicting_duplicate": "same deal id as an earlier row, other cells (the earlier row is used)",
}
"""Why a row of the export was skipped (:attr:`RowAccount.skipped`'s keys), in words."""

FILTER_REASONS = {
    "where": "not matching --where/--pipeline",
    "date_range": "created outside --since/--until",
    "no_created_date": "no created date to filter on",
    "created_after_as_of": "created after --as-of (the funnel as it stood)",
}
"""Why a row was left out by a filter (:attr:`RowAccount.filtered`'s keys), in words."""

HISTORY_SKIP_REASONS = {
    "missing_deal": "no deal id or name",
    "missing_stage": "missing stage",
    "unknown_stage_label": "unknown stage label",
    "missing_date": "missing change date",
    "unreadable_date": "unreadable date",
}
"""Why a row of a --history file was skipped (:attr:`HistoryAccount.skipped`'s keys)."""

FIELD_DESCRIPTIONS = {
    "id": "deal id",
    "name": "deal name",
    "stage": "stage",
    "status": "status (won/lost/open)",
    "won_flag": "won flag (true/false)",
    "closed_flag": "closed flag (true/false)",
    "amount": "amount",
    "currency": "currency",
    "created": "created date",
    "closed": "close date",
    "owner": "owner",
    "pipeline": "pipeline",
}
"""The fields a column can answer to, in words (``funnel inspect``)."""


@dataclass(frozen=True)
class TableInfo:
    """What the reader found, for ``inspect`` and the row accounting line."""

    source: str
    kind: str
    header_row: int
    title_rows: int
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    stats: ReadStats
    encoding_note: str | None = None  # a CSV read with mixed encodings says how
    notes: tuple[str, ...] = ()  # XLSX: the sheet read, formulas without a value


@dataclass(frozen=True)
class HistorySummary:
    """A --history file as the outputs describe it: its rows and how its deals joined."""

    source: str
    dialect: str
    account: HistoryAccount


@dataclass(frozen=True)
class SliceRequest:
    """Filters and groupings as the user named them (columns by header or field name)."""

    by: str | None = None
    cohort: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    where: tuple[tuple[str, str], ...] = ()
    pipeline: str | None = None
    max_segments: int = DEFAULT_MAX_SEGMENTS  # --by: the rest are folded into one row; 0: all


@dataclass(frozen=True)
class ExportReport:
    report: Report
    account: RowAccount
    columns: ColumnMap
    table: TableInfo
    date_orders: dict[int, DayOrder | None]
    request: SliceRequest = SliceRequest()
    segments: tuple[SegmentFigures, ...] | None = None
    segment_header: str | None = None
    segments_folded: FoldedSegments | None = None  # --by: the segments beyond max_segments
    cohorts: tuple[SegmentFigures, ...] | None = None
    alerts: AlertResult | None = None  # set by the report use case after the read
    history: HistorySummary | None = None  # with --history: what the history file held
    compare: ExportReport | None = None  # with --compare-to: the report as of that date
    funnel_evidence: str | None = None  # a funnel built from the export: what ordered it
    mixed_pipelines: bool = False
    """Several pipelines counted together, with neither --pipeline nor --by pipeline."""


def skip_examples(examples: list[tuple[int, str]], *, worded: bool = False) -> str:
    """The first skipped rows of a reason, as the skip warnings show them; ``worded``:
    the examples quote their cells themselves (readers/row_account.py, WORDED_EXAMPLES)."""
    return ", ".join(
        f"row {row} {value}" if worded else f"row {row} '{value}'" if value else f"row {row}"
        for row, value in examples
    )
