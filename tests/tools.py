"""Programs some tests drive (Chromium, LibreOffice): found on PATH, or the test skips.

A test that needs a program calls :func:`require_program`. Without the program the test is
skipped with the reason in pytest's summary (``-rs``), unless ``FUNNEL_REQUIRE_TOOLS=1``
(CI installs the programs and sets it): then a missing program fails the test, so a
broken install cannot pass as a skip.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_TOOLS = "FUNNEL_REQUIRE_TOOLS"


def require_program(name: str) -> str:
    """The path of the program ``name`` on PATH; skip the test (or fail it) without it."""
    path = shutil.which(name)
    if path is not None:
        return path
    missing = f"{name} is not on PATH"
    if os.environ.get(REQUIRE_TOOLS) == "1":
        pytest.fail(f"{missing}, and {REQUIRE_TOOLS}=1 requires it", pytrace=False)
    pytest.skip(f"{missing}; install it to run this test")
