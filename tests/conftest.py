"""Shared test set-up: a pinned terminal, and paths to the test inputs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture(autouse=True)
def _pinned_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Rich reads the width and colour wishes from the environment: pin them."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "50")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "dumb")
    yield
