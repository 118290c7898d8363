"""A CSV export shared between processes by byte ranges reads as one process reads it.

readers/tabular/byte_ranges.py's ``split_rows`` and ``read_csv_range`` are checked on their own (rows,
row numbers, counts of skipped rows, errors), then readers/export.py's ``report_export``
with FUNNEL_WORKERS=1 against FUNNEL_WORKERS=2 and 3, for every CSV file under tests/data
and the hand-made files of tests/data/parallel (see make_files.py there for how each
places its quoted line breaks, CRLF or stray quote where the split lands).

Small files split only when the rows read before the split (the header's lookahead and
the date sample) leave room: the report tests make the date sample 10 rows, and the tests
of every file also look for the header in 5 rows rather than 50.
"""

from __future__ import annotations

import csv
import datetime as dt
import multiprocessing
import os
import subprocess
import sys
import unittest.mock
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelcli import errors
from funnelcli.definition import Funnel, default_funnel
from funnelcli.errors import ExportError
from funnelcli.loading import load_funnel_file
from funnelcli.readers import export, parallel
from funnelcli.readers.export import ReadOptions, report_export
from funnelcli.readers.row_account import RowAccount
from funnelcli.readers.tabular import byte_ranges, csv_rows, header
from funnelcli.readers.tabular.byte_ranges import CsvRange, read_csv_range, split_rows
from funnelcli.readers.tabular.csv_rows import FIELD_SIZE_LIMIT
from funnelcli.readers.tabular.read import read_table
from funnelcli.readers.tabular.table import NumberedRow, ReadStats, Table
from funnelcli.render.json_report import report_json

from ..conftest import DATA
from ..processes import run

PARALLEL = DATA / "parallel"
HUBSPOT = DATA / "exports" / "hubspot_funnel.yaml"
EVERY_CSV = sorted(
    path
    for pattern in ("*.csv", "*.tsv", "*.txt")
    for path in DATA.rglob(pattern)
    if path.read_bytes()[:2] not in (b"PK", b"\xd0\xcf")  # not an XLSX file renamed
)


# --- tabular/byte_ranges.py: the rows of a file read in shares ---------------------------


Read = tuple[list[NumberedRow], ReadStats] | str
"""A file's rows and counts, or the message of the error reading it."""


def read_whole(path: Path | str, encoding: str | None = None) -> Read:
    try:
        with read_table(path, encoding=encoding) as table:
            return list(table.rows), table.stats
    except ExportError as error:
        return str(error)


def read_in_shares(
    path: Path | str, parts: int, encoding: str | None = None
) -> tuple[Read, list[CsvRange], list[bool]]:
    """As :func:`read_whole`, in one process, the shares one after the other as
    report_export merges them; with the ranges and whether each share overran its end."""
    shares: list[CsvRange] = []
    overran: list[bool] = []
    try:
        with read_table(path, encoding=encoding) as table:
            shares = split_rows(table, parts)
            rows, stats = list(table.rows), table.stats
            overran.append(table.overran)
            for share in shares if not table.overran else []:
                with read_csv_range(share) as part:
                    rows += part.rows
                    stats.merge(part.stats)
                    overran.append(part.overran)
                if part.overran:
                    break
    except ExportError as error:
        return str(error), shares, overran
    return (rows, stats), shares, overran


@pytest.fixture
def short_lookahead() -> Iterator[None]:
    with unittest.mock.patch.object(header, "HEADER_LOOKAHEAD", 5):
        yield


@pytest.mark.usefixtures("short_lookahead")
def test_every_csv_file_reads_the_same_in_shares() -> None:
    split = 0
    for path in EVERY_CSV:
        for parts in (2, 3, 4):
            shared, shares, _ = read_in_shares(path, parts)
            assert shared == read_whole(path), (path, parts)
            split += bool(shares)
    assert split > 60  # most files, not only the hand-made ones


