"""One export read by several processes, and the progress of a read.

A large CSV is shared between this process and forked workers (:func:`read_in_parallel`):
each reads a byte range of the rows (:class:`~funnelcli.readers.tabular.byte_ranges.CsvRange`) into
its own builder and row account, which merge into this process's in the file's order.
readers/export.py decides whether to (:func:`worker_count`) and where the ranges begin
(:func:`~funnelcli.readers.tabular.byte_ranges.split_rows`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from funnelcli.definition import Funnel
from funnelcli.errors import EXIT_OS, WorkerLost, memory_ran_out
from funnelcli.readers.cell_formats import DateColumns
from funnelcli.readers.columns import ColumnMap
from funnelcli.readers.deals import DealReader, Slicing
from funnelcli.readers.lane import lane_for, read_share
from funnelcli.readers.row_account import RowAccount
from funnelcli.readers.sources import local_path
from funnelcli.readers.tabular.byte_ranges import CsvRange, read_csv_range
from funnelcli.readers.tabular.table import Cell, ReadStats, Table
from funnelcli.segments import SlicedBuilder, new_sliced_builder

PARALLEL_MIN_BYTES = 4 * 1024 * 1024
"""CSV exports at least this large are shared between two processes (forking costs ~20 ms)."""


def read_deals(
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


class RowProgress:
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


def counted_rows(
    rows: Iterator[tuple[int, tuple[Cell, ...]]], shown: RowProgress, table: Table
) -> Iterator[tuple[int, tuple[Cell, ...]]]:
    """Pass rows on, telling ``shown`` how far along the file is every so often."""
    for count, row in enumerate(rows, 1):
        if count % PROGRESS_EVERY == 0:
            shown.rows(count, table.overran)
        yield row


def expected_rows(path: str, table: Table) -> int:
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
        import ctypes  # lazy: in a worker process only

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # it ended before prctl: nothing would signal
                os._exit(1)
            return
    watched = multiprocessing.parent_process()
    if watched is None or os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        # The parent's end of this pipe closes when it ends, however it ends.
        multiprocessing.connection.wait([watched.sentinel])
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def worker_count(path: str, table: Table, compiled: bool = False) -> int:
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


def read_in_parallel(
    table: Table,
    job: WorkerJob,
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
                target=_run_worker, args=(job, share, sending, parent, inherited), daemon=True
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
                if worker.exitcode == EXIT_OS:  # out of memory, too short of it to say so
                    raise MemoryError from None
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


def _run_worker(
    job: WorkerJob, share: CsvRange, sending: Connection, parent: int, inherited: list[Connection]
) -> None:
    """A forked worker: read the share, send back ("done", result) or ("failed", error).

    Memory that runs out anywhere here (reading, or pickling the result to send it) goes
    back as a MemoryError, which the parent reports as the system's limit (exit 71):
    never as a RuntimeError, a bug's exit and traceback.
    """
    outcome: tuple[str, object] | None
    try:
        _quiet_worker(parent, inherited)
        outcome = ("done", job.run(share))
    except BaseException as error:  # the parent raises it, in the file's order
        outcome = ("failed", MemoryError() if memory_ran_out(error) else error)
    try:
        sending.send(outcome)
    except OSError:
        pass  # the parent is gone: nothing to tell
    except Exception as error:  # an error that does not pickle: say what it was
        failed = type(outcome[1]).__name__
        outcome = None  # its memory, freed for the message
        told = MemoryError() if memory_ran_out(error) else RuntimeError(f"{failed}: {error}")
        try:
            sending.send(("failed", told))
        except OSError:
            pass
        except Exception:  # not even that went: the exit code tells (read_in_parallel)
            os._exit(EXIT_OS if isinstance(told, MemoryError) else 1)
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
class WorkerJob:
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
                overran = read_deals(reader, builder, table.rows)
        return builder, reader.account, table.stats, overran
