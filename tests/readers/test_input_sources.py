"""Where an export comes from, and faults of its rows found in real use, through a real process.

Every case runs ``python -m funnelcli`` (or a small ``python -c`` wrapper that changes one
thing of the program first, where the fault needs a moment no file can give) in a session
of its own, killed with its group when the test ends, and checks stdout, stderr and the
exit code. Expected figures come from the input files, counted by hand in the comments.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from funnelcli.errors import ExportError
from funnelcli.readers import sources

from .. import conftest
from ..processes import poll, started
from ..processes import run as run_process

DATA = conftest.DATA / "input_sources"
FUNNEL = str(DATA / "funnel.yaml")
DEALS = DATA / "deals.csv"
TIMEOUT = 60.0
MEMORY_LIMIT = 1024 * 1024 * 1024
LANES = [
    pytest.param({"FUNNEL_COMPILED": "0", "FUNNEL_WORKERS": "1"}, id="python-1"),
    pytest.param({"FUNNEL_COMPILED": "0", "FUNNEL_WORKERS": "2"}, id="python-2"),
    pytest.param({"FUNNEL_COMPILED": "1", "FUNNEL_WORKERS": "1"}, id="compiled-1"),
]


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return self.stderr.splitlines()


def run(
    command: list[str],
    *,
    tmp: Path,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> Run:
    """Run ``command`` with TMPDIR in ``tmp``/tmp (tests/processes.py: in a session of its
    own, its group killed whatever happens)."""
    temporary = tmp / "tmp"
    temporary.mkdir(exist_ok=True)
    environment = {**os.environ, "TMPDIR": str(temporary), "COLUMNS": "120", **(env or {})}
    done = run_process(
        command, cwd=tmp, env=environment, input=stdin, timeout=TIMEOUT, preexec_fn=preexec_fn
    )
    return Run(done.returncode, done.stdout, done.stderr)


def funnel(*args: str) -> list[str]:
    return [sys.executable, "-m", "funnelcli", *args]


def patched(setup: str, *args: str) -> list[str]:
    """The program with ``setup`` run first (a monkeypatch of the moment a fault needs)."""
    code = f"import sys\n{setup}\nfrom funnelcli.entry import main\nsys.argv = ['funnel', *sys.argv[1:]]\nmain()\n"
    return [sys.executable, "-c", code, *args]


def no_copies_left(tmp: Path) -> bool:
    return not any((tmp / "tmp").iterdir())


def assert_refused(result: Run, tmp: Path, *lines: str) -> None:
    """Exit 2, nothing on stdout, exactly these error lines, and no copy left behind."""
    assert (result.code, result.stdout) == (2, "")
    assert result.error_lines == list(lines)
    assert no_copies_left(tmp)


def assert_deals_figures(report: dict[str, object]) -> None:
    """deals.csv: D1 Lead, D2 Demo, D3 Won, D4 Lead: all four reached Lead, D2 and D3
    Demo, D3 Won; 1 won, none lost, 3 open."""
    assert report["rows"] == {
        "read": 4,
        "used": 4,
        "skipped": 0,
        "skipped_by_reason": {},
        "skipped_share": 0.0,
        "filtered": 0,
        "filtered_by_reason": {},
        "blank": 0,
        "footer": 0,
    }
    stages = report["stages"]
    assert isinstance(stages, list)
    assert [(stage["name"], stage["reached"]) for stage in stages] == [
        ("Lead", 4),
        ("Demo", 2),
        ("Won", 1),
    ]
    won, lost, still_open = report["won"], report["lost"], report["open"]
    assert isinstance(won, dict) and isinstance(lost, dict) and isinstance(still_open, dict)
    # Won: D3 (300); open: D1 + D2 + D4 = 100 + 200 + 400.
    assert (won["count"], won["value"]) == (1, 300.0)
    assert lost["count"] == 0
    assert (still_open["count"], still_open["value"]) == (3, 700.0)


# --- 1. standard input -------------------------------------------------------


def test_an_export_on_standard_input_is_read_and_named_dash(tmp_path: Path) -> None:
    result = run(
        funnel("report", "-", "--funnel", FUNNEL, "--format", "json"),
        tmp=tmp_path,
        stdin=DEALS.read_bytes(),
    )
    assert (result.code, result.stderr) == (0, "")
    report = json.loads(result.stdout)
    assert report["export"] == "-"
    assert_deals_figures(report)
    assert no_copies_left(tmp_path)


def test_an_xlsx_export_on_standard_input_is_read(tmp_path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for line in DEALS.read_text().splitlines():
        sheet.append(line.split(","))
    workbook.save(tmp_path / "deals.xlsx")
    result = run(
        funnel("report", "-", "--funnel", FUNNEL, "--format", "json"),
        tmp=tmp_path,
        stdin=(tmp_path / "deals.xlsx").read_bytes(),
    )
    assert (result.code, result.stderr) == (0, "")
    assert_deals_figures(json.loads(result.stdout))


def test_an_empty_standard_input_is_one_line(tmp_path: Path) -> None:
    result = run(funnel("report", "-", "--funnel", FUNNEL), tmp=tmp_path, stdin=b"")
    assert (result.code, result.stdout) == (2, "")
    assert result.error_lines == ["error: -: the file is empty; export the deals with a header row"]
    assert no_copies_left(tmp_path)


def test_the_copy_of_standard_input_is_removed_after_an_error(tmp_path: Path) -> None:
    result = run(
        funnel("report", "-", "--funnel", FUNNEL, "--by", "Nope"),
        tmp=tmp_path,
        stdin=DEALS.read_bytes(),
    )
    assert (result.code, result.stdout) == (2, "")
    assert result.error_lines[0].startswith("error: -: --by Nope: no such column")
    assert no_copies_left(tmp_path)


@pytest.mark.parametrize(
    ("sent", "code", "line"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_the_copy_of_standard_input_is_removed_when_the_run_is_stopped(
    tmp_path: Path, sent: signal.Signals, code: int, line: str
) -> None:
    """A cron job stopped while the export still arrives leaves no copy in TMPDIR."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    environment = {**os.environ, "TMPDIR": str(temporary)}
    command = funnel("report", "-", "--funnel", FUNNEL, "--format", "json")
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with started(command, env=environment, **pipes) as process:
        assert process.stdin is not None
        process.stdin.write(DEALS.read_bytes()[:20])  # the export's first bytes; more to come
        process.stdin.flush()
        poll(lambda: any(temporary.iterdir()), "the copy of standard input")
        process.send_signal(sent)
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    assert (process.returncode, stdout, stderr.decode()) == (code, b"", f"error: {line}\n")
    assert no_copies_left(tmp_path)


