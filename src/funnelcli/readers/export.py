"""An export file -> a report: open, find columns, settle date order, stream the deals.

This is the one place that drives a whole read; ``report``, ``inspect`` and
``init --from`` call it. Every row the table yields is accounted for in the
:class:`~funnelcli.readers.deals.RowAccount`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from funnelcli.dates import DayOrder
from funnelcli.definition import Funnel
from funnelcli.errors import ExportError, shown
from funnelcli.readers.columns import ColumnMap, header_score, map_columns, refine_by_values
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
from funnelcli.report import Report, ReportBuilder, finish, new_builder

PARALLEL_MIN_BYTES = 4 * 1024 * 1024
"""CSV exports at least this large are read by two processes (forking costs ~20 ms)."""


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
    listed = ", ".join(shown(header, 30) for header in columns.headers[:12] if header)
    where = "funnel.yaml" if funnel.is_default else funnel.source
    raise ExportError(
        f"{source}: no stage column found (its columns are: {listed}); "
        f"name it in {where} under columns:, like columns: {{stage: Deal Stage}}"
    )


def reopen_options(table: Table, options: ReadOptions) -> ReadOptions:
    """Options for reading the same file again, reusing the encoding detection found.

    UTF-8 detection was a scan of the whole file, so naming it again is safe and skips
    the scan. The cp1252 fallback is not named: as a given encoding it would be strict,
    and the detection reads its five undefined bytes as Latin-1 on purpose.
    """
    if options.encoding is None and table.encoding not in (None, "cp1252"):
        return ReadOptions(options.sheet, table.encoding, options.date_format)
    return options


def _date_orders(
    path: str,
    table: Table,
    sample: Sequence[Sequence[Cell]],
    columns: ColumnMap,
    options: ReadOptions,
) -> dict[int, DayOrder | None]:
    """Day/month order per date column; a second pass over the file only when slash dates appear."""
    indexes = date_columns(columns)
    if options.date_format or not indexes or not needs_full_date_scan(sample, indexes):
        return {}
    with open_export(path, reopen_options(table, options)) as scan:
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
    """Read the whole export once (twice when slash dates need their order settled).

    A large CSV is shared between two processes: each parses the file (cheap) but turns
    only every other row into a deal (the costly part), and their partial results merge
    into the report one process would give.
    """
    builder = new_builder(funnel, as_of, stale_days)
    with open_export(path, options) as table:
        sample, rows = first_rows(table, DATE_SAMPLE_ROWS)
        sample_cells = [cells for _, cells in sample]
        columns = refine_by_values(map_columns(table.header, funnel, table.source), sample_cells)
        require_stage_column(columns, funnel, table.source)
        orders = _date_orders(path, table, sample_cells, columns, options)
        dates = DateColumns(orders, options.date_format)
        workers = _worker_count(path, table)
        if workers > 1:
            again = reopen_options(table, options)
            job = _Part(path, funnel, columns, again, dates, as_of, stale_days, workers)
            with multiprocessing.get_context("fork").Pool(workers - 1) as pool:
                others = pool.map_async(job.run, range(1, workers))
                account = _read_rows(
                    table, funnel, columns, dates, builder, _every(rows, 0, workers)
                )
                info = table_info(table)
                for part_builder, part_account in others.get():
                    builder.merge(part_builder)
                    account.merge(part_account)
        else:
            account = _read_rows(table, funnel, columns, dates, builder, rows)
            info = table_info(table)
    return ExportReport(finish(builder, funnel), account, columns, info, orders)


def _read_rows(
    table: Table,
    funnel: Funnel,
    columns: ColumnMap,
    dates: DateColumns,
    builder: ReportBuilder,
    rows: Iterator[tuple[int, tuple[Cell, ...]]],
) -> RowAccount:
    reader = DealReader(table, funnel, columns, dates)
    for deal in reader.deals(rows):
        builder.add(deal)
    return reader.account


def _every(
    rows: Iterator[tuple[int, tuple[Cell, ...]]], part: int, parts: int
) -> Iterator[tuple[int, tuple[Cell, ...]]]:
    return itertools.islice(rows, part, None, parts)


def _worker_count(path: str, table: Table) -> int:
    """Two processes for a large CSV on a machine that can fork; one otherwise.

    FUNNEL_WORKERS=1 forces one process (tests compare both ways).
    """
    wanted = os.environ.get("FUNNEL_WORKERS")
    if wanted is not None:
        return max(1, int(wanted)) if wanted.isdigit() else 1
    if table.kind != "csv" or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        size = os.path.getsize(path)
    except OSError:
        return 1
    return min(2, os.cpu_count() or 1) if size >= PARALLEL_MIN_BYTES else 1


@dataclass(frozen=True)
class _Part:
    """One worker's share: every ``parts``-th data row, starting at row ``part``."""

    path: str
    funnel: Funnel
    columns: ColumnMap
    options: ReadOptions
    dates: DateColumns
    as_of: dt.date
    stale_days: int | None
    parts: int

    def run(self, part: int) -> tuple[ReportBuilder, RowAccount]:
        builder = new_builder(self.funnel, self.as_of, self.stale_days)
        with open_export(self.path, self.options) as table:
            rows = _every(table.rows, part, self.parts)
            account = _read_rows(table, self.funnel, self.columns, self.dates, builder, rows)
        return builder, account