def test_a_quoted_field_with_line_breaks_across_the_middle() -> None:
    path = PARALLEL / "multiline_middle.csv"
    data = path.read_bytes()
    middle = len(data) // 2
    field_end = data.index(b'end"') + len(b'end"')
    assert data.index(b'"Call notes:') < middle < field_end  # as make_files.py placed it
    shared, shares, overran = read_in_shares(path, 2)
    assert shared == read_whole(path)
    # The notes hold the only quotes: the first line break after them is the split.
    assert shares[0].start == data.index(b"\n", field_end) + 1
    # Rows 0-57 on lines 2-59, row 58's notes on lines 60-63, row 59 on line 64.
    assert (shares[0].lines_before, overran) == (63, [False, False])


@pytest.mark.parametrize(
    ("name", "after_middle"), [("crlf_middle_lf.csv", 1), ("crlf_middle_cr.csv", 2)]
)
def test_crlf_line_ends_with_the_middle_on_one(name: str, after_middle: int) -> None:
    path = PARALLEL / name
    data = path.read_bytes()
    shared, shares, _ = read_in_shares(path, 2)
    assert shared == read_whole(path)
    start = shares[0].start
    # Split just after the CRLF the middle falls on (on its LF, or on its CR).
    assert (data[start - 2 : start], start - after_middle) == (b"\r\n", len(data) // 2)
    # Its line break counted once: the header and 59 rows, one line each.
    assert shares[0].lines_before == 60 == data[:start].count(b"\r\n")


def test_a_cp1252_file_is_split_and_decoded_alike() -> None:
    path = PARALLEL / "cp1252.csv"
    shared, shares, _ = read_in_shares(path, 2)
    assert shares and shared == read_whole(path)
    assert (
        isinstance(shared, tuple)
        and shared[0][-1][1][1] == "Soci\u00e9t\u00e9 \u201c119\u201d \u20ac"
    )


def test_an_unbalanced_quote_leaves_the_file_whole() -> None:
    path = PARALLEL / "unbalanced_quote.csv"
    shared, shares, _ = read_in_shares(path, 2)
    assert shares == []
    assert shared == read_whole(path)


def test_a_stray_quote_makes_a_split_inside_quotes_which_the_first_share_reads_past() -> None:
    path = PARALLEL / "stray_quote.csv"
    data = path.read_bytes()
    shared, shares, overran = read_in_shares(path, 2)
    notes = data.index(b'"Call notes:')
    assert notes < shares[0].start <= data.index(b'end"')  # inside the notes
    assert overran == [True]  # the first share read on to the end of the file
    assert shared == read_whole(path)


def test_a_share_of_a_worker_can_read_past_its_end_too() -> None:
    path = PARALLEL / "stray_quote_three_parts.csv"
    data = path.read_bytes()
    shared, shares, overran = read_in_shares(path, 3)
    assert data.index(b'"Call notes:') < shares[1].start <= data.index(b'end"')
    assert overran == [False, True]  # the third share is dropped
    assert shared == read_whole(path)


def test_utf16_is_not_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(header, "HEADER_LOOKAHEAD", 2)
    path = DATA / "tabular" / "excel_unicode_text.txt"
    shared, shares, _ = read_in_shares(path, 2)
    assert shares == []
    assert shared == read_whole(path)


def test_a_bom_character_starting_the_second_share_stays(tmp_path: Path) -> None:
    """utf-8-sig drops a BOM at the start of the file only; a share decodes as UTF-8."""
    lines = ["Deal Name,Stage,Amount", *(f"\ufeffD{index},Won,{index}" for index in range(200))]
    path = tmp_path / "bom.csv"
    path.write_bytes("\n".join(lines).encode("utf-8-sig"))
    shared, shares, _ = read_in_shares(path, 2)
    assert shares and shared == read_whole(path)
    assert isinstance(shared, tuple) and shared[0][-1] == (201, ("\ufeffD199", "Won", "199"))


def _deal_lines(count: int) -> list[str]:
    return [f"D{index},Deal {index},Won,{index}" for index in range(count)]


def test_a_decoding_error_in_the_second_share_is_the_one_process_error(tmp_path: Path) -> None:
    lines = ["ID,Deal Name,Stage,Amount", *_deal_lines(3000)]
    lines[2800] = "D-1,Caf\udce9,Won,5"
    path = tmp_path / "bad.csv"
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape"))
    message = "bad.csv: line 2801: byte E9 is not valid utf-8; "
    whole = read_whole(path, encoding="utf-8")
    assert isinstance(whole, str) and whole.endswith(
        message + "try --encoding cp1252, or leave --encoding out to detect it"
    )
    shared, shares, _ = read_in_shares(path, 2, encoding="utf-8")
    assert shares[0].lines_before < 2800 and shared == whole


def test_a_csv_error_in_the_second_share_names_its_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_rows, "FIELD_SIZE_LIMIT", 1000)
    monkeypatch.setattr(byte_ranges, "FIELD_SIZE_LIMIT", 1000)
    lines = ["ID,Deal Name,Stage,Amount", *_deal_lines(300)]
    lines[250] = f'D-1,"{"long note, " * 100}\n{"more " * 100}",Won,5'
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    try:
        shared, shares, _ = read_in_shares(path, 2)
        assert shares[0].lines_before < 250
        assert (
            shared
            == read_whole(path)
            == (f"{path}: row 251: a field is larger than 10 MiB; is this really a CSV export?")
        )
    finally:
        csv.field_size_limit(FIELD_SIZE_LIMIT)