# --- 1b. copies left by killed runs, no room for a copy, stdin given twice ----------


def test_a_copy_left_by_a_killed_run_is_removed_by_the_next(tmp_path: Path) -> None:
    """SIGKILL runs no cleanup: the folder of the killed run's copy, named with its pid,
    is removed by the next run that copies a stream. A folder of a process that still runs
    (this test's) is kept, and so is one not of this naming."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    environment = {**os.environ, "TMPDIR": str(temporary)}
    command = funnel("report", "-", "--funnel", FUNNEL, "--format", "json")
    with started(
        command,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as killed:
        assert killed.stdin is not None
        killed.stdin.write(DEALS.read_bytes()[:20])  # the export's first bytes; more to come
        killed.stdin.flush()
        left = poll(lambda: list(temporary.glob("funnel-input-*/export-0")), "the copy")
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=TIMEOUT)
    abandoned = left[0].parent
    assert abandoned.name.startswith(f"funnel-input-{killed.pid}-")
    assert abandoned.exists()  # nothing cleaned up after SIGKILL
    running = temporary / f"funnel-input-{os.getpid()}-abcdef"
    running.mkdir()
    other = temporary / "funnel-input-abcdef"  # not this naming: no pid
    other.mkdir()
    result = run(
        funnel("report", "-", "--funnel", FUNNEL, "--format", "json"),
        tmp=tmp_path,
        stdin=DEALS.read_bytes(),
    )
    assert (result.code, result.stderr) == (0, "")
    assert_deals_figures(json.loads(result.stdout))
    assert sorted(temporary.iterdir()) == sorted([running, other])


def test_a_copy_folder_of_a_dead_process_is_removed(tmp_path: Path) -> None:
    """A process started and reaped: its pid runs no more."""
    with started([sys.executable, "-c", "pass"]) as ended:
        ended.wait(timeout=TIMEOUT)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    dead = temporary / f"funnel-input-{ended.pid}-x1y2z3"
    dead.mkdir()
    (dead / "export-0").write_bytes(DEALS.read_bytes())
    not_a_folder = temporary / f"funnel-input-{ended.pid}-file"
    not_a_folder.write_bytes(b"kept")
    result = run(funnel("report", "-", "--funnel", FUNNEL), tmp=tmp_path, stdin=DEALS.read_bytes())
    assert (result.code, result.stderr) == (0, "")
    assert list(temporary.iterdir()) == [not_a_folder]


def _no_room_after_1000_bytes() -> None:
    """A file size limit: a write past it fails with EFBIG (SIGXFSZ ignored), as on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))


