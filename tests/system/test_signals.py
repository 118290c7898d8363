"""Ctrl-C and SIGTERM through real processes: from the first line of funnel's own code to
the end of a long report, one line, the documented code (130, 143), never a traceback,
and no output file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from benchmarks.generate import FUNNEL_YAML, write_export

from ..conftest import MAVEN
from ..processes import poll, started_funnel, wait_until_open

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

SIGNALS = [
    (signal.SIGINT, 130, "error: interrupted\n"),
    (signal.SIGTERM, 143, "error: terminated\n"),
]


@pytest.fixture(scope="module")
def large_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 2 s of work: long enough to interrupt it midway."""
    folder = tmp_path_factory.mktemp("large")
    path = folder / "deals.csv"
    write_export(300_000, path)
    path.with_suffix(".yaml").write_text(FUNNEL_YAML, encoding="utf-8")
    return path


@pytest.mark.parametrize(("sent", "code", "line"), SIGNALS)
def test_a_signal_mid_report_leaves_no_file(
    large_export: Path, tmp_path: Path, sent: signal.Signals, code: int, line: str
) -> None:
    output = tmp_path / "report.json"
    args = [
        "report",
        str(large_export),
        "--funnel",
        str(large_export.with_suffix(".yaml")),
        "--output",
        str(output),
    ]
    # The Python lanes: the compiled one reads these rows in about 0.2 s, before the
    # signal. It returns to Python every 8,192 rows, where the handlers run.
    environment = {**os.environ, "FUNNEL_COMPILED": "0"}
    with started_funnel(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment
    ) as process:
        wait_until_open(process.pid, large_export)  # the report is under way
        if process.poll() is not None:
            pytest.skip("the machine finished the report before the signal")
        process.send_signal(sent)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == code
    assert stderr.decode() == line
    assert list(tmp_path.iterdir()) == []


