"""An export file -> a report: open, find columns, settle date order, stream the deals.

This is the one place that drives a whole read; ``report``, ``inspect`` and
``init --from`` call it. Every row the table yields is accounted for in the
:class:`~funnelcli.readers.row_account.RowAccount`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from funnelcli.dates import DayOrder
from funnelcli.definition import Funnel, label_key
from funnelcli.errors import ExportError, shown
from funnelcli.readers.cell_formats import (
    DATE_SAMPLE_ROWS,
    DateColumns,
    date_columns,
    first_rows,
    infer_date_orders,
    infer_decimal_comma,
    needs_full_amount_scan,
    needs_full_date_scan,
)
from funnelcli.readers.columns import (
    FIELDS,
    ColumnMap,
    header_key,
    header_score,
    map_columns,
    named_headers,
    probability_column,
    refine_by_values,
)
from funnelcli.readers.deals import DealReader, Slicing, TimelineSource
from funnelcli.readers.lane import lane_for, read_share
from funnelcli.readers.parallel import (
    PROGRESS_EVERY,
    RowProgress,
    WorkerJob,
    counted_rows,
    expected_rows,
    read_deals,
    read_in_parallel,
    worker_count,
)
from funnelcli.readers.probabilities import stage_probabilities
from funnelcli.readers.row_account import RepeatedIds, RowAccount, compiled_module
from funnelcli.readers.sources import check_unchanged, file_state
from funnelcli.readers.tabular.byte_ranges import data_range, split_rows
from funnelcli.readers.tabular.read import read_table
from funnelcli.readers.tabular.table import Cell, ReadStats, Table
from funnelcli.report_figures import StageProbabilities, finish
from funnelcli.results import ExportReport, SliceRequest, TableInfo
from funnelcli.segments import finish_segments, finish_slices, new_sliced_builder


@dataclass(frozen=True)
class ReadOptions:
    sheet: str | None = None
    encoding: str | None = None
    date_format: str | None = None
    decimal: str | None = None  # "comma" or "point": the amount column's, not inferred
    # Header keys a funnel file's columns: names: they count as known names when the
    # header row is chosen (with_funnel_names), so every read of the file finds the same.
    header_names: frozenset[str] = frozenset()


def with_funnel_names(options: ReadOptions, funnel: Funnel) -> ReadOptions:
    """``options`` with the headers ``funnel``'s ``columns:`` names, for the header search."""
    return dataclasses.replace(options, header_names=named_headers(funnel))


def find_column(name: str, columns: ColumnMap) -> int | None:
    """A column named by its header (ignoring case and punctuation) or by a field name."""
    key = header_key(name)
    keys = [header_key(header) for header in columns.headers]
    if key in keys:
        return keys.index(key)
    if name.strip().casefold() in FIELDS:
        return columns.get(name.strip().casefold())
    return None


def resolve_slicing(request: SliceRequest, columns: ColumnMap, source: str) -> Slicing:
    """Column names -> indexes; an unknown column is an error that lists the columns."""

    def column(option: str, name: str) -> int:
        index = find_column(name, columns)
        if index is None:
            listed = ", ".join(shown(header, 30) for header in columns.headers[:15] if header)
            raise ExportError(
                f"{source}: {option} {name}: no such column; the columns are: {listed}"
            )
        return index

    where = [(column("--where", name), value.strip().casefold()) for name, value in request.where]
    if request.pipeline is not None:
        pipeline = columns.get("pipeline")
        if pipeline is None:
            raise ExportError(
                f"{source}: --pipeline {request.pipeline}: the export has no pipeline column; "
                "name it with columns: {pipeline: <header>} in the funnel file"
            )
        where.append((pipeline, request.pipeline.strip().casefold()))
    return Slicing(
        where=tuple(where),
        since=request.since,
        until=request.until,
        segment_column=column("--by", request.by) if request.by else None,
        cohort=request.cohort,
    )


def open_export(path: str, options: ReadOptions) -> Table:
    named = options.header_names
    score = functools.partial(header_score, named=named) if named else header_score
    return read_table(path, sheet=options.sheet, encoding=options.encoding, header_score=score)


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
        table.encoding_note,
        table.notes,
    )


def require_stage_column(
    columns: ColumnMap, funnel: Funnel, source: str, *, status_will_do: bool = True
) -> None:
    """Raise when neither a stage nor a status column was found, listing the columns
    (a funnel built from the export needs the stage column itself: ``status_will_do``)."""
    if columns.get("stage") is not None:
        return
    if status_will_do and columns.get("status") is not None:
        return
    named = [header for header in columns.headers if header]
    listed = ", ".join(shown(header, 30) for header in named[:12])
    more = len(named) - 12  # a 10,000-column file: say how many are not listed
    found = (
        f"its {len(named):,} columns are: {listed} and {more:,} more"
        if more > 0
        else f"its columns are: {listed}"
    )
    where = funnel.file_label
    raise ExportError(
        f"{source}: no stage column found ({found}); "
        f"name it in {where} under columns:, like columns: {{stage: Deal Stage}}"
    )