def test_no_room_in_tmpdir_for_the_copy_names_the_folder_and_the_fix(tmp_path: Path) -> None:
    export = DEALS.read_bytes() + DEALS.read_bytes().split(b"\n", 1)[1] * 40  # over 1,000 bytes
    assert len(export) > 1000
    result = run(
        funnel("report", "-", "--funnel", FUNNEL),
        tmp=tmp_path,
        stdin=export,
        preexec_fn=_no_room_after_1000_bytes,
    )
    assert_refused(
        result,
        tmp_path,
        f"error: -: no space left in TMPDIR ({tmp_path / 'tmp'}) for the copy of standard "
        "input; set TMPDIR to a folder with room",
    )


@pytest.mark.parametrize("option", ["--funnel", "-F"])
def test_standard_input_cannot_be_the_funnel_file(tmp_path: Path, option: str) -> None:
    result = run(funnel("report", str(DEALS), option, "-"), tmp=tmp_path, stdin=b"name: x\n")
    assert (result.code, result.stdout) == (2, "")
    assert result.error_lines == [
        "error: -: standard input cannot be the funnel file; give the path of a funnel YAML file"
    ]


@pytest.mark.parametrize("command", ["report", "inspect"])
def test_standard_input_given_twice_is_refused(tmp_path: Path, command: str) -> None:
    result = run(
        funnel(command, "-", "--history", "-", "--funnel", FUNNEL),
        tmp=tmp_path,
        stdin=DEALS.read_bytes(),
    )
    assert_refused(
        result,
        tmp_path,
        "error: standard input given twice (the export and --history); "
        "save one of them to a file and give its path",
    )


# --- 2. pipes and special files ----------------------------------------------


def test_a_named_pipe_is_read_once(tmp_path: Path) -> None:
    fifo = tmp_path / "deals.fifo"
    os.mkfifo(fifo)
    script = (
        f"cat {DEALS} > {fifo} & "
        f"{sys.executable} -m funnelcli report {fifo} --funnel {FUNNEL} --format json; "
        "code=$?; wait; exit $code"
    )
    result = run(["bash", "-c", script], tmp=tmp_path)
    assert (result.code, result.stderr) == (0, "")
    report = json.loads(result.stdout)
    assert report["export"] == str(fifo)
    assert_deals_figures(report)
    assert no_copies_left(tmp_path)


def test_process_substitution_is_read(tmp_path: Path) -> None:
    script = f"{sys.executable} -m funnelcli report <(cat {DEALS}) --funnel {FUNNEL} --format json"
    result = run(["bash", "-c", script], tmp=tmp_path)
    assert (result.code, result.stderr) == (0, "")
    report = json.loads(result.stdout)
    assert report["export"].startswith("/dev/fd/")
    assert_deals_figures(report)


def test_dev_stdin_from_a_pipe_is_read(tmp_path: Path) -> None:
    result = run(
        funnel("report", "/dev/stdin", "--funnel", FUNNEL, "--format", "json"),
        tmp=tmp_path,
        stdin=DEALS.read_bytes(),
    )
    assert (result.code, result.stderr) == (0, "")
    assert_deals_figures(json.loads(result.stdout))


def test_dev_zero_as_the_export_is_refused_as_binary(tmp_path: Path) -> None:
    result = run(funnel("report", "/dev/zero", "--funnel", FUNNEL), tmp=tmp_path)
    assert_refused(
        result,
        tmp_path,
        "error: /dev/zero: binary data (mostly NUL bytes), not a CSV or XLSX export; "
        "give the path of the export",
    )


BINARY_REFUSED = "export the deals as CSV or XLSX"


