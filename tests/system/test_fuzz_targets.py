"""The fuzz targets (fuzz/targets.py) on a short budget, and every saved crash replayed.

``make fuzz`` runs the targets for minutes; here each gets the same 50 examples every run
(derandomized: ``make test`` must not fail by chance), so that a regression in what the
readers refuse shows in ``make test``. A crash the fuzzer found is kept in
tests/data/fuzz_crashes/ as ``<target>-<hash>.bin`` (its README says where each came from):
it must not crash, unless :data:`KNOWN_CRASHES` names it as an open bug (then it must still
crash: strict xfail). Each is replayed in a process of its own, under a memory limit: a
crash may be an allocation of gigabytes.
"""

from __future__ import annotations

import resource
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fuzz.strategies import csv_exports, funnel_files, sheet_xml
from fuzz.targets import TARGETS, fuzz_csv, fuzz_xlsx, fuzz_xlsx_sheet, fuzz_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..conftest import DATA, ROOT
from ..processes import run

CRASHES = DATA / "fuzz_crashes"
MEMORY_LIMIT = 2 * 1024 * 1024 * 1024  # bytes of address space for one replay

KNOWN_CRASHES: dict[str, str] = {}
"""Saved input -> why it still crashes ("BUG: ..."); remove the entry once it is fixed."""

_SHORT = settings(
    max_examples=50,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_CASES: list[tuple[Callable[[bytes], None], st.SearchStrategy[bytes]]] = [
    (fuzz_csv, st.binary()),
    (fuzz_csv, csv_exports()),
    (fuzz_xlsx, st.binary()),
    (fuzz_xlsx_sheet, st.binary()),
    (fuzz_xlsx_sheet, sheet_xml()),
    (fuzz_yaml, st.binary()),
    (fuzz_yaml, funnel_files()),
]


@pytest.mark.parametrize(
    ("target", "strategy"),
    _CASES,
    ids=[f"{target.__name__}-{i}" for i, (target, _) in enumerate(_CASES)],
)
def test_target_raises_only_project_errors(
    target: Callable[[bytes], None], strategy: st.SearchStrategy[bytes]
) -> None:
    @_SHORT
    @given(strategy)
    def run(data: bytes) -> None:
        target(data)

    run()


def _saved_crashes() -> list[object]:
    params: list[object] = []
    for path in sorted(CRASHES.glob("*.bin")):
        reason = KNOWN_CRASHES.get(path.name)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(path, marks=marks, id=path.stem))
    return params


def test_every_known_crash_is_saved() -> None:
    saved = {path.name for path in CRASHES.glob("*.bin")}
    assert set(KNOWN_CRASHES) <= saved
    assert all(reason.startswith("BUG: ") for reason in KNOWN_CRASHES.values())


def test_every_target_has_a_saved_input() -> None:
    saved = {path.stem.rsplit("-", 1)[0] for path in CRASHES.glob("*.bin")}
    assert saved == set(TARGETS)


_REPLAY = """\
import sys
from pathlib import Path
from fuzz.targets import TARGETS
TARGETS[sys.argv[1]](Path(sys.argv[2]).read_bytes())
print("no crash")
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.parametrize("path", _saved_crashes())
def test_saved_crash_input_does_not_crash(path: Path) -> None:
    target_name = path.stem.rsplit("-", 1)[0]
    command = [sys.executable, "-c", _REPLAY, target_name, str(path)]
    done = run(command, cwd=ROOT, preexec_fn=_limit_memory)
    assert (done.returncode, done.stdout) == (0, "no crash\n"), done.stderr[-3000:]