def reopen_options(table: Table, options: ReadOptions) -> ReadOptions:
    """Options for reading the same file again, reusing the encoding detection found.

    UTF-8 detection was a scan of the whole file, so naming it again is safe and skips
    the scan. The cp1252 fallback is not named: as a given encoding it would be strict,
    and the detection reads its five undefined bytes as Latin-1 on purpose.
    """
    if options.encoding is None and table.encoding not in (None, "cp1252"):
        return dataclasses.replace(options, encoding=table.encoding)
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


def _refuse_shared_names(
    path: str, table: Table, options: ReadOptions, columns: ColumnMap, history: TimelineSource
) -> None:
    """The export's deal names, read before the join: two deals that share a name both go
    without history, whichever comes first (readers/history.py). A second pass over the
    file, only when its deals can join by name."""
    if columns.get("name") is None or not history.joins_by_name:
        return
    with open_export(path, reopen_options(table, options)) as scan:
        history.refuse_shared_names(
            (cells for _, cells in scan.rows), columns.get("id"), columns.get("name")
        )


def _decimal_comma(
    path: str,
    table: Table,
    sample: Sequence[Sequence[Cell]],
    columns: ColumnMap,
    options: ReadOptions,
) -> bool:
    """Whether the amount column writes decimal commas: as --decimal says, else from its
    cells (:func:`infer_decimal_comma`), with a pass over the file only when the sample
    leaves it open (a decimal comma, or 2.500 and no decimal point). An XLSX file's
    numbers say nothing; its text cells are read as a CSV's are."""
    if options.decimal is not None:
        return options.decimal == "comma"
    index = columns.get("amount")
    if index is None or not needs_full_amount_scan(sample, index):
        return False
    with open_export(path, reopen_options(table, options)) as scan:
        return infer_decimal_comma(
            (cells for _, cells in scan.rows), index, scan.header, table.source
        )


def report_export(
    path: str,
    funnel: Funnel,
    *,
    as_of: dt.date,
    options: ReadOptions,
    stale_days: int | None = None,
    request: SliceRequest | None = None,
    progress: Callable[[int, int], None] | None = None,
    history: TimelineSource | None = None,
) -> ExportReport:
    """Read the whole export once (twice when slash dates need their order settled, or
    a deal id repeats in a read by the compiled lane or by two processes: one Python
    process then reads it again, and settles each repeat, see
    :meth:`DealReader.repeats_earlier_row`).

    A large CSV is shared between two processes: this one reads the header and the rows
    up to a line break outside quotes near the middle of the file, the other the rows
    after it (see :func:`~funnelcli.readers.tabular.byte_ranges.split_rows`), and their partial
    results merge into the report one process would give, byte for byte. A CSV whose
    encoding is not split by bytes (UTF-16, UTF-32; see
    :data:`~funnelcli.readers.tabular.byte_ranges.SPLIT_ENCODINGS`), one without such a line break
    near its middle, and an XLSX file are read by one process.

    ``progress(rows_done, rows_expected)`` is called every few thousand rows when given;
    ``rows_expected`` is estimated from the file's size and its first rows, and
    ``rows_done`` too while another process reads a share (see
    :func:`~funnelcli.readers.parallel.counted_rows`).

    With ``history`` (a stage-history file), every deal gets its timeline and is rebuilt
    as it stood on ``as_of``; the read then stays in one process (the history is not
    copied to a second one).
    """
    read = functools.partial(
        _report_export,
        path,
        funnel,
        as_of=as_of,
        options=options,
        stale_days=stale_days,
        request=request,
        progress=progress,
        history=history,
    )
    try:
        return read(settle_repeats=False)
    except RepeatedIds:
        return read(settle_repeats=True)


