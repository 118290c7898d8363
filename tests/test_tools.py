"""tests/tools.py: a missing program skips a test, or fails it when CI requires the tools."""

from __future__ import annotations

from pathlib import Path

import pytest

from .tools import REQUIRE_TOOLS, require_program


def test_a_program_on_path_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    program = tmp_path / "chromium"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert require_program("chromium") == str(program)


def test_a_missing_program_skips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(REQUIRE_TOOLS, raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not on PATH"):
        require_program("chromium")


def test_a_missing_program_fails_when_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv(REQUIRE_TOOLS, "1")
    with pytest.raises(pytest.fail.Exception, match="FUNNEL_REQUIRE_TOOLS=1 requires it"):
        require_program("soffice")
