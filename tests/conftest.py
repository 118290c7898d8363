"""Shared test set-up: a pinned terminal, paths to the test inputs, Hypothesis without a deadline,
the rule for a missing compiled lane, and loose matching of third-party words in a line."""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: on a loaded machine one example can take a second, and a test must
# fail on a wrong answer, not on a slow one. Per-test settings inherit this.
settings.register_profile("funnel", deadline=None)
settings.load_profile("funnel")

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent

# Where a line quotes a library's own words (PyYAML's, click's, sqlite's) or the OS's reason
# (strerror): those change with versions and locales, so any text of one line is accepted.
THEIRS = re.compile(".+")


def line_matching(*parts: str | re.Pattern[str]) -> re.Pattern[str]:
    """One whole line: each text part exactly (the project's words), each pattern loosely."""
    return re.compile(
        "".join(part.pattern if isinstance(part, re.Pattern) else re.escape(part) for part in parts)
    )


MAVEN = [
    "examples/maven_pipeline.csv",
    "--funnel",
    "sample_funnels/maven_crm.yaml",
    "--as-of",
    "2017-12-31",
]
"""The shipped pipeline's report arguments, run from ROOT: the demo's export and funnel."""


REQUIRE_COMPILED = "FUNNEL_REQUIRE_COMPILED"
"""Set to 1 (``make test`` does, where there is a C compiler): a missing lane fails the tests."""


def require_compiled_lane() -> None:
    """Return if the compiled lane (``funnelcli._lane``) imports; else fail or skip the test.

    Without it, a test of the lane would compare Python with Python and pass on nothing.
    It fails when ``FUNNEL_REQUIRE_COMPILED=1``: the lane should have been built; it is
    skipped otherwise, with the reason in pytest's summary (``-rs``).
    """
    try:
        importlib.import_module("funnelcli._lane")
    except ImportError as error:
        missing = f"funnelcli._lane cannot be imported ({error}): the compiled lane was not built"
        if os.environ.get(REQUIRE_COMPILED) == "1":
            pytest.fail(f"{missing}, and {REQUIRE_COMPILED}=1 requires it", pytrace=False)
        pytest.skip(f"{missing} (no C compiler?); its tests would compare Python with Python")


@pytest.fixture
def compiled_lane() -> None:
    """For a test of the compiled lane: see :func:`require_compiled_lane`."""
    require_compiled_lane()


@pytest.fixture(autouse=True)
def _pinned_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Rich reads the width and colour wishes from the environment: pin them."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "50")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "dumb")
    yield