def _report_export(
    path: str,
    funnel: Funnel,
    *,
    as_of: dt.date,
    options: ReadOptions,
    stale_days: int | None,
    request: SliceRequest | None,
    progress: Callable[[int, int], None] | None,
    history: TimelineSource | None,
    settle_repeats: bool,
) -> ExportReport:
    """report_export's read; ``settle_repeats``: in one Python process, which settles
    repeated deal ids instead of raising RepeatedIds."""
    request = request or SliceRequest()
    options = with_funnel_names(options, funnel)
    builder = new_sliced_builder(funnel, as_of, stale_days)
    before = file_state(path)
    with open_export(path, options) as table:
        sample, rows = first_rows(table, DATE_SAMPLE_ROWS)
        sample_cells = [cells for _, cells in sample]
        columns = refine_by_values(map_columns(table.header, funnel, table.source), sample_cells)
        require_stage_column(columns, funnel, table.source)
        slicing = resolve_slicing(request, columns, table.source)
        orders = _date_orders(path, table, sample_cells, columns, options)
        dates = DateColumns(orders, options.date_format)
        decimal_comma = _decimal_comma(path, table, sample_cells, columns, options)
        reader = DealReader(
            table,
            funnel,
            columns,
            dates,
            slicing,
            history,
            None if history is None else as_of,
            decimal_comma=decimal_comma,
        )
        if history is not None:
            _refuse_shared_names(path, table, options, columns, history)
        own = data_range(table)  # all the data rows; up to the first share's, below
        lane = None if settle_repeats else lane_for(reader, own)
        workers = (
            worker_count(path, table, lane is not None)
            if history is None and not settle_repeats
            else 1
        )
        shares = split_rows(table, workers) if workers > 1 else []
        parts = len(shares) + 1
        # A first read notes ids as hashes where it can (8 bytes an id, not the ids and
        # their rows): a shared hash makes the settling read, which keeps them whole.
        reader.defer_repeats = (
            lane is not None
            or bool(shares)
            or (not settle_repeats and compiled_module() is not None)
        )
        if lane is not None and own is not None:
            if shares:
                own = dataclasses.replace(own, last_line=shares[0].lines_before)
            # The compiled lane reads this process's rows again from the first one, by
            # bytes: what the header and sample reads counted is counted afresh.
            table.stats = ReadStats()
            shown = RowProgress(progress, expected_rows(path, table), parts)
            read_own = functools.partial(
                read_share,
                own,
                lane,
                reader,
                builder,
                table.stats,
                shown.rows,
                PROGRESS_EVERY,
                keep_ids=bool(shares),
            )
        else:
            if progress is not None:
                shown = RowProgress(progress, expected_rows(path, table), parts)
                rows = counted_rows(rows, shown, table)
            read_own = functools.partial(read_deals, reader, builder, rows)
        if shares:
            job = WorkerJob(funnel, columns, slicing, dates, as_of, stale_days, decimal_comma)
            read_in_parallel(table, job, shares, builder, read_own, reader.account)
        else:
            read_own()
        account = reader.account
        account.check_ids()  # RepeatedIds when an id may have come again
        info = table_info(table)
    probabilities = None
    if builder.overall.lost_unknown_stage:
        probabilities = _stage_probabilities(
            path, table, options, funnel, columns, orders, slicing, history, as_of, decimal_comma
        )
    check_unchanged(path, before)  # a report of two versions of the file is no report
    _check_pipeline_found(request, account, table.source)
    by = request.by
    segments, folded = (
        finish_segments(builder.segments, funnel, request.max_segments) if by else (None, None)
    )
    return ExportReport(
        finish(builder.overall, funnel, probabilities),
        account,
        columns,
        info,
        orders,
        request,
        segments=segments,
        segment_header=columns.headers[slicing.segment_column]
        if slicing.segment_column is not None
        else None,
        segments_folded=folded,
        cohorts=finish_slices(builder.cohorts, funnel, sort_by_name=True)
        if request.cohort
        else None,
        funnel_evidence=funnel.evidence,
        mixed_pipelines=_mixed_pipelines(request, account, columns, slicing),
    )


def _mixed_pipelines(
    request: SliceRequest, account: RowAccount, columns: ColumnMap, slicing: Slicing
) -> bool:
    """Several pipelines counted together, with neither --pipeline nor --by pipeline."""
    if request.pipeline is not None or len(account.pipelines) < 2:
        return False
    by = slicing.segment_column  # the --by column, found as find_column finds it
    return by is None or by != columns.get("pipeline")


def _stage_probabilities(
    path: str,
    table: Table,
    options: ReadOptions,
    funnel: Funnel,
    columns: ColumnMap,
    orders: dict[int, DayOrder | None],
    slicing: Slicing,
    history: TimelineSource | None,
    as_of: dt.date,
    decimal_comma: bool,
) -> StageProbabilities | None:
    """The export's probability column per stage, for a report whose losses are
    unattributed (report.py); None without such a column. A second pass over the file:
    see readers/probabilities.py for its cost."""
    column = probability_column(table.header)
    if column is None:
        return None
    with open_export(path, reopen_options(table, options)) as scan:
        return stage_probabilities(
            scan,
            funnel,
            columns,
            orders,
            options.date_format,
            slicing,
            column=column,
            history=history,
            as_of=as_of,
            decimal_comma=decimal_comma,
        )


def _check_pipeline_found(request: SliceRequest, account: RowAccount, source: str) -> None:
    if request.pipeline is None:
        return
    names = {label_key(name) for name in account.pipelines}
    if label_key(request.pipeline) not in names:
        listed = ", ".join(
            f"{name} ({count:,})" for name, count in account.pipelines.most_common(10)
        )
        raise ExportError(
            f"{source}: --pipeline {request.pipeline}: no such pipeline; the pipelines are: {listed}"
        )
