"""An export file -> a report: open, find columns, settle date order, stream the deals.

This is the one place that drives a whole read; ``report``, ``inspect`` and
``init --from`` call it. Every row the table yields is accounted for in the
:class:`~funnelcli.readers.deals.RowAccount`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from funnelcli.alerts import AlertResult
from funnelcli.dates import DayOrder
from funnelcli.definition import Funnel, label_key
from funnelcli.errors import ExportError, WorkerLost, shown
from funnelcli.readers.columns import (
    FIELDS,
    ColumnMap,
    header_key,
    header_score,
    map_columns,
    named_headers,
    refine_by_values,
)
from funnelcli.readers.deals import (
    DATE_SAMPLE_ROWS,
    DateColumns,
    DealReader,
    RepeatedIds,
    RowAccount,
    Slicing,
    TimelineSource,
    compiled_module,
    date_columns,
    first_rows,
    infer_date_orders,
    infer_decimal_comma,
    needs_full_amount_scan,
    needs_full_date_scan,
)
from funnelcli.readers.history import HistoryAccount
from funnelcli.readers.lane import lane_for, read_share
from funnelcli.readers.sources import check_unchanged, file_state, local_path
from funnelcli.readers.tabular.byte_ranges import CsvRange, data_range, read_csv_range, split_rows
from funnelcli.readers.tabular.read import read_table
from funnelcli.readers.tabular.table import Cell, ReadStats, Table
from funnelcli.report import (
    DEFAULT_MAX_SEGMENTS,
    FoldedSegments,
    Report,
    SegmentFigures,
    SlicedBuilder,
    StageProbabilities,
    finish,
    finish_segments,
    finish_slices,
    new_sliced_builder,
)

PARALLEL_MIN_BYTES = 4 * 1024 * 1024
"""CSV exports at least this large are shared between two processes (forking costs ~20 ms)."""


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
    alerts: AlertResult | None = None  # set by the command line after the read
    history: HistorySummary | None = None  # with --history: what the history file held
    compare: ExportReport | None = None  # with --compare-to: the report as of that date
    funnel_evidence: str | None = None  # a funnel built from the export: what ordered it

    @property
    def mixed_pipelines(self) -> bool:
        """Several pipelines counted together, with neither --pipeline nor --by pipeline."""
        if self.request.pipeline is not None or len(self.account.pipelines) < 2:
            return False
        pipeline = self.columns.get("pipeline")
        by = find_column(self.request.by, self.columns) if self.request.by else None
        return by is None or by != pipeline


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
    ``rows_done`` too while another process reads a share (see :func:`_reporting`).

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
            _worker_count(path, table, lane is not None)
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
            shown = _Shown(progress, _expected_rows(path, table), parts)
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
                shown = _Shown(progress, _expected_rows(path, table), parts)
                rows = _reporting(rows, shown, table)
            read_own = functools.partial(_read_deals, reader, builder, rows)
        if shares:
            job = _Part(funnel, columns, slicing, dates, as_of, stale_days, decimal_comma)
            _read_shared(table, job, shares, builder, read_own, reader.account)
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
    )


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
    from funnelcli.readers.probabilities import probability_column, stage_probabilities

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


def _read_deals(
    reader: DealReader, builder: SlicedBuilder, rows: Iterator[tuple[int, tuple[Cell, ...]]]
) -> bool:
    """Read the rows in Python; True when they overran their share (Table.overran)."""
    if reader.history is None:
        for batch in reader.deal_rows(rows):
            builder.add_rows(batch)
    else:
        for deal in reader.deals(rows):
            builder.add(deal)
    return reader.table.overran


PROGRESS_EVERY = 8192


class _Shown:
    """Progress, told the rows of this process's share so far. With ``parts`` processes,
    each reading about as many bytes, the others are about as far along theirs: the count
    is shown ``parts`` times. Once this share reads on past its end (:attr:`Table.overran`),
    its count is the whole read's."""

    def __init__(
        self, progress: Callable[[int, int], None] | None, expected: int, parts: int
    ) -> None:
        self.progress, self.expected, self.parts = progress, expected, parts
        self.shown = 0  # never backwards: a read on past the share counts its rows once

    def rows(self, count: int, overran: bool) -> None:
        if self.progress is not None:
            self.shown = max(self.shown, count if overran else count * self.parts)
            self.progress(self.shown, self.expected)


