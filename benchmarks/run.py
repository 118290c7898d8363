"""`make bench`: `funnel report` against a DuckDB query and a pandas script giving the same figures.

For exports of 10k, 100k and 1M deals (benchmarks/generate.py, written once to
benchmarks/out/ and reused), three whole processes compute the same figures:
`funnel report --by "Deal owner" --format json`, `python -m benchmarks.baselines duckdb`
and `python -m benchmarks.baselines pandas`. Each is timed as the median of 3 runs, with
its peak resident memory; their figures must agree exactly (the run exits 1 otherwise).
Then start-up: `funnel plan --target 1M --format json` and `funnel --help` against
`python -c "import typer, rich"` (the goal is at most 1.3 times it).

Every run goes through a fresh wrapper process that times the command and reads
RUSAGE_CHILDREN: so the peak is that command's own, and, as ru_maxrss is, the largest
single process (the tool's forked reader counts alone, not added to its parent).
Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import json
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.baselines import Figures, from_tool_report
from benchmarks.generate import FUNNEL_YAML, write_export

ROOT = Path(__file__).parent.parent
OUT = Path(__file__).parent / "out"
SIZES = (10_000, 100_000, 1_000_000)
RUNS = 3
STARTUP_RUNS = 21  # ~0.06 s each: more runs cost little and steady the ratio
STARTUP_GOAL = 1.3
AS_OF = "2025-12-01"
ENGINES = ("tool", "duckdb", "pandas")
SHOWN_DIFFERENCES = 20

# Runs argv[2:] with its stdout into the file argv[1]; prints its exit code, wall seconds
# and peak resident memory in KB. Being a fresh process, its RUSAGE_CHILDREN is that one
# command's alone.
_MEASURE = """\
import resource, subprocess, sys, time
with open(sys.argv[1], "wb") as output:
    start = time.perf_counter()
    code = subprocess.run(sys.argv[2:], stdout=output).returncode
    seconds = time.perf_counter() - start
