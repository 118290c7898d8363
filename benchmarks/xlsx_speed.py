"""Wall time of reading a 100,000-deal XLSX export: raw calamine, funnel's openpyxl path, and
funnel's calamine path.

Run: `python -m benchmarks.xlsx_speed`. The workbook is the deals of benchmarks/generate.py
(HubSpot-like: integer ids, text, amounts as numbers, real date cells, empty cells where a
deal never reached a stage), written with openpyxl's write-only mode to benchmarks/out/ on
first use. Each figure is the median of 3 runs of a whole `python -c` process, so start-up
and imports are in; the ratio is to python-calamine's raw read of the same file, measured
in the same run. Each process reports its own peak resident memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.generate import write_export

OUT = Path(__file__).parent / "out"
RUNS = 3
COUNT = 100_000
TARGET = 1.3
"""The goal: funnel's XLSX read within this many times calamine's raw read."""

_PEAK = (
    "import resource, sys\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)
_RAW_LIST = (
    "from python_calamine import CalamineWorkbook\n"
    "rows = CalamineWorkbook.from_path(PATH).get_sheet_by_index(0).to_python()\n"
    "assert len(rows) == COUNT + 1\n"
)
_RAW_ITER = (
    "from python_calamine import CalamineWorkbook\n"
    "count = sum(1 for _ in CalamineWorkbook.from_path(PATH).get_sheet_by_index(0).iter_rows())\n"
    "assert count == COUNT + 1\n"
)
_FUNNEL = (
    "from funnelcli.readers.tabular import xlsx\n"
    "from funnelcli.readers.tabular.read import read_table\n"
    "xlsx.USE_CALAMINE = USE\n"
    "with read_table(PATH) as table:\n"
    "    count = sum(1 for _ in table.rows)\n"
    "assert count == COUNT, count\n"
)
_DATE_COLUMNS = frozenset({4, 5, 8, 9, 10, 11, 12})


def _workbook(count: int) -> Path:
    """The XLSX export of ``count`` deals, written on first use."""
    path = OUT / f"deals_{count // 1000}k.xlsx"
    if path.exists():
        return path
    OUT.mkdir(exist_ok=True)
    source = OUT / f"deals_{count // 1000}k.csv"
    if not source.exists():
        write_export(count, source)
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Deals")
    with source.open(newline="", encoding="utf-8") as stream:
        rows = csv.reader(stream)
        sheet.append(next(rows))
        for cells in rows:
            sheet.append([_typed(index, text) for index, text in enumerate(cells)])
    partial = path.with_suffix(".partial")
    workbook.save(partial)
    partial.replace(path)
    return path


def _typed(index: int, text: str) -> object:
    """A CSV field as an XLSX cell value: ids as integers, amounts as numbers, dates as dates."""
    if not text:
        return None
    if index == 0:
        return int(text)
    if index == 3:
        return float(text.replace(",", ""))
    if index in _DATE_COLUMNS:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M")
    return text


def _run(script: str) -> tuple[float, float]:
    """Median seconds of a whole `python -c script` process, and its peak memory in MB."""
    timings, peaks = [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", script + _PEAK], check=True, capture_output=True, text=True
        )
        timings.append(time.perf_counter() - start)
        peaks.append(int(done.stderr.split()[-1]) / 1024)
    return statistics.median(timings), max(peaks)


def main() -> None:
    path = _workbook(COUNT)
    values = f"PATH = {str(path)!r}\nCOUNT = {COUNT}\n"
    cases = [
        ("(a) python-calamine to_python(), raw", _RAW_LIST),
        ("(a') python-calamine iter_rows(), raw", _RAW_ITER),
        ("(b) funnel read_table, openpyxl path", "USE = False\n" + _FUNNEL),
        ("(c) funnel read_table, calamine path", "USE = True\n" + _FUNNEL),
    ]
    size = path.stat().st_size / 1e6
    print(f"{COUNT:,} deals x 13 columns, {path.name} ({size:.1f} MB); median of {RUNS} runs")
    print(f"{'read':<40} {'median s':>9} {'x (a)':>7} {'peak MB':>8}")
    baseline = 0.0
    for label, script in cases:
        seconds, peak = _run(values + script)
        baseline = baseline or seconds
        print(f"{label:<40} {seconds:>9.2f} {seconds / baseline:>7.2f} {peak:>8.0f}")
    print(f"goal: (c) within {TARGET}x of (a)")


if __name__ == "__main__":
    main()
