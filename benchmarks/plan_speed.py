"""Start-up and planning speed of `funnel plan`, against baselines measured in the same run.

Run: `make bench-plan` (or `.venv/bin/python -m benchmarks.plan_speed`). Prints the median
wall time of several runs of each command and its ratio to `python -c "import typer, rich"`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from benchmarks.run import _funnel, compile_bytecode

RUNS = 31  # odd, for a true median; with 15 the ratio moved by a few hundredths run to run
FUNNEL = _funnel()  # the installed `funnel` script, as a user runs it

COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import typer, rich (baseline)": [sys.executable, "-c", "import typer, rich"],
    "funnel --help": [*FUNNEL, "--help"],
    "funnel plan --target 1M --format json": [
        *FUNNEL,
        "plan",
        "--target",
        "1M",
        "--format",
        "json",
    ],
    "funnel plan --target 1M (table)": [
        *FUNNEL,
        "plan",
        "--target",
        "1M",
    ],
    "plan, 100,000 won deals, --confidence 0.99": [
        *FUNNEL,
        "plan",
        "--target",
        "2400M",
        "--deal-value",
        "24k",
        "--confidence",
        "0.99",
        "--format",
        "json",
    ],
}


def median_seconds() -> dict[str, float]:
    """Each command's median wall time, the commands taking turns run by run."""
    timings: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(RUNS):
        for name, command in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            timings[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in timings.items()}


def main() -> None:
    compile_bytecode()
    results = median_seconds()
    baseline = results["import typer, rich (baseline)"]
    print(f"{'command':<46} {'median ms':>10} {'x baseline':>11}")
    for name, seconds in results.items():
        print(f"{name:<46} {seconds * 1000:>10.0f} {seconds / baseline:>11.2f}")


if __name__ == "__main__":
    main()
