"""The README's examples marked ``<!-- readme-test -->`` are run, and must print what they show.

A block may hold several commands, each ``$ funnel ...`` line followed by what it prints;
such a block runs in a scratch folder (where the files it writes, like a snapshot
history, go) that links to the repository's inputs.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from funnelcli.cli import app

from ..conftest import ROOT

_BLOCK = re.compile(r"<!-- readme-test -->\n```console\n(.*?)```", re.DOTALL)
_PROMPT = "$ funnel "
_INPUTS = ("examples", "sample_funnels", "tests")  # what a scratch folder links to


def _steps(block: str) -> list[tuple[str, str]]:
    """(command, what it prints) for each ``$ funnel`` line of a block."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith(_PROMPT):
            steps.append((line.removeprefix(_PROMPT), []))
        else:
            assert steps, f"a readme-test block starts with '{_PROMPT}': {line}"
            steps[-1][1].append(line)
    return [(command, "".join(f"{line}\n" for line in printed)) for command, printed in steps]


def _examples() -> list[list[tuple[str, str]]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [_steps(block) for block in _BLOCK.findall(text)]


def test_the_readme_has_examples() -> None:
    assert len(_examples()) >= 2


@pytest.mark.parametrize("steps", _examples(), ids=lambda steps: steps[-1][0])
def test_readme_example(
    steps: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if len(steps) == 1:
        monkeypatch.chdir(ROOT)
    else:
        for name in _INPUTS:
            (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
        monkeypatch.chdir(tmp_path)
    for command, expected in steps:
        result = CliRunner().invoke(app, shlex.split(command), prog_name="funnel")
        assert result.exit_code == 0, (command, result.stderr)
        printed = [line.rstrip() for line in result.stdout.splitlines()]
        assert printed == expected.splitlines(), command