@pytest.mark.parametrize(
    "command",
    [
        f"{sys.executable} -m funnelcli report /dev/urandom --funnel {FUNNEL}",
        f"{sys.executable} -m funnelcli report {DEALS} --history /dev/urandom --funnel {FUNNEL}",
        f"cat /dev/urandom | {sys.executable} -m funnelcli report - --funnel {FUNNEL}",
    ],
    ids=["export", "history", "pipe"],
)
def test_endless_random_bytes_are_refused_from_the_first_chunk(
    tmp_path: Path, command: str
) -> None:
    """Endless input: refused as binary data, not at the 4 GiB limit of a copy (whose
    message says "more than ... bytes"), and nothing is left in TMPDIR."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    done = run_process(
        ["bash", "-c", command], env={**os.environ, "TMPDIR": str(temporary)}, timeout=20
    )
    name = "-" if "|" in command else "/dev/urandom"
    assert (done.returncode, done.stdout) == (2, "")
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: {name}: not a CSV or XLSX file (starts with bytes ")
    assert line.endswith(f", binary data); {BINARY_REFUSED}")
    assert no_copies_left(tmp_path)


ESCAPES = (
    "Deal ID,Deal Name,Stage,Amount,Created\n"
    "D1,\x1b[2J\x1b]0;pwn\x07Acme,Lead,100,2025-01-06\n"
    "D2,Glo\x07\x07\x07bex,Demo,200,2025-02-03\n"
    "D3,Init\x1bech,Won,300,2025-03-03\n"
    "D4,Umbrella,Lead,400,2025-03-10\n"
)


@pytest.mark.parametrize("given", ["file", "stdin"])
def test_a_few_control_characters_in_a_small_export_are_text(tmp_path: Path, given: str) -> None:
    """Seven ESC and BEL bytes in 175 (4%): CRM text, not binary data; fewer than 8 are
    never binary data, however short the file (deals.csv's figures)."""
    path = tmp_path / "escapes.csv"
    path.write_text(ESCAPES)
    result = run(
        funnel("report", str(path) if given == "file" else "-", "--funnel", FUNNEL, "-f", "json"),
        tmp=tmp_path,
        stdin=ESCAPES.encode() if given == "stdin" else None,
    )
    assert (result.code, result.stderr) == (0, "")
    assert_deals_figures(json.loads(result.stdout))


def test_utf16_text_without_a_bom_on_standard_input_is_read(tmp_path: Path) -> None:
    result = run(
        funnel("report", "-", "--funnel", FUNNEL, "--format", "json"),
        tmp=tmp_path,
        stdin=DEALS.read_text().encode("utf-16-le"),
    )
    assert (result.code, result.stderr) == (0, "")
    assert_deals_figures(json.loads(result.stdout))


def test_dev_zero_as_the_funnel_file_is_refused_by_its_size(tmp_path: Path) -> None:
    result = run(funnel("report", str(DEALS), "--funnel", "/dev/zero"), tmp=tmp_path)
    assert (result.code, result.stdout) == (2, "")
    assert result.error_lines == [
        "error: /dev/zero: is more than 1,048,576 bytes; a funnel file is a few KB of YAML, "
        "is this the right file?"
    ]


def test_endless_input_is_refused_at_the_limit(tmp_path: Path) -> None:
    """The limit lowered to 1,000 bytes; deals.csv repeated is more than that."""
    result = run(
        patched("import funnelcli.readers.sources as s; s.SPOOL_LIMIT = 1000", "report", "-"),
        tmp=tmp_path,
        stdin=DEALS.read_bytes() * 20,
    )
    assert_refused(
        result,
        tmp_path,
        "error: -: more than 1,000 bytes from a stream, not a file; is this endless input? "
        "Save the export to a file and give its path",
    )


def test_spool_refuses_more_than_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" * 100)
    with pytest.raises(ExportError, match="more than 399 bytes from a stream"):
        sources._spool(str(path), limit=399)
    sources.remove_copies()


# --- 3. a line without end ----------------------------------------------------


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.parametrize("lane", LANES)
def test_a_60_mb_line_is_refused_with_its_row_in_bounded_memory(
    tmp_path: Path, lane: dict[str, str]
) -> None:
    """Header on line 1, D0..D99 on lines 2-101, the long line is row 102."""
    rows = "".join(f"D{index},Deal {index},Lead,100,2025-01-06\n" for index in range(100))
    path = tmp_path / "long.csv"
    with path.open("w") as file:
        file.write("Deal ID,Deal Name,Stage,Amount,Created\n" + rows + "D100,")
        for _ in range(60):
            file.write("a," * (512 * 1024))
        file.write("\n" + rows)
    result = run(
        funnel("report", str(path), "--funnel", FUNNEL),
        tmp=tmp_path,
        env=lane,
        preexec_fn=_limit_memory,
    )
    assert (result.code, result.stdout) == (2, "")
    assert result.error_lines == [
        f"error: {path}: row 102: a line is longer than 16 MiB characters; "
        "is this really a CSV export?"
    ]


# --- 6. a file rewritten while it is read --------------------------------------

_REWRITE = """
import funnelcli.readers.export as export
original = export.table_info
def table_info(table):
    with open(sys.argv[2], "a") as file:
        file.write("D9,Late,Lead,900,2025-04-01\\n")
    return original(table)
export.table_info = table_info
"""


def test_an_export_changed_while_read_gives_no_report(tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_bytes(DEALS.read_bytes())
    result = run(
        patched(_REWRITE, "report", str(path), "--funnel", FUNNEL, "--format", "json"),
        tmp=tmp_path,
    )
    assert (result.code, result.stdout) == (2, "")
    assert result.error_lines == [
        f"error: {path}: the file changed while it was read (size, time or inode differ), so "
        "the report would mix two versions of it; run the report again once the export is "
        "written"
    ]


# --- 7. repeated header rows ---------------------------------------------------


@pytest.mark.parametrize("lane", LANES)
def test_repeated_header_rows_are_skipped_with_their_reason(
    tmp_path: Path, lane: dict[str, str]
) -> None:
    """repeated_header.csv: the header again on lines 4 and 6 (with spaces on 6): 6 rows
    read = the 4 deals of deals.csv + 2 repeated headers."""
    result = run(
        funnel("report", str(DATA / "repeated_header.csv"), "--funnel", FUNNEL, "--format", "json"),
        tmp=tmp_path,
        env=lane,
    )
    assert result.code == 0
    assert result.error_lines == [
        f"warning: {DATA / 'repeated_header.csv'}: 2 rows skipped, repeated header row: "
        "row 4 'Deal ID', row 6 'Deal ID'"
    ]
    report = json.loads(result.stdout)
    rows = report["rows"]
    assert (rows["read"], rows["used"], rows["skipped"]) == (6, 4, 2)
    assert rows["skipped_by_reason"] == {"repeated_header": 2}
    assert [(stage["name"], stage["reached"]) for stage in report["stages"]] == [
        ("Lead", 4),
        ("Demo", 2),
        ("Won", 1),
    ]


# --- 8. a date that is no date ---------------------------------------------------


def test_a_month_13_is_named_not_taken_for_an_order_question(tmp_path: Path) -> None:
    path = DATA / "month_13.csv"
    result = run(funnel("report", str(path), "--funnel", FUNNEL, "--format", "json"), tmp=tmp_path)
    assert result.code == 0
    assert len(result.error_lines) == 1
    line = result.error_lines[0]
    assert line.startswith(f"warning: {path}: 2 rows skipped, unreadable date: row 2 '13/13/2025")
    assert "no month 13" in line
    assert "could be day or month first" not in result.stderr
    rows = json.loads(result.stdout)["rows"]
    # D3 has no created date, which is no reason to skip it: the one row used.
    assert (rows["read"], rows["used"], rows["skipped"]) == (3, 1, 2)


# --- 4. decimal commas, per column ---------------------------------------------


@pytest.mark.parametrize("lane", LANES)
def test_a_column_of_decimal_commas_reads_dots_as_thousands(
    tmp_path: Path, lane: dict[str, str]
) -> None:
    """decimal_commas.csv: 1.234,56 and 999,50 show decimal commas, so 2.500 is 2500 and
    12.000 is 12000. Won: D3, 999.50; open: 1234.56 + 2500 + 12000 = 15734.56."""
    result = run(
        funnel("report", str(DATA / "decimal_commas.csv"), "--funnel", FUNNEL, "--format", "json"),
        tmp=tmp_path,
        env=lane,
    )
    assert (result.code, result.stderr) == (0, "")
    report = json.loads(result.stdout)
    assert (report["won"]["count"], report["won"]["value"]) == (1, 999.5)
    assert (report["open"]["count"], report["open"]["value"]) == (3, 15734.56)


def test_decimal_commas_after_the_sample_decide_the_whole_column(tmp_path: Path) -> None:
    """2,100 rows of 2.500 (more than the 2,000 rows sampled), then one 999,50: every 2.500
    is 2500. Open: 2,100 x 2,500 = 5,250,000; won: 999.50."""
    path = tmp_path / "late.csv"
    lines = ["Deal ID;Stage;Amount;Created"]
    lines += [f"D{index};Lead;2.500;2025-01-06" for index in range(2100)]
    lines.append("D2100;Won;999,50;2025-01-06")
    path.write_text("\n".join(lines) + "\n")
    for lane in ({"FUNNEL_COMPILED": "0"}, {"FUNNEL_COMPILED": "1"}):
        result = run(
            funnel("report", str(path), "--funnel", FUNNEL, "--format", "json"),
            tmp=tmp_path,
            env=lane,
        )
        assert (result.code, result.stderr) == (0, "")
        report = json.loads(result.stdout)
        assert (report["open"]["count"], report["open"]["value"]) == (2100, 5_250_000.0)
        assert report["won"]["value"] == 999.5


def test_decimal_commas_and_points_in_one_column_are_refused(tmp_path: Path) -> None:
    path = DATA / "decimal_mixed.csv"
    result = run(funnel("report", str(path), "--funnel", FUNNEL), tmp=tmp_path)
    assert (result.code, result.stdout) == (2, "")
    assert result.error_lines == [
        f"error: {path}: column 'Amount' mixes decimal commas (1.234,56) and decimal points "
        "(12.5), so 2.500 could be read either way; re-export the amounts with one decimal "
        "separator"
    ]


DOT_GROUPS = DATA / "dot_groups.csv"
EVERY_LANE = [
    *LANES,
    pytest.param({"FUNNEL_COMPILED": "1", "FUNNEL_WORKERS": "2"}, id="compiled-2"),
]
AMBIGUOUS = (
    "column 'Amount': amounts like 2.500 could be 2500 (dots group thousands) or 2.5 "
    "(a decimal point), and no amount decides; pass --decimal comma or --decimal point"
)


@pytest.mark.parametrize("lane", EVERY_LANE)
def test_a_column_of_dot_groups_alone_is_refused_not_guessed(
    tmp_path: Path, lane: dict[str, str]
) -> None:
    """dot_groups.csv: 750, 2.500, 12.000, 1.250: no decimal comma or point decides."""
    result = run(
        funnel("report", str(DOT_GROUPS), "--funnel", FUNNEL, "--format", "json"),
        tmp=tmp_path,
        env=lane,
    )
    assert (result.code, result.stdout) == (2, "")
    assert result.error_lines == [f"error: {DOT_GROUPS}: {AMBIGUOUS}"]


@pytest.mark.parametrize(
    ("separator", "won_value"),
    # comma: 750 + 2,500 + 12,000 + 1,250 = 16,500; point: 750 + 2.5 + 12 + 1.25 = 765.75.
    [("comma", 16_500.0), ("point", 765.75)],
)
@pytest.mark.parametrize("lane", EVERY_LANE)
def test_decimal_option_names_the_separator_in_every_lane(
    tmp_path: Path, lane: dict[str, str], separator: str, won_value: float
) -> None:
    result = run(
        funnel("report", str(DOT_GROUPS), "--funnel", FUNNEL, "--decimal", separator, "-f", "json"),
        tmp=tmp_path,
        env=lane,
    )
    assert (result.code, result.stderr) == (0, "")
    report = json.loads(result.stdout)
    assert (report["won"]["count"], report["won"]["value"]) == (4, won_value)


def test_decimal_option_refuses_other_words(tmp_path: Path) -> None:
    result = run(
        funnel("report", str(DOT_GROUPS), "--funnel", FUNNEL, "--decimal", "dot"), tmp=tmp_path
    )
    assert (result.code, result.stdout) == (2, "")
    assert result.error_lines == ["error: --decimal dot: use --decimal comma or --decimal point"]


@pytest.mark.parametrize(
    ("deciding", "total"),
    [
        # 1.250.000 groups thousands with dots: 2,500 + 12,000 + 1,250,000.
        ("1.250.000", 1_264_500.0),
        # 0.500 has no thousands to group, so a decimal point: 2.5 + 12 + 0.5.
        ("0.500", 15.0),
        # 0.99: a decimal point: 2.5 + 12 + 0.99.
        ("0.99", 15.49),
    ],
)
@pytest.mark.parametrize("lane", LANES)
def test_one_deciding_cell_settles_a_column_of_dot_groups(
    tmp_path: Path, lane: dict[str, str], deciding: str, total: float
) -> None:
    path = tmp_path / "decided.csv"
    path.write_text(
        "Deal ID;Stage;Amount;Created\n"
        "D1;Won;2.500;2025-01-06\nD2;Won;12.000;2025-01-07\n"
        f"D3;Won;{deciding};2025-01-08\n"
    )
    result = run(
        funnel("report", str(path), "--funnel", FUNNEL, "--format", "json"), tmp=tmp_path, env=lane
    )
    assert (result.code, result.stderr) == (0, "")
    assert json.loads(result.stdout)["won"]["value"] == total


@pytest.mark.parametrize("lane", [{"FUNNEL_COMPILED": "0"}, {"FUNNEL_COMPILED": "1"}])
def test_dot_groups_beyond_the_sample_are_refused_too(tmp_path: Path, lane: dict[str, str]) -> None:
    """2,100 rows of 12.000 (more than the 2,000 sampled): the whole column is looked at."""
    path = tmp_path / "long.csv"
    rows = [f"D{index};Lead;12.000;2025-01-06" for index in range(2100)]
    path.write_text("Deal ID;Stage;Amount;Created\n" + "\n".join(rows) + "\n")
    result = run(funnel("report", str(path), "--funnel", FUNNEL), tmp=tmp_path, env=lane)
    assert (result.code, result.stdout) == (2, "")
    assert result.error_lines == [
        f"error: {path}: column 'Amount': amounts like 12.000 could be 12000 (dots group "
        "thousands) or 12 (a decimal point), and no amount decides; pass --decimal comma or "
        "--decimal point"
    ]


def test_text_amounts_of_an_xlsx_export_are_settled_as_a_csv_s(tmp_path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for line in DOT_GROUPS.read_text().splitlines():
        sheet.append(line.split(";"))  # every cell text, 2.500 among them
    path = tmp_path / "dots.xlsx"
    workbook.save(path)
    refused = run(funnel("report", str(path), "--funnel", FUNNEL), tmp=tmp_path)
    assert (refused.code, refused.stdout) == (2, "")
    assert refused.error_lines == [f"error: {path}: {AMBIGUOUS}"]
    named = run(
        funnel("report", str(path), "--funnel", FUNNEL, "--decimal", "comma", "-f", "json"),
        tmp=tmp_path,
    )
    assert (named.code, named.stderr) == (0, "")
    assert json.loads(named.stdout)["won"]["value"] == 16_500.0  # as the CSV's, above


def test_init_from_and_plan_credit_pipeline_take_the_decimal_option(tmp_path: Path) -> None:
    """Open deals: D1 Lead 750, D3 Demo 12.000; won: D2 2.500, D4 1.250."""
    path = tmp_path / "open.csv"
    path.write_text(
        DOT_GROUPS.read_text()
        .replace("Acme;Won", "Acme;Lead")
        .replace("Initech;Won", "Initech;Demo")
    )
    for command in (
        funnel("init", str(tmp_path / "made.yaml"), "--from", str(path)),
        funnel("plan", FUNNEL, "--target", "100000", "--credit-pipeline", str(path)),
        funnel("plan", FUNNEL, "--target", "100000", "--rates-from", str(path)),
    ):
        refused = run(command, tmp=tmp_path)
        assert (refused.code, refused.stdout) == (2, "")
        assert refused.error_lines == [f"error: {path}: {AMBIGUOUS}"]
        named = run([*command, "--decimal", "comma"], tmp=tmp_path)
        assert (named.code, named.stdout != "") == (0, True), named.stderr
    assert (tmp_path / "made.yaml").exists()


def test_decimal_option_of_plan_goes_with_an_export(tmp_path: Path) -> None:
    result = run(funnel("plan", FUNNEL, "--target", "1000", "--decimal", "comma"), tmp=tmp_path)
    assert (result.code, result.stdout) == (2, "")
    assert result.error_lines == ["error: --decimal goes with --rates-from or --credit-pipeline"]


# --- 5. repeated deal ids ----------------------------------------------------------

ALL_LANES = [
    *LANES,
    pytest.param({"FUNNEL_COMPILED": "1", "FUNNEL_WORKERS": "2"}, id="compiled-2"),
]


@pytest.mark.parametrize("lane", ALL_LANES)
def test_a_repeated_deal_id_is_one_deal(tmp_path: Path, lane: dict[str, str]) -> None:
    """duplicates.csv: D2 again on row 5 and D3 on row 8 with the same cells; D1 again on
    row 7 as Demo. 7 read = 4 used (D1 Lead, D2, D3, D4) + 2 duplicates + 1 conflicting.
    Lead reached by 4, Demo by D2 and D3, Won by D3; open: 100 + 200 + 400."""
    path = DATA / "duplicates.csv"
    result = run(
        funnel("report", str(path), "--funnel", FUNNEL, "--format", "json"), tmp=tmp_path, env=lane
    )
    assert result.code == 0
    assert result.error_lines == [
        f"warning: {path}: 2 rows skipped, same deal id and content as an earlier row: "
        "row 5 'D2, duplicate of row 3', row 8 'D3, duplicate of row 4'",
        f"warning: {path}: 1 row skipped, same deal id as an earlier row, other cells "
        "(the earlier row is used): row 7 'D1, row 2 used'",
    ]
    report = json.loads(result.stdout)
    rows = report["rows"]
    assert (rows["read"], rows["used"], rows["skipped"]) == (7, 4, 3)
    assert rows["skipped_by_reason"] == {"duplicate": 2, "conflicting_duplicate": 1}
    assert [(stage["name"], stage["reached"]) for stage in report["stages"]] == [
        ("Lead", 4),
        ("Demo", 2),
        ("Won", 1),
    ]
    assert (report["open"]["count"], report["open"]["value"]) == (3, 700.0)


@pytest.mark.parametrize("lane", ALL_LANES)
def test_repeated_ids_across_the_shares_of_a_large_export(
    tmp_path: Path, lane: dict[str, str]
) -> None:
    """20,000 deals D0..D19999 of amount i, all Lead; D100's row again at line 15,002
    and D5000 with amount 1 at line 19,002, far apart (the second process's share). Open:
    0 + 1 + ... + 19,999 = 199,990,000, the first rows' amounts."""
    path = tmp_path / "large.csv"
    lines = [f"D{index},Deal {index},Lead,{index},2025-01-06" for index in range(20_000)]
    lines.insert(15_000, lines[100])
    lines.insert(19_000, "D5000,Deal 5000,Lead,1,2025-01-06")
    path.write_text("Deal ID,Deal Name,Stage,Amount,Created\n" + "\n".join(lines) + "\n")
    result = run(
        funnel("report", str(path), "--funnel", FUNNEL, "--format", "json"), tmp=tmp_path, env=lane
    )
    assert result.code == 0
    assert result.error_lines == [
        f"warning: {path}: 1 row skipped, same deal id and content as an earlier row: "
        "row 15002 'D100, duplicate of row 102'",
        f"warning: {path}: 1 row skipped, same deal id as an earlier row, other cells "
        "(the earlier row is used): row 19002 'D5000, row 5002 used'",
    ]
    report = json.loads(result.stdout)
    assert (report["rows"]["read"], report["rows"]["used"]) == (20_002, 20_000)
    assert (report["open"]["count"], report["open"]["value"]) == (20_000, 199_990_000.0)


@pytest.mark.parametrize("lane", ALL_LANES)
def test_ids_apart_only_by_unicode_spaces_at_their_edges_are_one_deal(
    tmp_path: Path, lane: dict[str, str]
) -> None:
    """An id is stripped of every Unicode space, as Python strips text, in every lane (the
    compiled one too, whose own blanks are ASCII): D100 again at line 15,002 after a no-break
    space (U+00A0), D5000 at line 19,002 before an em space (U+2003) and an ASCII file
    separator (U+001C), both in the second process's share. Their id cells differ from the
    first rows', so both are conflicting duplicates. Open: 0 + 1 + ... + 19,999 =
    199,990,000, the first rows' amounts."""
    path = tmp_path / "spaced.csv"
    lines = [f"D{index},Deal {index},Lead,{index},2025-01-06" for index in range(20_000)]
    lines.insert(15_000, "\u00a0" + lines[100])
    lines.insert(19_000, "D5000\u2003\x1c,Deal 5000,Lead,5000,2025-01-06")
    path.write_text(
        "Deal ID,Deal Name,Stage,Amount,Created\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )
    result = run(
        funnel("report", str(path), "--funnel", FUNNEL, "--format", "json"), tmp=tmp_path, env=lane
    )
    assert result.code == 0
    assert result.error_lines == [
        f"warning: {path}: 2 rows skipped, same deal id as an earlier row, other cells "
        "(the earlier row is used): row 15002 'D100, row 102 used', "
        "row 19002 'D5000, row 5002 used'",
    ]
    report = json.loads(result.stdout)
    assert (report["rows"]["read"], report["rows"]["used"]) == (20_002, 20_000)
    assert (report["open"]["count"], report["open"]["value"]) == (20_000, 199_990_000.0)


@pytest.mark.parametrize("lane", ALL_LANES)
def test_a_repeat_after_the_compiled_lane_gives_up_is_found(
    tmp_path: Path, lane: dict[str, str]
) -> None:
    """A stray quote inside a quoted cell at line 10,002 ends the compiled lane's read (its
    csv module reads on); D100's row comes again at line 15,002, in the rows read after,
    and is compared with those the lane read. Open: 0 + 1 + ... + 19,999 = 199,990,000."""
    path = tmp_path / "stray_quote.csv"
    lines = [f"D{index},Deal {index},Lead,{index},2025-01-06" for index in range(20_000)]
    lines[10_000] = 'D10000,"Deal "odd" 10000",Lead,10000,2025-01-06'
    lines.insert(15_000, lines[100])
    path.write_text("Deal ID,Deal Name,Stage,Amount,Created\n" + "\n".join(lines) + "\n")
    result = run(
        funnel("report", str(path), "--funnel", FUNNEL, "--format", "json"), tmp=tmp_path, env=lane
    )
    assert result.code == 0
    assert result.error_lines == [
        f"warning: {path}: 1 row skipped, same deal id and content as an earlier row: "
        "row 15002 'D100, duplicate of row 102'",
    ]
    report = json.loads(result.stdout)
    assert (report["rows"]["read"], report["rows"]["used"]) == (20_001, 20_000)
    assert (report["open"]["count"], report["open"]["value"]) == (20_000, 199_990_000.0)


def test_without_an_id_column_equal_rows_are_two_deals(tmp_path: Path) -> None:
    result = run(
        funnel("report", str(DATA / "no_id_column.csv"), "--funnel", FUNNEL, "--format", "json"),
        tmp=tmp_path,
    )
    assert (result.code, result.stderr) == (0, "")
    report = json.loads(result.stdout)
    assert (report["rows"]["read"], report["rows"]["used"]) == (2, 2)
    assert (report["open"]["count"], report["open"]["value"]) == (2, 200.0)


def test_strict_refuses_a_repeated_deal_id(tmp_path: Path) -> None:
    path = DATA / "duplicates.csv"
    result = run(funnel("report", str(path), "--funnel", FUNNEL, "--strict"), tmp=tmp_path)
    assert (result.code, result.stdout) == (2, "")
    assert len(result.error_lines) == 1
    assert result.error_lines[0].startswith("error: ")
    assert "same deal id and content as an earlier row" in result.stderr
