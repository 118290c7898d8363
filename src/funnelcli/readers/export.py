"""An export file -> a report: open, find columns, settle date order, stream the deals.

This is the one place that drives a whole read; ``report``, ``inspect`` and
``init --from`` call it. Every row the table yields is accounted for in the
:class:`~funnelcli.readers.deals.RowAccount`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from funnelcli.dates import DayOrder
from funnelcli.definition import Funnel
from funnelcli.errors import ExportError
from funnelcli.readers.columns import ColumnMap, header_score, map_columns
from funnelcli.readers.deals import (
    DATE_SAMPLE_ROWS,
    DateColumns,
    DealReader,
    RowAccount,
    date_columns,
    first_rows,
    infer_date_orders,
    needs_full_date_scan,
)
from funnelcli.readers.tabular import Cell, ReadStats, Table, read_table
from funnelcli.report import Report, finish, new_builder


@dataclass(frozen=True)
class ReadOptions:
    sheet: str | None = None
    encoding: str | None = None
    date_format: str | None = None


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


@dataclass(frozen=True)
class ExportReport:
    report: Report
    account: RowAccount
    columns: ColumnMap
    table: TableInfo
    date_orders: dict[int, DayOrder | None]


def open_export(path: str, options: ReadOptions) -> Table:
    return read_table(
        path, sheet=options.sheet, encoding=options.encoding, header_score=header_score
    )


def table_info(table: Table) -> TableInfo:
    return TableInfo(
        table.source,
        table.kind,
        table.header_row,
        table.title_rows,
        table.encoding,
        table.delimiter,
        table.sheet,
        table.stats,
    )


def require_stage_column(columns: ColumnMap, funnel: Funnel, source: str) -> None:
    if columns.get("stage") is not None or columns.get("status") is not None:
        return
    shown = ", ".join(header for header in columns.headers[:12] if header)
    where = "funnel.yaml" if funnel.is_default else funnel.source
    raise ExportError(
        f"{source}: no stage column found (its columns are: {shown}); "
        f"name it in {where} under columns:, like columns: {{stage: Deal Stage}}"
    )


def _date_orders(
    path: str, table: Table, sample: list[Sequence[Cell]], columns: ColumnMap, options: ReadOptions
) -> dict[int, DayOrder | None]:
    """Day/month order per date column; a second pass over the file only when slash dates appear."""
    indexes = date_columns(columns)
    if options.date_format or not indexes or not needs_full_date_scan(sample, indexes):
        return {}
    # Reuse what the first open found, so the second pass skips the encoding scan.
    again = ReadOptions(options.sheet, table.encoding or options.encoding, options.date_format)
    with open_export(path, again) as scan:
        return infer_date_orders(
            (cells for _, cells in scan.rows), indexes, scan.header, table.source
        )


def report_export(
    path: str,
    funnel: Funnel,
    *,
    as_of: dt.date,
    options: ReadOptions,
    stale_days: int | None = None,
) -> ExportReport:
    """Read the whole export once (twice when slash dates need their order settled)."""
    builder = new_builder(funnel, as_of, stale_days)
    with open_export(path, options) as table:
        columns = map_columns(table.header, funnel, table.source)
        require_stage_column(columns, funnel, table.source)
        sample, rows = first_rows(table, DATE_SAMPLE_ROWS)
        orders = _date_orders(path, table, [cells for _, cells in sample], columns, options)
        reader = DealReader(table, funnel, columns, DateColumns(orders, options.date_format))
        for deal in reader.deals(rows):
            builder.add(deal)
        info = table_info(table)
    return ExportReport(finish(builder, funnel), reader.account, columns, info, orders)
