"""The README's examples marked ``<!-- readme-test -->`` are run, and must print what they show."""

from __future__ import annotations

import re
import shlex

import pytest
from typer.testing import CliRunner

from funnelcli.cli import app

from .conftest import ROOT

_BLOCK = re.compile(r"<!-- readme-test -->\n```console\n(.*?)```", re.DOTALL)


def _examples() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    examples = []
    for block in _BLOCK.findall(text):
        command, _, expected = block.partition("\n")
        assert command.startswith("$ funnel "), command
        examples.append((command.removeprefix("$ funnel "), expected))
    return examples


def test_the_readme_has_examples() -> None:
    assert len(_examples()) >= 2


@pytest.mark.parametrize(("command", "expected"), _examples())
def test_readme_example(command: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, shlex.split(command), prog_name="funnel")
    assert result.exit_code == 0, result.stderr
    printed = [line.rstrip() for line in result.stdout.splitlines()]
    assert printed == expected.splitlines()