print(code, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


@dataclass(frozen=True)
class Measurement:
    seconds: float  # median wall time
    peak_mb: float  # the highest over the runs
    output: Path  # the last run's stdout


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _funnel() -> list[str]:
    """The installed `funnel` script beside this Python, else `python -m funnelcli`."""
    script = Path(sys.executable).parent / "funnel"
    return [str(script)] if script.exists() else [sys.executable, "-m", "funnelcli"]


def export(count: int) -> Path:
    """The generated export of `count` deals, written on first use; its funnel beside it."""
    path = OUT / f"deals_{count // 1000}k.csv"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        _progress(f"generating {count:,} deals into {path.relative_to(ROOT)} ...")
        partial = path.with_suffix(".csv.partial")  # an interrupted run leaves no short file
        write_export(count, partial)
        partial.replace(path)
    path.with_suffix(".yaml").write_text(FUNNEL_YAML, encoding="utf-8")
    return path


def measure(command: Sequence[str], output: Path, runs: int = RUNS) -> Measurement:
    timings: list[float] = []
    peaks: list[float] = []
    for _ in range(runs):
        wrapper = [sys.executable, "-c", _MEASURE, str(output), *command]
        done = subprocess.run(wrapper, cwd=ROOT, capture_output=True, text=True, check=True)
        code, seconds, peak_kb = done.stdout.split()
        if int(code) != 0:
            raise SystemExit(f"exit code {code}: {shlex.join(command)}\n{done.stderr}")
        timings.append(float(seconds))
        peaks.append(int(peak_kb) / 1024)
    return Measurement(statistics.median(timings), max(peaks), output)


def report_commands(path: Path) -> dict[str, list[str]]:
    baseline = [sys.executable, "-m", "benchmarks.baselines"]
    return {
        "tool": [
            *_funnel(),
            "report",
            str(path),
            "--funnel",
            str(path.with_suffix(".yaml")),
            "--as-of",
            AS_OF,
            "--by",
            "Deal owner",
            "--format",
            "json",
        ],
        "duckdb": [*baseline, "duckdb", str(path)],
        "pandas": [*baseline, "pandas", str(path)],
    }


def read_figures(engine: str, output: Path) -> Figures:
    text = output.read_text(encoding="utf-8")
    if engine == "tool":
        return from_tool_report(json.loads(text, parse_float=Decimal))
    figures: Figures = json.loads(text)
    return figures


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        items = [(f"{path}.{key}" if path else str(key), item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
    else:
        return {path: value}
    flat: dict[str, Any] = {}
    for key, item in items:
        flat.update(_flatten(item, key))
    return flat


def differences(results: Mapping[str, Figures]) -> list[str]:
    """One line per figure on which the engines differ; none when they all agree."""
    flat = {engine: _flatten(figures) for engine, figures in results.items()}
    keys = sorted(set().union(*flat.values()))
    lines = []
    for key in keys:
        values = {engine: figures.get(key, "(missing)") for engine, figures in flat.items()}
        if len({json.dumps(value, default=str) for value in values.values()}) > 1:
            shown = ", ".join(f"{engine} {value}" for engine, value in values.items())
            lines.append(f"{key}: {shown}")
    return lines


@dataclass(frozen=True)
class SizeResult:
    count: int
    megabytes: float
    measurements: dict[str, Measurement]
    differences: list[str]


def bench_size(count: int) -> SizeResult:
    path = export(count)
    measurements = {}
    for engine, command in report_commands(path).items():
        _progress(f"{count:>9,} deals: {engine} x {RUNS} ...")
        output = OUT / f"{path.stem}.{engine}.json"
        measurements[engine] = measure(command, output)
    results = {engine: read_figures(engine, m.output) for engine, m in measurements.items()}
    return SizeResult(count, path.stat().st_size / 1e6, measurements, differences(results))


def compile_bytecode() -> None:
    """Write the package's bytecode first, as any install does.

    pip compiles a package when it installs it, and a first run writes ``__pycache__``.
    Machines of this project's kind set PYTHONDONTWRITEBYTECODE=1, under which an editable
    install would recompile every module on every run: about 12 ms that no user pays, and
    that typer and rich (compiled by pip) do not pay in the baseline either.
    """
    import compileall

    import funnelcli

    compileall.compile_dir(Path(funnelcli.__file__).parent, quiet=1)


def bench_startup() -> dict[str, Measurement]:
    """Start-up, the commands taking turns run by run, so that a slow spell hits them alike."""
    compile_bytecode()
    commands = {
        'python -c "import typer, rich" (baseline)': [sys.executable, "-c", "import typer, rich"],
        "funnel plan --target 1M --format json": [
            *_funnel(),
            *["plan", "--target", "1M", "--format", "json"],
        ],
        "funnel --help": [*_funnel(), "--help"],
    }
    _progress(f"start-up x {STARTUP_RUNS} ...")
    output = OUT / "startup.out"
    runs: dict[str, list[Measurement]] = {name: [] for name in commands}
    for _ in range(STARTUP_RUNS):
        for name, command in commands.items():
            runs[name].append(measure(command, output, 1))
    return {
        name: Measurement(
            statistics.median(run.seconds for run in measured),
            max(run.peak_mb for run in measured),
            output,
        )
        for name, measured in runs.items()
    }


def print_sizes(results: Sequence[SizeResult]) -> None:
    print(f"funnel report vs DuckDB vs pandas, same figures (median of {RUNS} runs; peak RSS)")
    header = (
        f"{'deals (CSV)':<18} {'tool/DuckDB':>11} {'tool/pandas':>11} {'tool s':>8} "
        f"{'DuckDB s':>9} {'pandas s':>9} {'tool MB':>8} {'DuckDB MB':>10} {'pandas MB':>10}  figures"
    )
    print(header)
    for result in results:
        tool, duck, panda = (result.measurements[engine] for engine in ENGINES)
        label = f"{result.count:,} ({result.megabytes:.0f} MB)"
        verdict = "AGREE" if not result.differences else f"{len(result.differences)} differ"
        print(
            f"{label:<18} {tool.seconds / duck.seconds:>10.2f}x {tool.seconds / panda.seconds:>10.2f}x "
            f"{tool.seconds:>8.2f} {duck.seconds:>9.2f} {panda.seconds:>9.2f} "
            f"{tool.peak_mb:>8.0f} {duck.peak_mb:>10.0f} {panda.peak_mb:>10.0f}  {verdict}"
        )


def print_startup(startup: Mapping[str, Measurement]) -> None:
    baseline = next(iter(startup.values())).seconds
    print()
    print(f"start-up (median of {STARTUP_RUNS} runs; goal <= {STARTUP_GOAL}x the baseline)")
    print(f"{'command':<44} {'x baseline':>10} {'ms':>6} {'peak MB':>8}")
    for name, measurement in startup.items():
        ratio = measurement.seconds / baseline
        goal = (
            ""
            if name.endswith("(baseline)")
            else ("  met" if ratio <= STARTUP_GOAL else "  not met")
        )
        print(
            f"{name:<44} {ratio:>9.2f}x {measurement.seconds * 1000:>6.0f} "
            f"{measurement.peak_mb:>8.0f}{goal}"
        )


def print_agreement(results: Sequence[SizeResult]) -> bool:
    print()
    disagreeing = [result for result in results if result.differences]
    if not disagreeing:
        sizes = ", ".join(f"{result.count:,}" for result in results)
        print(f"AGREE: tool, DuckDB and pandas give the same figures for {sizes} deals")
        return True
    for result in disagreeing:
        print(f"DISAGREE at {result.count:,} deals ({len(result.differences)} figures):")
        for line in result.differences[:SHOWN_DIFFERENCES]:
            print(f"  {line}")
        if len(result.differences) > SHOWN_DIFFERENCES:
            print(f"  ... and {len(result.differences) - SHOWN_DIFFERENCES} more")
    return False


def main() -> int:
    start = time.perf_counter()
    results = [bench_size(count) for count in SIZES]
    startup = bench_startup()
    print_sizes(results)
    print_startup(startup)
    agree = print_agreement(results)
    _progress(f"done in {time.perf_counter() - start:.0f} s")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