def _handlers_set(pid: int) -> bool:
    """Whether funnel's entry point has set its SIGTERM handler (SigCgt in /proc), which
    it does before it imports anything slow: the first moment its own code runs."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1)


@pytest.mark.parametrize(("sent", "code", "line"), SIGNALS)
def test_a_signal_in_the_first_50_ms_is_one_line_and_the_code(
    sent: signal.Signals, code: int, line: str
) -> None:
    """While Python starts, then typer and the command are imported: 40 trials, the signal
    0 to 47.5 ms after the process starts, or after funnel's entry point set its handlers
    (on a loaded machine Python alone may take 50 ms to start)."""
    outcomes = []
    for trial in range(40):
        with started_funnel(
            ["report", *MAVEN, "--format", "json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        ) as process:
            if trial % 2:
                poll(lambda: _handlers_set(process.pid), "funnel's signal handlers")
            time.sleep(trial // 2 * 0.0025)
            process.send_signal(sent)
            _, stderr = process.communicate(timeout=60)
        outcomes.append((trial, process.returncode, stderr.decode()))
    assert [outcome for outcome in outcomes if not _as_documented(outcome, sent, code, line)] == []


def _as_documented(
    outcome: tuple[int, int, str], sent: signal.Signals, code: int, line: str
) -> bool:
    """The code and the line; or a signal that came before funnel's code could act on it.

    Before Python sets its own SIGINT handler, a signal kills the process (a shell shows
    128 + the signal, the same code) and prints nothing. Between that and funnel's entry
    point, Python reports a Ctrl-C itself; its traceback has no frame from typer nor from
    funnel, but the import of the entry point itself (which imports only signal and sys):
    the module bodies of ``funnelcli/__init__.py``, ``__main__.py`` and ``entry.py``.
    """
    _, returncode, stderr = outcome
    if (returncode, stderr) in ((code, line), (-sent, "")):
        return True
    frames = re.findall(r'File "([^"]+)", line \d+, in (\S+)', stderr)
    ours = [
        (path, function)
        for path, function in frames
        if re.search(r"[/\\](typer|funnelcli)[/\\]", path)
        and not (
            function == "<module>"
            and re.search(r"[/\\]funnelcli[/\\](__init__|__main__|entry)\.py$", path)
        )
    ]
    return (
        sent == signal.SIGINT
        and "KeyboardInterrupt" in stderr
        and not ours
        and not any(re.search(r"[/\\]typer[/\\]", path) for path, _ in frames)
    )


@pytest.mark.parametrize(("sent", "code", "line"), SIGNALS)
def test_a_signal_while_typer_is_imported_is_one_line_and_the_code(
    sent: signal.Signals, code: int, line: str
) -> None:
    """The same at a known moment: Python's -X importtime reports each module loaded, so
    a line naming a module of typer's says typer is being imported (what took the 50 ms)."""
    with started_funnel(
        ["report", *MAVEN, "--format", "json"],
        python=("-X", "importtime"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stderr is not None
        seen = b""
        while not re.search(rb"\|\s+typer\.", seen):  # a module inside typer: loading it
            seen = process.stderr.readline()
            assert seen, "typer was never imported"
        process.send_signal(sent)
        _, rest = process.communicate(timeout=60)
    lines = [text for text in rest.decode().splitlines(True) if not text.startswith("import time:")]
    assert (process.returncode, "".join(lines)) == (code, line)


def test_a_write_error_leaves_the_previous_file(tmp_path: Path) -> None:
    """A full disk, as a real process sees it: writing past a file-size limit fails (EFBIG)."""
    import resource

    output = tmp_path / "report.json"
    output.write_text("last good report")

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    with started_funnel(
        ["report", *MAVEN, "--output", str(output)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=limited,
    ) as process:
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 74  # the output could not be written: not a usage error
    assert stderr.decode() == (
        f"error: --output {output}: cannot be written (File too large); "
        "the previous file is untouched\n"
    )
    assert output.read_text() == "last good report"
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"]


def test_the_entry_point_imports_only_signal_and_sys_and_knows_the_codes() -> None:
    """The entry point is imported before its handlers are set: nothing slow, and of funnel
    only signals.py, which imports nothing; its copies of the exit codes (it cannot import
    errors.py first) are the same."""
    from funnelcli import entry, errors, signals

    source = Path(entry.__file__).read_text(encoding="utf-8")
    top_level = re.findall(r"^(?:import|from) (\S+)", source, flags=re.MULTILINE)
    assert top_level == ["signal", "sys", "funnelcli.signals"]
    signals_source = Path(signals.__file__).read_text(encoding="utf-8")
    assert re.findall(r"^\s*(?:import|from) ", signals_source, flags=re.MULTILINE) == []
    assert (entry._EXIT_OS, entry._EXIT_INTERRUPTED, entry._EXIT_TERMINATED) == (
        errors.EXIT_OS,
        errors.EXIT_INTERRUPTED,
        errors.EXIT_TERMINATED,
    )


SWALLOWED = """
import sys, time
import funnelcli.cli
from funnelcli import entry, signals


class Collected:
    def __del__(self):
        raise {exception}  # as a signal's handler raising inside a finaliser: Python swallows it


def run():
    Collected()  # collected at once: its exception goes to sys.unraisablehook
    time.sleep({sleep})
    print("finished")


funnelcli.cli.run = run
entry.main()
"""


@pytest.mark.parametrize(
    ("exception", "code", "line"),
    [
        ("KeyboardInterrupt", 130, "error: interrupted\n"),
        ("signals.Terminated", 143, "error: terminated\n"),
    ],
)
@pytest.mark.parametrize("sleep", [30, 0])
def test_a_signal_python_swallows_is_raised_again_not_lost(
    exception: str, code: int, line: str, sleep: int
) -> None:
    """A Ctrl-C or SIGTERM whose exception lands in a finaliser would be printed as
    "Exception ignored" and the run would end 0: it is raised again where the program is
    (sleep 30: long before the run ends), or, if the run ends first (sleep 0), the run
    still stops with the signal's line and code."""
    script = SWALLOWED.format(exception=exception, sleep=sleep)
    with started_funnel(
        [], python=("-c", script), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        stdout, stderr = process.communicate(timeout=25)
    # Stopped mid-sleep, nothing was printed. With no sleep the signal is raised again 5 ms
    # after it was swallowed: the run may print first or not (a loaded machine is slow to
    # reach the print); either way it stops with the signal's line and code.
    printed = (b"",) if sleep else (b"", b"finished\n")
    assert (process.returncode, stderr.decode()) == (code, line)
    assert stdout in printed
