"""render/output.py: format choice and atomic writes that never leave half a file."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from funnelcli.errors import OutputError, UsageError
from funnelcli.render import output
from funnelcli.render.output import atomic_write, choose_format

from ..conftest import ROOT
from ..processes import FUNNEL, TIMEOUT, run, started


@pytest.mark.parametrize(
    ("requested", "path", "expected"),
    [
        (None, None, "table"),
        ("json", "x.csv", "json"),
        (None, "x.json", "json"),
        (None, "x.CSV", "csv"),
        (None, "x.md", "markdown"),
        (None, "x.xlsx", "xlsx"),
        (None, "x.html", "html"),
        (None, "x.txt", "table"),
    ],
)
def test_choose_format(requested: str | None, path: str | None, expected: str) -> None:
    assert choose_format(requested, path) == expected


def test_unknown_extension_asks_for_format() -> None:
    with pytest.raises(UsageError) as error:
        choose_format(None, "x.pdf")
    assert str(error.value) == (
        "--output x.pdf: cannot tell the format from '.pdf'; "
        "pass --format (table, json, csv, markdown, xlsx, html)"
    )


def test_write_replaces_the_file_and_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write(str(target), "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"]


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.json"
    target.write_text("last good report")

    def disk_full(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.os, "fsync", disk_full)
    with pytest.raises(OutputError) as error:
        atomic_write(str(target), "half a report")
    assert str(error.value) == (
        f"--output {target}: cannot be written (No space left on device); "
        "the previous file is untouched"
    )
    assert error.value.exit_code == 74  # the output could not be written
    assert target.read_text() == "last good report"
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"]


def test_an_interrupted_write_leaves_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.json"
    target.write_text("last good report")

    def interrupted(source: str, destination: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(output.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(str(target), "new report")
    assert target.read_text() == "last good report"
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"]


def test_refuses_inputs_folders_and_missing_folders(tmp_path: Path) -> None:
    source = tmp_path / "deals.csv"
    source.write_text("x")
    with pytest.raises(OutputError, match="is an input file"):
        atomic_write(str(source), "y", protected=(str(source),))
    assert source.read_text() == "x"
    with pytest.raises(OutputError, match="is a folder"):
        atomic_write(str(tmp_path), "y")
    missing = tmp_path / "no" / "such" / "out.json"
    with pytest.raises(OutputError) as error:
        atomic_write(str(missing), "y")
    assert str(error.value) == (
        f"--output {missing}: the folder {missing.parent} does not exist; create it first"
    )
    assert error.value.exit_code == 2  # a refusal: the path is wrong, not the disk


def test_unwritable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests may run as root, who can write anywhere: refuse the temporary file instead.
    def denied(**kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    target = tmp_path / "out.json"
    with pytest.raises(OutputError) as error:
        atomic_write(str(target), "y")
    assert str(error.value) == (
        f"--output {target}: permission denied; choose a folder you can write to"
    )
    assert not target.exists()


_DEALS = "id,stage,amount,created\nA,Won,100,2017-01-02\nB,Engaging,200,2017-01-03\n"
_FUNNEL = (
    "name: Test\ncurrency: USD\nstages:\n"
    "  - name: Engaging\n    conversion: 50%\n    days: 30\n  - name: Won\n"
)


def _report_from_stdin(
    stdin_file: Path, arguments: list[str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """``funnel report - ...`` with standard input read from ``stdin_file`` (a regular file)."""
    with (
        stdin_file.open("rb") as stdin,
        started(
            [*FUNNEL, "report", "-", *arguments],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            text=True,
        ) as process,
    ):
        stdout, stderr = process.communicate(timeout=TIMEOUT)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_output_to_dev_stdin_that_is_the_export_is_refused(tmp_path: Path) -> None:
    export = tmp_path / "in3.csv"
    export.write_text(_DEALS)
    (tmp_path / "f.yaml").write_text(_FUNNEL)
    done = _report_from_stdin(
        export, ["-F", "f.yaml", "-o", "/dev/stdin", "-f", "csv", "--as-of", "2017-02-01"], tmp_path
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "error: --output /dev/stdin: is an input file; write the output somewhere else\n"
    )
    assert export.read_text() == _DEALS


def test_output_named_as_the_file_on_standard_input_is_refused(tmp_path: Path) -> None:
    cases = ROOT / "tests" / "data" / "history_cli_cases"
    export = tmp_path / "zd.csv"
    export.write_bytes((cases / "zoho_deals.csv").read_bytes())
    arguments = [
        "-F",
        str(cases / "zoho_funnel.yaml"),
        "--history",
        str(cases / "zoho_history.csv"),
    ]
    done = _report_from_stdin(export, [*arguments, "-o", "zd.csv", "-f", "csv"], tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "error: --output zd.csv: is an input file; write the output somewhere else\n"
    )
    assert export.read_bytes() == (cases / "zoho_deals.csv").read_bytes()


def test_a_hard_link_to_the_export_is_refused_as_output(tmp_path: Path) -> None:
    export = tmp_path / "deals.csv"
    export.write_text(_DEALS)
    (tmp_path / "other.csv").hardlink_to(export)
    with pytest.raises(OutputError, match="is an input file"):
        atomic_write(str(tmp_path / "other.csv"), "y", protected=(str(export),))
    assert export.read_text() == _DEALS


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_output_in_proc_names_the_real_reason(tmp_path: Path) -> None:
    """/proc exists but takes no new file (ENOENT): not "the folder does not exist"."""
    (tmp_path / "deals.csv").write_text(_DEALS)
    (tmp_path / "f.yaml").write_text(_FUNNEL)
    report = [*FUNNEL, "report", "deals.csv", "-F", "f.yaml", "--as-of", "2017-02-01"]
    done = run([*report, "-o", "/proc/x.json"], cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "error: --output /proc/x.json: the folder /proc is not writable (the system makes no "
        "new files there); choose a folder you can write to\n",
    )
    done = run([*report, "-f", "json", "--save-snapshot", "/proc/x.db"], cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        "error: /proc/x.db: the folder /proc is not writable (the system makes no new files "
        "there); choose a file and folder you can write to\n"
    )


def test_a_snapshot_file_that_is_the_export_on_standard_input_is_refused(tmp_path: Path) -> None:
    export = tmp_path / "deals.csv"
    export.write_text(_DEALS)
    (tmp_path / "f.yaml").write_text(_FUNNEL)
    arguments = ["-F", "f.yaml", "-f", "csv", "--as-of", "2017-02-01"]
    done = _report_from_stdin(export, [*arguments, "--save-snapshot", "deals.csv"], tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "error: --save-snapshot deals.csv: is an input file; write the output somewhere else\n"
    )
    assert export.read_text() == _DEALS