_CELLS = st.sampled_from(
    ["a", "", " ", "Won", "Total", '"q"', '"x""y"', '"l1\nl2"', '"l1\r\nl2"', 'in"ch', "1,5"]
)
_ROWS = st.lists(st.lists(_CELLS, min_size=1, max_size=5).map(",".join), max_size=60)


@settings(max_examples=200)
@given(
    rows=_ROWS,
    ends=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1),
    parts=st.integers(2, 4),
)
def test_any_file_reads_the_same_in_shares(
    rows: list[str], ends: list[str], parts: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Quoted line breaks, stray quotes, CR, LF and CRLF ends, blank and footer rows."""
    text = "Name,Stage,Amount\n" + "".join(
        row + ends[index % len(ends)] for index, row in enumerate(rows)
    )
    path = tmp_path_factory.mktemp("any") / "any.csv"
    path.write_text(text, encoding="utf-8", newline="")
    with unittest.mock.patch.object(header, "HEADER_LOOKAHEAD", 1):
        assert read_in_shares(path, parts)[0] == read_whole(path)


# --- export.py: the report read by several processes -------------------------


def _outcome(path: Path, funnel: Funnel, workers: str, monkeypatch: pytest.MonkeyPatch) -> object:
    """The JSON report with its row account and counts, or the error; and the shares."""
    monkeypatch.setenv("FUNNEL_WORKERS", workers)
    try:
        result = report_export(
            str(path), funnel, as_of=dt.date(2025, 11, 30), options=ReadOptions()
        )
    except ExportError as error:
        return str(error)
    return report_json(result, "funnel", "export"), result.account, result.table.stats


@pytest.fixture
def shares_made(monkeypatch: pytest.MonkeyPatch) -> list[list[CsvRange]]:
    """A short date sample (so small files split), and the shares each read made."""
    monkeypatch.setattr(export, "DATE_SAMPLE_ROWS", 10)
    made: list[list[CsvRange]] = []

    def split(table: Table, parts: int) -> list[CsvRange]:
        made.append(split_rows(table, parts))
        return made[-1]

    monkeypatch.setattr(export, "split_rows", split)
    return made


@pytest.mark.usefixtures("short_lookahead")
def test_every_csv_export_reports_the_same_with_two_and_three_processes(
    monkeypatch: pytest.MonkeyPatch, shares_made: list[list[CsvRange]]
) -> None:
    hubspot = load_funnel_file(str(HUBSPOT)).funnel
    for path in EVERY_CSV:
        funnel = hubspot if path.parent == PARALLEL else default_funnel()
        alone = _outcome(path, funnel, "1", monkeypatch)
        for workers in ("2", "3"):
            assert _outcome(path, funnel, workers, monkeypatch) == alone, (path, workers)
    assert sum(bool(shares) for shares in shares_made) > 30


def test_one_process_when_told(
    monkeypatch: pytest.MonkeyPatch, shares_made: list[list[CsvRange]]
) -> None:
    _outcome(PARALLEL / "multiline_middle.csv", default_funnel(), "1", monkeypatch)
    assert shares_made == []


@pytest.mark.parametrize(
    ("name", "row", "label", "reason"),
    [
        # Row 95, below row 58's notes on four lines (see make_files.py).
        ("multiline_middle.csv", 100, "Discovery Call", "unknown_stage_label"),
        ("crlf_middle_lf.csv", 102, "Discovery Call", "unknown_stage_label"),
        ("crlf_middle_cr.csv", 102, "Discovery Call", "unknown_stage_label"),
        # The header row again, on line 82, below the split (line 57).
        ("header_footer.csv", 82, "Record ID", "repeated_header"),
    ],
)
def test_a_row_skipped_in_the_second_share_keeps_its_line_number(
    name: str,
    row: int,
    label: str,
    reason: str,
    monkeypatch: pytest.MonkeyPatch,
    shares_made: list[list[CsvRange]],
) -> None:
    hubspot = load_funnel_file(str(HUBSPOT)).funnel
    alone = _outcome(PARALLEL / name, hubspot, "1", monkeypatch)
    shared = _outcome(PARALLEL / name, hubspot, "2", monkeypatch)
    assert shared == alone
    assert shares_made[0][0].lines_before < row
    assert isinstance(shared, tuple)
    account = shared[1]
    assert isinstance(account, RowAccount)
    assert account.examples == {reason: [(row, label)]}


def test_blank_and_footer_rows_of_the_second_share_are_counted(
    monkeypatch: pytest.MonkeyPatch, shares_made: list[list[CsvRange]]
) -> None:
    hubspot = load_funnel_file(str(HUBSPOT)).funnel
    shared = _outcome(PARALLEL / "header_footer.csv", hubspot, "2", monkeypatch)
    assert shares_made[0][0].lines_before == 57  # all of them are below
    assert isinstance(shared, tuple)
    assert shared[2] == ReadStats(blank_rows=3, footer_rows=2, footer_text="Total")
    assert '"blank": 3,\n    "footer": 2' in str(shared[0])


def test_errors_of_the_second_share_are_the_one_process_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shares_made: list[list[CsvRange]]
) -> None:
    monkeypatch.chdir(tmp_path)
    lines = ["ID,Deal Name,Stage,Amount", *_deal_lines(3000)]
    lines[2800] = "D-1,Caf\udce9,Won,5"
    Path("bad.csv").write_bytes("\n".join(lines).encode("utf-8", "surrogateescape"))

    def error(workers: str) -> str:
        monkeypatch.setenv("FUNNEL_WORKERS", workers)
        with pytest.raises(ExportError) as caught:
            report_export(
                "bad.csv",
                default_funnel(),
                as_of=dt.date(2025, 11, 30),
                options=ReadOptions(encoding="utf-8"),
            )
        return str(caught.value)

    assert (
        error("2")
        == error("1")
        == (
            "bad.csv: line 2801: byte E9 is not valid utf-8; "
            "try --encoding cp1252, or leave --encoding out to detect it"
        )
    )
    assert shares_made[0][0].lines_before < 2800


def test_progress_counts_the_first_share_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks.generate import FUNNEL_YAML, write_export

    path = tmp_path / "deals.csv"
    write_export(20_000, path)
    (tmp_path / "funnel.yaml").write_text(FUNNEL_YAML, encoding="utf-8")
    funnel = load_funnel_file(str(tmp_path / "funnel.yaml")).funnel
    monkeypatch.setenv("FUNNEL_WORKERS", "2")
    calls: list[int] = []
    report_export(
        str(path),
        funnel,
        as_of=dt.date(2025, 12, 1),
        options=ReadOptions(),
        progress=lambda done, expected: calls.append(done),
    )
    # This process reads about 10,000 rows: at 8,192 it reports twice as many.
    assert calls == [16384]


def test_progress_never_goes_back_when_the_first_share_reads_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review finding: with three shares, stray quotes make the first share read on past
    its end (a quoted field straddles it); its count then switched from rows x 3 to rows,
    and the progress went from 49,152 back to 24,576."""
    lines = ["ID,Deal Name,Stage,Amount,Created"]
    for row in range(60_000):
        name, amount = f"Deal {row}", row
        if row in (100, 30_000):
            name, amount = f'Deal {row % 50}" screen', 1  # a lone quote: not a quoted field
        elif row == 20_430:
            name, amount = '"notes\n' + "more\n" * 3_000 + 'end"', 1
        lines.append(f"D{row},{name},Lead,{amount},2024-03-05")
    path = tmp_path / "deals.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("FUNNEL_WORKERS", "3")
    calls: list[int] = []
    result = report_export(
        str(path),
        default_funnel(),
        as_of=dt.date(2025, 11, 30),
        options=ReadOptions(),
        progress=lambda done, expected: calls.append(done),
    )
    assert result.account.read == 60_000
    assert calls[:2] == [24_576, 49_152]  # 8,192 and 16,384 rows, counted three times
    assert calls == sorted(calls)


def test_a_utf8_file_with_a_cp1252_row_is_split_and_read_as_both(tmp_path: Path) -> None:
    lines = ["ID,Deal Name,Stage,Amount", *_deal_lines(300)]
    lines[10] = "D-2,Caf\u00e9 \u20ac,Won,5"  # UTF-8 before the split
    lines[250] = "D-1,Caf\udce9,Won,5"  # a cp1252 byte after it
    path = tmp_path / "mixed.csv"
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape"))
    shared, shares, _ = read_in_shares(path, 2)
    assert shares and shares[0].parsing.file.encoding == "utf-8+cp1252"
    assert shared == read_whole(path)
    assert isinstance(shared, tuple) and shared[0][249] == (251, ("D-1", "Caf\u00e9", "Won", "5"))


_KILLED_WORKER = """
import os, signal, sys
from funnelcli.readers import export, parallel

# The worker dies as an out-of-memory kill or a stray kill would end it.
def run(self, share):
    os.kill(os.getpid(), signal.SIGKILL)

parallel.WorkerJob.run = run
export.DATE_SAMPLE_ROWS = 10
sys.argv = ["funnel", "report", sys.argv[1], "--format", "json", "--as-of", "2025-11-30"]
from funnelcli.entry import main
main()
"""


def test_a_worker_killed_mid_read_is_an_error_not_a_wait(tmp_path: Path) -> None:
    """Review finding: a pool never finished a task whose worker died, so the report waited
    forever. Now the pipe's end tells: one line, exit 71 (EX_OSERR), no report."""
    path = tmp_path / "deals.csv"
    rows = "".join(f"D{i},Deal {i},Lead,{i}\n" for i in range(300))
    path.write_text("ID,Deal Name,Stage,Amount\n" + rows, encoding="utf-8")
    env = dict(os.environ, FUNNEL_WORKERS="2")
    try:
        done = run([sys.executable, "-c", _KILLED_WORKER, str(path)], env=env)
    except subprocess.TimeoutExpired:  # the process group is killed by now
        pytest.fail("the report hung after its worker process died")
    stdout, stderr = done.stdout, done.stderr
    assert done.returncode == 71
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {path}: the process reading the rows from line ")
    assert "ended without a result (killed by signal 9 (SIGKILL: out of memory?))" in lines[0]
    assert lines[0].endswith("or with FUNNEL_WORKERS=1 to read the file in one process")


# --- a worker out of memory comes back as a MemoryError ------------------------------------


class _PicklingFails:
    """A result that cannot be pickled to go back to the parent: raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __reduce__(self) -> str:
        raise self.error


class _Job:
    """A worker's job that returns ``result``, or raises it when it is an exception."""

    def __init__(self, result: object) -> None:
        self.result = result

    def run(self, share: CsvRange) -> object:
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


def _worker_outcome(job: _Job) -> tuple[str, object]:
    """What a forked worker running ``job`` sends back, as read_in_parallel forks one."""
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    worker = context.Process(
        target=parallel._run_worker,
        args=(job, None, sending, os.getpid(), [receiving]),
        daemon=True,
    )
    worker.start()
    sending.close()
    try:
        assert receiving.poll(60), "the worker sent nothing"
        outcome: tuple[str, object] = receiving.recv()
        return outcome
    finally:
        worker.join(timeout=60)
        if worker.is_alive():
            worker.kill()
            worker.join()
        receiving.close()


def test_a_result_that_runs_out_of_memory_while_pickled_comes_back_as_memory_error() -> None:
    outcome, error = _worker_outcome(_Job(_PicklingFails(MemoryError())))
    assert outcome == "failed"
    assert type(error) is MemoryError


def test_a_result_that_does_not_pickle_for_another_reason_is_named() -> None:
    outcome, error = _worker_outcome(_Job(_PicklingFails(TypeError("cannot pickle a socket"))))
    assert outcome == "failed"
    assert type(error) is RuntimeError
    assert str(error) == "_PicklingFails: cannot pickle a socket"


def test_a_memory_error_the_worker_lost_near_its_limit_comes_back_as_memory_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CPython 3.11 can lose a MemoryError as a frame is taken down, leaving a SystemError
    (errors.memory_ran_out): in a worker that came near its limit, it is a MemoryError."""
    monkeypatch.setattr(errors, "near_address_space_limit", lambda: True)  # the fork's too
    lost = SystemError("error return without exception set")
    outcome, error = _worker_outcome(_Job(lost))
    assert outcome == "failed"
    assert type(error) is MemoryError


def test_a_memory_error_in_the_worker_comes_back_as_memory_error() -> None:
    outcome, error = _worker_outcome(_Job(MemoryError()))
    assert outcome == "failed"
    assert type(error) is MemoryError


class _PicklingFailsAlways:
    """A MemoryError pickled: fails too (as when not even the error fits in memory)."""

    def __reduce__(self) -> str:
        raise MemoryError


def test_a_worker_too_short_of_memory_to_say_so_is_a_memory_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its exit code says it (71), and the parent raises a MemoryError, not WorkerLost."""
    monkeypatch.setattr(parallel, "MemoryError", _PicklingFailsAlways, raising=False)
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    job = _Job(_PicklingFails(MemoryError()))
    worker = context.Process(
        target=parallel._run_worker,
        args=(job, None, sending, os.getpid(), [receiving]),
        daemon=True,
    )
    worker.start()
    sending.close()
    try:
        with pytest.raises(EOFError):
            receiving.recv()
        worker.join(timeout=60)
        assert worker.exitcode == 71
    finally:
        if worker.is_alive():
            worker.kill()
        worker.join()
        receiving.close()


def test_a_worker_that_exits_71_is_out_of_memory(tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    rows = "".join(f"D{i},Deal {i},Lead,{i}\n" for i in range(300))
    path.write_text("ID,Deal Name,Stage,Amount\n" + rows, encoding="utf-8")
    script = _KILLED_WORKER.replace("os.kill(os.getpid(), signal.SIGKILL)", "os._exit(71)")
    done = run([sys.executable, "-c", script, str(path)], env=dict(os.environ, FUNNEL_WORKERS="2"))
    assert (done.returncode, done.stdout, done.stderr) == (
        71,
        "",
        "error: out of memory while running 'funnel report'; give the process more memory, "
        "report fewer segments (--max-segments) or a shorter period (--since, --until)\n",
    )
