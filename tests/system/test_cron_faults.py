"""What goes wrong around a run under cron, through real processes: where the output
goes (devices, pipes, links, a full disk, a reader that leaves), snapshots saved only
with their report, and no process left behind."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest
from benchmarks.generate import FUNNEL_YAML, write_export

from ..conftest import MAVEN, ROOT
from ..processes import group_members, kill_group, poll, started_funnel, wait_until_open

MAVEN_ROWS = 8800


def run(args: list[str], stdout: IO[Any] | int = subprocess.PIPE) -> tuple[int, bytes, str]:
    """Run to the end: exit code, stdout (empty unless piped) and stderr."""
    with started_funnel(args, stdout=stdout, stderr=subprocess.PIPE) as process:
        out, err = process.communicate(timeout=120)
    return process.returncode, out or b"", err.decode()


# --- --output on what is not a regular file ---------------------------------------------


def test_dev_null_as_output_stays_the_null_device() -> None:
    code, out, err = run(["report", *MAVEN, "--format", "json", "--output", os.devnull])
    assert (code, out, err) == (0, b"", "")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)  # as root, a rename would replace it


def test_a_named_pipe_as_output_is_written_through_and_stays_a_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    try:
        code, _, err = run(["report", *MAVEN, "--format", "json", "--output", str(fifo)])
        reader.join(timeout=60)
    finally:
        if reader.is_alive():  # the run never opened the pipe: let the reader see its end
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            reader.join(timeout=10)
    assert (code, err) == (0, "")
    assert json.loads(received[0])["rows"]["read"] == MAVEN_ROWS
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert [path.name for path in tmp_path.iterdir()] == ["report.fifo"]


def test_dev_stdout_as_output_writes_to_stdout() -> None:
    code, out, err = run(["report", *MAVEN, "--format", "json", "--output", "/dev/stdout"])
    assert (code, err) == (0, "")
    assert json.loads(out)["rows"]["read"] == MAVEN_ROWS


def test_a_link_as_output_stays_a_link_to_the_new_report(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    target = reports / "2017-12.json"
    target.write_text("last month")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    code, _, err = run(["report", *MAVEN, "--output", str(link)])
    assert (code, err) == (0, "")
    assert link.is_symlink()
    assert os.readlink(link) == str(target)
    assert json.loads(target.read_text())["rows"]["read"] == MAVEN_ROWS
    assert sorted(path.name for path in tmp_path.rglob("*")) == [
        "2017-12.json",
        "latest.json",
        "reports",
    ]


# --- a full disk and a reader that leaves: 74 and 141, and no snapshot -------------------


def test_a_full_disk_on_stdout_is_74_in_one_line_and_saves_no_snapshot(tmp_path: Path) -> None:
    history = tmp_path / "history.db"
    with open("/dev/full", "wb") as full:
        code, _, err = run(
            ["report", *MAVEN, "--format", "json", "--save-snapshot", str(history)], stdout=full
        )
    assert code == 74
    assert (
        err
        == "error: stdout: cannot be written (No space left on device); the output is incomplete\n"
    )
    assert not history.exists()


@pytest.mark.parametrize("args", [["--format", "csv"], [], ["--format", "xlsx"]])
def test_a_full_disk_on_stdout_is_74_for_every_format(args: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        code, _, err = run(["report", *MAVEN, *args], stdout=full)
    assert code == 74
    assert err.startswith("error: stdout: cannot be written (")
    assert err.count("\n") == 1


def test_a_full_disk_on_help_and_inspect_is_74_not_a_bug() -> None:
    for args in (["--help"], ["inspect", "examples/maven_pipeline.csv"]):
        with open("/dev/full", "wb") as full:
            code, _, err = run(args, stdout=full)
        assert code == 74, err
        assert err.startswith("error: stdout: cannot be written (")
        assert err.count("\n") == 1


def test_a_closed_pipe_on_help_and_inspect_is_141_not_the_alert_code() -> None:
    """typer's own handling of a closed pipe is a silent exit 1, the alert code."""
    for args in (["--help"], ["inspect", "examples/maven_pipeline.csv"]):
        reading, writing = os.pipe()
        os.close(reading)
        try:
            code, _, err = run(args, stdout=writing)
        finally:
            os.close(writing)
        assert (code, err) == (
            141,
            "error: stdout: closed by the program reading it; the output was cut short\n",
        )


