"""Wall time and peak memory of `funnel report` on generated exports of 10k and 100k deals.

Run: `make bench-report`. The exports come from benchmarks/generate.py (deterministic),
written to benchmarks/out/ on first use. Each figure is the median of 3 runs; the ratio
is to `python -c "import typer, rich"`, measured in the same run.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.generate import write_export

OUT = Path(__file__).parent / "out"
RUNS = 3
SIZES = (10_000, 100_000)


def _export(count: int) -> Path:
    path = OUT / f"deals_{count // 1000}k.csv"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        write_export(count, path)
        from benchmarks.generate import FUNNEL_YAML

        path.with_suffix(".yaml").write_text(FUNNEL_YAML, encoding="utf-8")
    return path


def _run(command: list[str]) -> tuple[float, float]:
    """Median seconds, and the peak resident memory of the command's processes in MB."""
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        timings.append(time.perf_counter() - start)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return statistics.median(timings), peak_kb / 1024


def main() -> None:
    baseline, _ = _run([sys.executable, "-c", "import typer, rich"])
    print(f"{'command':<44} {'median s':>9} {'x baseline':>11} {'peak MB':>8}")
    print(f"{'import typer, rich (baseline)':<44} {baseline:>9.2f} {1:>11.2f} {'':>8}")
    for count in SIZES:
        path = _export(count)
        command = [
            sys.executable,
            "-m",
            "funnelcli",
            "report",
            str(path),
            "--funnel",
            str(path.with_suffix(".yaml")),
            "--as-of",
            "2025-12-01",
            "--format",
            "json",
        ]
        seconds, peak = _run(command)
        label = f"report {count:,} deals (CSV, {path.stat().st_size / 1e6:.0f} MB) --format json"
        print(f"{label:<44} {seconds:>9.2f} {seconds / baseline:>11.2f} {peak:>8.0f}")


if __name__ == "__main__":
    main()
