"""Ctrl-C and SIGTERM during a long report: one line, the documented code, no output file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from benchmarks.generate import FUNNEL_YAML, write_export


@pytest.fixture(scope="module")
def large_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 2 s of work: long enough to interrupt it midway."""
    folder = tmp_path_factory.mktemp("large")
    path = folder / "deals.csv"
    write_export(300_000, path)
    path.with_suffix(".yaml").write_text(FUNNEL_YAML, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("sent", "code", "line"),
    [(signal.SIGINT, 130, "error: interrupted\n"), (signal.SIGTERM, 143, "error: terminated\n")],
)
def test_a_signal_mid_report_leaves_no_file(
    large_export: Path, tmp_path: Path, sent: signal.Signals, code: int, line: str
) -> None:
    output = tmp_path / "report.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "funnelcli",
            "report",
            str(large_export),
            "--funnel",
            str(large_export.with_suffix(".yaml")),
            "--output",
            str(output),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # The Python lanes: the compiled one reads these rows in about 0.2 s, before the
        # signal. It returns to Python every 8,192 rows, where the handlers run.
        env={**os.environ, "FUNNEL_COMPILED": "0"},
    )
    time.sleep(0.7)
    if process.poll() is not None:
        pytest.skip("the machine finished the report before the signal")
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == code
    assert stderr == line
    assert list(tmp_path.iterdir()) == []


def test_a_write_error_leaves_the_previous_file(tmp_path: Path) -> None:
    """A full disk, as a real process sees it: writing past a file-size limit fails (EFBIG)."""
    import resource

    output = tmp_path / "report.json"
    output.write_text("last good report")

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "funnelcli",
            "report",
            "examples/maven_pipeline.csv",
            "--funnel",
            "sample_funnels/maven_crm.yaml",
            "--as-of",
            "2017-12-31",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        preexec_fn=limited,
        cwd=Path(__file__).parent.parent,
        check=False,
        timeout=60,
    )
    assert done.returncode == 74  # the output could not be written: not a usage error
    assert done.stderr == (
        f"error: --output {output}: cannot be written (File too large); "
        "the previous file is untouched\n"
    )
    assert output.read_text() == "last good report"
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"]