def test_a_full_disk_on_output_is_74_and_saves_no_snapshot(tmp_path: Path) -> None:
    history = tmp_path / "history.db"
    code, _, err = run(
        ["report", *MAVEN, "--format", "json", "-o", "/dev/full", "--save-snapshot", str(history)]
    )
    assert code == 74
    assert err == "error: --output /dev/full: cannot be written (No space left on device)\n"
    assert not history.exists()


def test_stdout_closed_before_the_report_is_141_in_one_line_and_saves_no_snapshot(
    tmp_path: Path,
) -> None:
    history = tmp_path / "history.db"
    reading, writing = os.pipe()
    os.close(reading)  # no reader at all: the first write fails
    try:
        code, _, err = run(
            ["report", *MAVEN, "--format", "csv", "--save-snapshot", str(history)], stdout=writing
        )
    finally:
        os.close(writing)
    assert code == 141
    assert err == "error: stdout: closed by the program reading it; the output was cut short\n"
    assert not history.exists()


def test_stdout_closed_from_the_start_is_141_and_output_files_still_work(tmp_path: Path) -> None:
    """`funnel ... >&-`: no stdout at all."""
    report = tmp_path / "report.json"
    for args, expected in (
        (
            ["--format", "json"],
            (
                141,
                "error: stdout is closed (the command was started without it); "
                "the output was not written\n",
            ),
        ),
        (["--output", str(report)], (0, "")),
    ):
        with started_funnel(
            ["report", *MAVEN, *args], stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1)
        ) as process:
            _, err = process.communicate(timeout=120)
        assert (process.returncode, err.decode()) == expected
    assert json.loads(report.read_text())["rows"]["read"] == MAVEN_ROWS


def test_help_with_stdout_closed_from_the_start_says_so() -> None:
    with started_funnel(
        ["--help"], stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1)
    ) as process:
        _, err = process.communicate(timeout=120)
    assert (process.returncode, err.decode()) == (
        141,
        "error: stdout is closed (the command was started without it); the output was not written\n",
    )


