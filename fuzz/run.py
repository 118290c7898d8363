"""Fuzz each reader for a set time with hypothesis; save every crash under fuzz/crashes/.

    python -m fuzz.run --seconds 300            # every target, 300 s each
    python -m fuzz.run --seconds 60 csv yaml    # some targets
    python -m fuzz.run --atheris --seconds 60   # coverage-guided, when atheris is installed

Each target is run over ``st.binary()`` and over a structured strategy (fuzz/strategies.py)
in turn, half the time each. A crash is shrunk, printed with its traceback, and saved as
``fuzz/crashes/<target>-<sha1>.bin`` (the input) and ``.txt`` (the traceback); the run
goes on to look for others, and exits 1 if it found any. To keep a crash as a regression
test, copy the .bin to tests/data/fuzz_crashes/ (tests/system/test_fuzz_targets.py replays it).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fuzz.strategies import csv_exports, funnel_files, sheet_xml
from fuzz.targets import TARGETS

CRASHES = Path(__file__).parent / "crashes"
BATCH = 200
"""Examples per hypothesis run; the runs repeat, with fresh seeds, until the time is up."""

STRUCTURED: dict[str, st.SearchStrategy[bytes]] = {
    "csv": csv_exports(),
    "xlsx_sheet": sheet_xml(),
    "yaml": funnel_files(),
}


@dataclass
class Outcome:
    examples: int = 0
    crashes: dict[str, Path] = field(default_factory=dict)  # signature -> saved input


def _signature(error: BaseException) -> str:
    """The exception type and the innermost frame: one crash, however many inputs hit it."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    return f"{type(error).__name__} at {where}"


def _save(name: str, data: bytes, error: BaseException) -> Path:
    CRASHES.mkdir(exist_ok=True)
    digest = hashlib.sha1(data).hexdigest()[:12]
    path = CRASHES / f"{name}-{digest}.bin"
    path.write_bytes(data)
    text = "".join(traceback.format_exception(error))
    path.with_suffix(".txt").write_text(f"target: {name}\ninput: {data!r}\n\n{text}")
    return path


def _fuzz_for(
    name: str, strategy: st.SearchStrategy[bytes], seconds: float, outcome: Outcome
) -> None:
    target = TARGETS[name]
    deadline = time.monotonic() + seconds
    last: list[bytes] = []

    @settings(
        max_examples=BATCH,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(strategy)
    def run(data: bytes) -> None:
        if time.monotonic() >= deadline:
            return  # the rest of this batch is skipped, not run
        outcome.examples += 1
        last[:] = [data]
        target(data)

    while time.monotonic() < deadline:
        try:
            run()
        except Exception as error:
            signature = _signature(error)
            data = last[0]  # hypothesis replays the shrunk input last
            if signature not in outcome.crashes:
                path = _save(name, data, error)
                outcome.crashes[signature] = path
                print(f"  CRASH in {name}: {signature}\n  input {data[:200]!r}\n  saved {path}")
                traceback.print_exception(error, limit=-8)


def fuzz(name: str, seconds: float) -> Outcome:
    outcome = Outcome()
    structured = STRUCTURED.get(name)
    if structured is None:
        _fuzz_for(name, st.binary(), seconds, outcome)
    else:
        _fuzz_for(name, st.binary(), seconds / 2, outcome)
        _fuzz_for(name, structured, seconds / 2, outcome)
    return outcome


def _atheris(names: list[str], seconds: int) -> int:
    """Each target in its own process under libFuzzer (atheris.Fuzz never returns)."""
    CRASHES.mkdir(exist_ok=True)
    failed = 0
    for name in names:
        print(f"{name}: atheris for {seconds} s", flush=True)
        failed |= subprocess.call(
            [
                sys.executable,
                "-m",
                "fuzz.atheris_main",
                name,
                f"-max_total_time={seconds}",
                f"-artifact_prefix={CRASHES}/{name}-",
                "-print_final_stats=1",
            ]
        )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", choices=[[], *TARGETS], help="default: all")
    parser.add_argument("--seconds", type=int, default=300, help="per target (default 300)")
    parser.add_argument("--atheris", action="store_true", help="use atheris, not hypothesis")
    args = parser.parse_args(argv)
    names: list[str] = args.targets or list(TARGETS)
    if args.atheris:
        return _atheris(names, args.seconds)
    found = 0
    for name in names:
        print(f"{name}: fuzzing for {args.seconds} s", flush=True)
        started = time.monotonic()
        outcome = fuzz(name, args.seconds)
        elapsed = time.monotonic() - started
        found += len(outcome.crashes)
        print(
            f"{name}: {outcome.examples:,} examples in {elapsed:.0f} s, "
            f"{len(outcome.crashes)} crash(es)",
            flush=True,
        )
    print(f"total: {found} crash(es)" + (f", saved under {CRASHES}" if found else ""))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