def _reporting(
    rows: Iterator[tuple[int, tuple[Cell, ...]]], shown: _Shown, table: Table
) -> Iterator[tuple[int, tuple[Cell, ...]]]:
    """Pass rows on, telling ``shown`` how far along the file is every so often."""
    for count, row in enumerate(rows, 1):
        if count % PROGRESS_EVERY == 0:
            shown.rows(count, table.overran)
        yield row


def _expected_rows(path: str, table: Table) -> int:
    """Rows in a CSV, estimated from its size and the length of its first lines; 0 if unknown."""
    if table.kind != "csv":
        return 0
    try:
        readable = local_path(path)
        size = os.path.getsize(readable)
        with open(readable, "rb") as stream:
            head = stream.read(1 << 20)
    except OSError:
        return 0
    lines = head.count(b"\n")
    return max(0, int(size * lines / len(head)) - table.header_row) if lines else 0


_HELD_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait while a worker is forked and put on the list of workers.

    One that interrupted the parent between the fork and the list would leave a worker
    no one ends; held, it arrives just after, and the list's cleanup ends them all.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _quiet_worker(parent: int, inherited: Sequence[Connection]) -> None:
    """A worker ends silently with its parent, which reports an interrupt once.

    It dies with the parent however the parent ends (SIGKILL, the OOM killer): left
    running, it would hold cron's stdout and stderr open, and `| mail` would wait for
    ever. It closes the read ends of the workers' pipes it inherited, its own among them,
    so that a send to a parent that is gone fails instead of blocking; and it points
    stdout and stderr at the null device: errors travel through its pipe, and a worker
    has nothing else to say.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with(parent)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD_SIGNALS)  # held by the parent's fork
    for end in inherited:
        end.close()
    null = os.open(os.devnull, os.O_WRONLY)
    for descriptor in (1, 2):
        with contextlib.suppress(OSError):
            os.dup2(null, descriptor)
    os.close(null)


_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
_PARENT_DEATH_SIGNAL = sys.platform.startswith("linux")
"""Whether the kernel can kill a worker when its parent ends (tests also try without)."""


def _die_with(parent: int) -> None:
    """Be killed when ``parent`` ends: Linux does it (prctl); elsewhere, a thread watches."""
    if _PARENT_DEATH_SIGNAL:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # it ended before prctl: nothing would signal
                os._exit(1)
            return
    import threading

    watched = multiprocessing.parent_process()
    if watched is None or os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        # The parent's end of this pipe closes when it ends, however it ends.
        multiprocessing.connection.wait([watched.sentinel])
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _worker_count(path: str, table: Table, compiled: bool = False) -> int:
    """Two processes for a large CSV on a machine that can fork; one otherwise, and one
    when the compiled lane reads the rows: it reads a million rows faster alone than the
    two processes do once the parent has scanned for the split (0.60 s against 0.64 s on
    the 1M-row benchmark export, 2 cores), and smaller files gain nothing either.

    FUNNEL_WORKERS=1 forces one process, FUNNEL_WORKERS=2 (or more) as many for a CSV of
    any size (tests compare both ways); :func:`split_rows` may still find fewer shares.
    """
    wanted = os.environ.get("FUNNEL_WORKERS")
    if wanted is not None:
        return max(1, int(wanted)) if wanted.isdigit() else 1
    if compiled or table.kind != "csv" or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        size = os.path.getsize(local_path(path))
    except OSError:
        return 1
    return min(2, os.cpu_count() or 1) if size >= PARALLEL_MIN_BYTES else 1


def _read_shared(
    table: Table,
    job: _Part,
    shares: list[CsvRange],
    builder: SlicedBuilder,
    read_own: Callable[[], bool],
    account: RowAccount,
) -> None:
    """Read this process's share of the rows while forked processes read the others; merge
    theirs in the file's order, so the first error in the file is the one raised.

    A share whose rows overran its end (a record straddled the split) has read the rest
    of the file itself: the shares after it are dropped, and their errors too. A worker
    that dies without a result (killed, or out of memory) is an error, never a wait: each
    sends its result down its own pipe, whose end the parent sees close when it dies.
    """
    context = multiprocessing.get_context("fork")
    workers: list[tuple[BaseProcess, Connection, CsvRange]] = []
    parent = os.getpid()
    try:
        for share in shares:
            receiving, sending = context.Pipe(duplex=False)
            # The read ends a worker inherits, which it closes (see _quiet_worker).
            inherited = [*(pipe for _, pipe, _ in workers), receiving]
            started = context.Process(
                target=_run_share, args=(job, share, sending, parent, inherited), daemon=True
            )
            with _signals_held():
                started.start()
                workers.append((started, receiving, share))
            # Closed here before the next fork, so that only its worker holds the sending
            # end: when that worker dies, receiving sees the end of the pipe.
            sending.close()
        overran = read_own()  # this process's share, into builder and account
        for worker, receiving, share in workers:
            if overran:
                break
            try:
                outcome, result = receiving.recv()
            except EOFError:
                worker.join()
                raise WorkerLost(_lost_worker(table.source, share, worker.exitcode)) from None
            if outcome == "failed":
                raise result
            part_builder, part_account, part_stats, overran = result
            builder.merge(part_builder)
            account.merge(part_account)
            table.stats.merge(part_stats)
    finally:
        for process, pipe, _ in workers:
            if process.is_alive():
                process.terminate()
            process.join()
            pipe.close()


def _run_share(
    job: _Part, share: CsvRange, sending: Connection, parent: int, inherited: list[Connection]
) -> None:
    """A forked worker: read the share, send back ("done", result) or ("failed", error)."""
    _quiet_worker(parent, inherited)
    outcome: tuple[str, object]
    try:
        outcome = ("done", job.run(share))
    except BaseException as error:  # the parent raises it, in the file's order
        outcome = ("failed", error)
    try:
        sending.send(outcome)
    except OSError:
        pass  # the parent is gone: nothing to tell
    except Exception as error:  # an error that does not pickle: say what it was
        with contextlib.suppress(OSError):
            sending.send(("failed", RuntimeError(f"{type(outcome[1]).__name__}: {error}")))
    sending.close()
    # A forked child ends here, without the parent's exit handlers or a flush of the
    # parent's buffered output it inherited (which would print it twice).
    os._exit(0)


def _lost_worker(source: str, share: CsvRange, exitcode: int | None) -> str:
    how = (
        f"killed by signal {-exitcode}" + (" (SIGKILL: out of memory?)" if -exitcode == 9 else "")
        if exitcode is not None and exitcode < 0
        else f"exit code {exitcode}"
    )
    return (
        f"{source}: the process reading the rows from line {share.lines_before + 1} ended "
        f"without a result ({how}); run the report again, or with FUNNEL_WORKERS=1 to read "
        "the file in one process"
    )


@dataclass(frozen=True)
class _Part:
    """What a forked process needs to turn a share of a CSV file's rows into deals."""

    funnel: Funnel
    columns: ColumnMap
    slicing: Slicing
    dates: DateColumns
    as_of: dt.date
    stale_days: int | None
    decimal_comma: bool = False

    def run(self, share: CsvRange) -> tuple[SlicedBuilder, RowAccount, ReadStats, bool]:
        builder = new_sliced_builder(self.funnel, self.as_of, self.stale_days)
        with read_csv_range(share) as table:
            reader = DealReader(
                table,
                self.funnel,
                self.columns,
                self.dates,
                self.slicing,
                decimal_comma=self.decimal_comma,
            )
            reader.defer_repeats = True  # settled by one process reading the whole file
            lane = lane_for(reader, share)
            if lane is not None:
                overran = read_share(share, lane, reader, builder, table.stats, keep_ids=True)
            else:
                overran = _read_deals(reader, builder, table.rows)
        return builder, reader.account, table.stats, overran