@pytest.fixture(scope="module")
def many_segments(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A report of 5,000 segments: about 1 MB of CSV, far more than a pipe holds."""
    folder = tmp_path_factory.mktemp("segments")
    export = folder / "deals.csv"
    write_export(5000, export)
    funnel = folder / "funnel.yaml"
    funnel.write_text(FUNNEL_YAML, encoding="utf-8")
    return [
        "report",
        str(export),
        "--funnel",
        str(funnel),
        "--by",
        "Deal Name",
        "--max-segments",
        "0",
        "--format",
        "csv",
    ]


def test_a_reader_that_takes_one_line_and_leaves_is_141_without_noise(
    many_segments: list[str], tmp_path: Path
) -> None:
    """`funnel report ... | head -1` under cron: one line on stderr, no traceback."""
    history = tmp_path / "history.db"
    args = [*many_segments, "--save-snapshot", str(history)]
    with started_funnel(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()  # as head does after its line
        err = process.stderr.read().decode()
        code = process.wait(timeout=120)
    assert first.startswith(b"segment,stage,")
    assert code == 141
    assert err == "error: stdout: closed by the program reading it; the output was cut short\n"
    assert not history.exists()


# --- a snapshot is saved with its report, or not at all ----------------------------------


def test_an_output_refused_is_2_and_saves_no_snapshot(tmp_path: Path) -> None:
    history = tmp_path / "history.db"
    missing = tmp_path / "no" / "such" / "report.json"
    code, _, err = run(["report", *MAVEN, "-o", str(missing), "--save-snapshot", str(history)])
    assert code == 2
    assert err == (
        f"error: --output {missing}: the folder {missing.parent} does not exist; create it first\n"
    )
    assert not history.exists()


def test_a_snapshot_that_cannot_be_saved_leaves_the_previous_report(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text("last good report")
    history = tmp_path / "history.db"
    history.write_text("not a database, but someone's notes\n" * 200)
    code, _, err = run(["report", *MAVEN, "-o", str(report), "--save-snapshot", str(history)])
    assert code == 2
    assert err.startswith(f"error: {history}: not a snapshot database (")
    assert report.read_text() == "last good report"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["history.db", "report.json"]


def test_a_snapshot_file_refused_fails_before_the_report_goes_to_stdout(tmp_path: Path) -> None:
    history = tmp_path / "history.db"
    history.write_text("not a database, but someone's notes\n" * 200)
    code, out, err = run(["report", *MAVEN, "--format", "json", "--save-snapshot", str(history)])
    assert (code, out) == (2, b"")
    assert err.startswith(f"error: {history}: not a snapshot database (")


_CRASHING_SAVE = """\
import os, sys
from funnelcli import entry, snapshots


def die(*args):
    os._exit(9)  # the machine goes down between a snapshot and its stages


snapshots._insert_stages = die
sys.argv = ["funnel", *sys.argv[1:]]
entry.main()
"""


def test_a_run_after_a_crashed_save_undoes_it_and_saves(tmp_path: Path) -> None:
    history = tmp_path / "history.db"
    args = ["report", *MAVEN, "--format", "json", "--save-snapshot", str(history)]
    assert run(args)[0] == 0
    with subprocess.Popen(
        [sys.executable, "-c", _CRASHING_SAVE, *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    ) as crashing:
        try:
            assert crashing.wait(timeout=120) == 9
        finally:
            kill_group(crashing)
    assert (tmp_path / "history.db-journal").exists()  # a hot journal: the save to undo
    code, _, err = run(args)
    assert (code, err) == (0, "")
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT id FROM snapshots").fetchall() == [(1,), (2,)]
        assert db.execute("SELECT COUNT(DISTINCT snapshot_id) FROM snapshot_stages").fetchall() == [
            (2,)
        ]


def test_a_report_written_saves_its_snapshot(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    history = tmp_path / "history.db"
    code, _, err = run(["report", *MAVEN, "-o", str(report), "--save-snapshot", str(history)])
    assert (code, err) == (0, "")
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT as_of FROM snapshots").fetchall() == [("2017-12-31",)]
    assert json.loads(report.read_text())["rows"]["read"] == MAVEN_ROWS


_RACING_RUN = """\
import os, subprocess, sys
from funnelcli import entry

link = os.link


def another_run_first(source, target, **options):
    # Another cron job saves its snapshot between this run's look and its own file.
    subprocess.run(
        [sys.executable, "-m", "funnelcli", *sys.argv[1:]],
        stdout=subprocess.DEVNULL, check=True, timeout=120,
    )
    return link(source, target, **options)


os.link = another_run_first
sys.argv = ["funnel", *sys.argv[1:]]
entry.main()
"""


def test_two_runs_creating_one_history_keep_both_snapshots(tmp_path: Path) -> None:
    history = tmp_path / "history.db"
    args = ["report", *MAVEN, "--format", "json", "--save-snapshot", str(history)]
    with subprocess.Popen(
        [sys.executable, "-c", _RACING_RUN, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    ) as process:
        try:
            out, err = process.communicate(timeout=240)
        finally:
            kill_group(process)
    assert (process.returncode, err) == (0, b"")
    assert json.loads(out)["rows"]["read"] == MAVEN_ROWS
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT id, as_of FROM snapshots").fetchall() == [
            (1, "2017-12-31"),
            (2, "2017-12-31"),
        ]
    assert [path.name for path in tmp_path.iterdir()] == ["history.db"]


_LOCK_HOLDER = """\
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # held until the test closes stdin
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc")
@pytest.mark.parametrize(
    ("sent", "code", "line"),
    [(signal.SIGINT, 130, "error: interrupted\n"), (signal.SIGTERM, 143, "error: terminated\n")],
)
def test_a_signal_while_waiting_for_the_history_lock_acts_at_once(
    tmp_path: Path, sent: signal.Signals, code: int, line: str
) -> None:
    history = tmp_path / "history.db"
    assert run(["report", *MAVEN, "--format", "json", "--save-snapshot", str(history)])[0] == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", _LOCK_HOLDER, str(history)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        args = ["report", *MAVEN, "--format", "json", "--save-snapshot", str(history)]
        # stdout to the null device: the report is written before the snapshot is saved.
        with started_funnel(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as waiting:
            wait_until_open(waiting.pid, history)
            time.sleep(0.3)  # into SQLite's wait for the lock
            waiting.send_signal(sent)
            # Sooner than the 10 s lock wait would end: the wait is in 0.1 s slices.
            _, err = waiting.communicate(timeout=5)
        assert (waiting.returncode, err.decode()) == (code, line)
    finally:
        kill_group(holder)
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT COUNT(*) FROM snapshots").fetchall() == [(1,)]


# --- a worker process never outlives the run ---------------------------------------------


@pytest.fixture(scope="module")
def shared_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An export the Python lanes read for a second or more, in two processes."""
    folder = tmp_path_factory.mktemp("shared")
    export = folder / "deals.csv"
    write_export(200_000, export)
    funnel = folder / "funnel.yaml"
    funnel.write_text(FUNNEL_YAML, encoding="utf-8")
    return export, funnel


_WITHOUT_PRCTL = """\
import sys
from funnelcli import entry
from funnelcli.readers import parallel

parallel._PARENT_DEATH_SIGNAL = False  # as on macOS: the worker's thread watches its parent
sys.argv = ["funnel", *sys.argv[1:]]
entry.main()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("portable", [False, True], ids=["prctl", "portable"])
@pytest.mark.parametrize(
    ("sent", "code", "line"),
    [(signal.SIGKILL, -9, ""), (signal.SIGTERM, 143, "error: terminated\n")],
)
def test_a_worker_ends_with_its_parent_and_leaves_stdout_closed(
    shared_export: tuple[Path, Path], sent: signal.Signals, code: int, line: str, portable: bool
) -> None:
    """The OOM killer or `timeout -s KILL` ends the parent: the worker must not live on,
    holding cron's stdout and stderr (`| mail` would wait for ever)."""
    export, funnel = shared_export
    args = ["report", str(export), "--funnel", str(funnel), "--format", "json"]
    environment = {**os.environ, "FUNNEL_COMPILED": "0", "FUNNEL_WORKERS": "2"}
    with started_funnel(
        args,
        python=("-c", _WITHOUT_PRCTL) if portable else (),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
    ) as main:
        worker = poll(
            lambda: [pid for pid, _ in group_members(main.pid) if pid != main.pid],
            "the worker process",
        )[0]
        os.kill(main.pid, sent)
        received: dict[str, bytes] = {}

        def read(name: str, stream: IO[bytes] | None) -> None:
            assert stream is not None
            received[name] = stream.read()  # at EOF: when no process holds the pipe any more

        readers = [
            threading.Thread(target=read, args=("out", main.stdout), daemon=True),
            threading.Thread(target=read, args=("err", main.stderr), daemon=True),
        ]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(timeout=60)
        assert sorted(received) == ["err", "out"], "stdout or stderr still held open"
        assert main.wait(timeout=60) == code
        poll(lambda: not group_members(main.pid), f"worker {worker} to end")
    assert received["err"].decode() == line


# --- out of memory: the system's limit, not a bug ----------------------------------------

MEMORY_LIMIT = 200 * 1000 * 1000  # bytes of address space: Python starts, this report cannot


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def test_out_of_memory_is_71_in_one_line_without_a_traceback(tmp_path: Path) -> None:
    """50,000 segments (a report of half a gigabyte) under a 200 MB limit: a MemoryError,
    said as the system's limit with the fix, not as "internal error (a bug in funnel)"."""
    export = tmp_path / "deals.csv"
    write_export(50_000, export)
    funnel = tmp_path / "funnel.yaml"
    funnel.write_text(FUNNEL_YAML, encoding="utf-8")
    args = ["report", str(export), "--funnel", str(funnel), "--by", "Deal Name"]
    with started_funnel(
        [*args, "--max-segments", "0", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_limit_memory,
    ) as process:
        out, err = process.communicate(timeout=120)
    assert (process.returncode, out, err.decode()) == (
        71,
        b"",
        "error: out of memory while running 'funnel report'; give the process more memory, "
        "report fewer segments (--max-segments) or a shorter period (--since, --until)\n",
    )


_LOST_MEMORY_ERROR = """\
import sys
from funnelcli import entry, errors, reporting


def read(*args, **kwargs):
    raise SystemError("<function read_share at 0x7f00> returned NULL without setting an exception")


reporting.report_export = read
near = sys.argv.pop(1) == "near"
errors.near_address_space_limit = lambda: near  # as VmPeak would say
sys.argv = ["funnel", *sys.argv[1:]]
entry.main()
"""


@pytest.mark.parametrize("near", [True, False], ids=["near the limit", "memory to spare"])
def test_a_memory_error_cpython_lost_is_71_near_the_limit_and_a_bug_otherwise(
    near: bool,
) -> None:
    with started_funnel(
        ["report", *MAVEN, "--format", "json"],
        python=("-c", _LOST_MEMORY_ERROR, "near" if near else "spare"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        out, err_bytes = process.communicate(timeout=120)
    err = err_bytes.decode()
    assert out == b""
    if near:
        assert (process.returncode, err) == (
            71,
            "error: out of memory while running 'funnel report'; give the process more "
            "memory, report fewer segments (--max-segments) or a shorter period (--since, "
            "--until)\n",
        )
    else:
        assert process.returncode == 70
        assert err.startswith("error: internal error (a bug in funnel ")
        assert err.endswith("returned NULL without setting an exception\n")  # the traceback


# --- a snapshot the disk refuses: 74, as stdout and --output ---------------------------

FILE_SIZE_LIMIT = 5000  # bytes: less than a snapshot database's first pages


def _limit_file_size() -> None:
    # Past the limit a write fails with EFBIG, as on a full disk, instead of a SIGXFSZ kill.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


@pytest.mark.parametrize("existing", [False, True], ids=["new file", "appended to"])
def test_a_snapshot_the_disk_refuses_is_74_in_one_line(tmp_path: Path, existing: bool) -> None:
    history = tmp_path / "history.db"
    if existing:  # a history of one snapshot, under the limit; the second one goes past it
        code, _, err = run(["report", *MAVEN, "--format", "json", "--save-snapshot", str(history)])
        assert (code, err) == (0, "")
        before = history.read_bytes()
    with started_funnel(
        ["report", *MAVEN, "--format", "json", "--save-snapshot", str(history)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_limit_file_size,
    ) as process:
        out, err_bytes = process.communicate(timeout=120)
    assert process.returncode == 74
    assert json.loads(out)["rows"]["read"] == MAVEN_ROWS  # the report went out first
    # The reason in brackets is SQLite's own wording.
    assert re.fullmatch(
        re.escape(f"error: {history}: cannot be written (")
        + r"[^\n]+"
        + re.escape("); no snapshot was saved; check the disk (space, quota) and run again\n"),
        err_bytes.decode(),
    )
    if existing:
        assert history.read_bytes() == before
    else:
        assert not history.exists()
