"""The fuzz targets (fuzz/targets.py) on a short budget, and every saved crash replayed.

``make fuzz`` runs the targets for minutes; here each gets 50 examples, so that a
regression in what the readers refuse shows in ``make test``. A crash the fuzzer found is
kept in tests/data/fuzz_crashes/ as ``<target>-<hash>.bin``: it must not crash, unless
:data:`KNOWN_CRASHES` names it as an open bug (then it must still crash: strict xfail).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fuzz.strategies import csv_exports, funnel_files, sheet_xml
from fuzz.targets import TARGETS, fuzz_csv, fuzz_xlsx, fuzz_xlsx_sheet, fuzz_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CRASHES = Path(__file__).parent / "data" / "fuzz_crashes"

KNOWN_CRASHES: dict[str, str] = {}
"""Saved input -> why it still crashes ("BUG: ..."); remove the entry once it is fixed."""

_SHORT = settings(
    max_examples=50,
    deadline=None,
    database=None,
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


@pytest.mark.parametrize("path", _saved_crashes())
def test_saved_crash_input_does_not_crash(path: Path) -> None:
    target_name = path.stem.rsplit("-", 1)[0]
    TARGETS[target_name](path.read_bytes())
