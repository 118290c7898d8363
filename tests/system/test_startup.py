"""Start-up: a command imports only what it uses, through the real entry point in a process.

No timings here (machines are noisy; `make bench-plan` measures them): what is pinned is
the cause of a slow start, a module imported that the command does not use.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from funnelcli.cli import COMMANDS

from ..conftest import ROOT, THEIRS, line_matching
from ..processes import TIMEOUT, run, started

# Runs the console script's function, `funnelcli.entry:main`, with the given arguments, then
# writes the names of the imported modules to the file named by FUNNEL_TEST_MODULES.
_RUN_MAIN = """\
import os, sys
from funnelcli.entry import main
sys.argv = ["funnel", *sys.argv[1:]]
try:
    main()
finally:
    with open(os.environ["FUNNEL_TEST_MODULES"], "w", encoding="utf-8") as listing:
        listing.write("\\n".join(sorted(sys.modules)))
"""

NEVER_FOR_PLAN_JSON = (
    "rich",  # table output only
    "typer.rich_utils",  # help on a terminal only
    "markdown_it",
    "yaml",  # a funnel file only
    "openpyxl",
    "python_calamine",
    "sqlite3",
    "csv",  # --format csv only
    "unicodedata",  # label_key normalises non-ASCII labels only
    "tempfile",  # --output only
    "calendar",  # pacing only
    "funnelcli.readers",
    "funnelcli.report",
    "funnelcli.deal_records",
    "funnelcli.report_figures",
    "funnelcli.segments",
    "funnelcli.alerts",
    "funnelcli.snapshots",
    "funnelcli.trend",
    "funnelcli.history_plan",
    "funnelcli.pacing",  # --by or --period only
    "funnelcli.stats",  # --confidence only
    "funnelcli.render.console",
    "funnelcli.render.console_plan",
    "funnelcli.render.console_report",
    "funnelcli.render.neutralise",  # --format csv only
    "jinja2",  # --format html only
    "markupsafe",
    "funnelcli.render.html",
    "funnelcli.render.html_plan",
    "funnelcli.render.html_report",
    "funnelcli.render.svg",
    "funnelcli.render.xlsx",
    "funnelcli.render.xlsx_plan",
    "funnelcli.render.xlsx_report",
    "funnelcli.render.report_view",
    "funnelcli.render.json_report",
    "funnelcli.render.csv_md_report",
    "funnelcli.render.csv_md_plan",
    "funnelcli.commands.report",
    "funnelcli.commands.inspect",
    "funnelcli.commands.trend",
    "funnelcli.commands.validate",
    "funnelcli.commands.init",
)

NEVER_FOR_HELP = (
    "rich",
    "typer.rich_utils",
    "markdown_it",
    "funnelcli.commands",  # the list of commands comes from cli.COMMANDS
    "funnelcli.loading",
    "funnelcli.definition",
    "funnelcli.values",
    "decimal",
    "fractions",
    "dataclasses",
)


def _run(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    listing = cwd / "modules.txt"
    environment = {**os.environ, "FUNNEL_TEST_MODULES": str(listing)}
    done = run([sys.executable, "-c", _RUN_MAIN, *args], cwd=cwd, env=environment)
    return done, set(listing.read_text(encoding="utf-8").split())


def _imported(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The modules that are one of ``packages`` or inside one."""
    return sorted(
        name
        for name in modules
        if any(name == package or name.startswith(package + ".") for package in packages)
    )


def test_plan_json_imports_only_what_it_uses(tmp_path: Path) -> None:
    # tmp_path has no funnel.yaml: the built-in funnel, so no YAML either.
    done, modules = _run(["plan", "--target", "1M", "--format", "json"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["leads_needed"] > 0
    assert _imported(modules, NEVER_FOR_PLAN_JSON) == []
    assert "funnelcli.commands.plan" in modules  # the check above would pass if it never ran


@pytest.mark.parametrize("output_format", ["table", "json", "html"])
def test_only_the_html_page_imports_jinja2(tmp_path: Path, output_format: str) -> None:
    export = str(ROOT / "examples" / "hubspot_deals.csv")
    done, modules = _run(["report", export, "--format", output_format], tmp_path)
    assert done.returncode == 0, done.stderr
    assert ("jinja2" in modules) == (output_format == "html")
    assert ("funnelcli.render.html" in modules) == (output_format == "html")


def test_help_builds_no_command(tmp_path: Path) -> None:
    done, modules = _run(["--help"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert _imported(modules, NEVER_FOR_HELP) == []
    for name, summary in COMMANDS.items():
        assert f"  {name} " in done.stdout
        assert " ".join(summary.split()) in " ".join(done.stdout.split())  # whole, if wrapped


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_command_s_help_builds_that_command_only(name: str, tmp_path: Path) -> None:
    done, modules = _run([name, "--help"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"Example: funnel {name}" in done.stdout
    assert f"funnelcli.commands.{name}" in modules
    others = tuple(f"funnelcli.commands.{other}" for other in COMMANDS if other != name)
    unused = tuple(module for module in NEVER_FOR_HELP if module != "funnelcli.commands")
    assert _imported(modules, (*others, *unused)) == []


def test_an_unknown_command_builds_none(tmp_path: Path) -> None:
    done, modules = _run(["plna"], tmp_path)
    assert done.returncode == 2
    # click's words around the name: any; the project's frame of the line: exact.
    expected = line_matching("error: ", THEIRS, "'plna'", THEIRS, "; see 'funnel --help'\n")
    assert expected.fullmatch(done.stderr), done.stderr
    assert _imported(modules, ("funnelcli.commands",)) == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_summary_is_the_first_line_of_the_command_s_docstring(name: str) -> None:
    command = getattr(importlib.import_module(f"funnelcli.commands.{name}"), name)
    assert (inspect.getdoc(command) or "").splitlines()[0] == COMMANDS[name]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty: Linux")
def test_help_on_a_terminal_keeps_the_rich_panels(tmp_path: Path) -> None:
    import pty

    listing = tmp_path / "modules.txt"
    environment = {
        **os.environ,
        "FUNNEL_TEST_MODULES": str(listing),
        "COLUMNS": "200",
        "TERM": "xterm",
    }
    environment.pop("NO_COLOR", None)
    controller, terminal = pty.openpty()
    try:
        with started(
            [sys.executable, "-c", _RUN_MAIN, "--help"],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            cwd=tmp_path,
            env=environment,
        ) as process:
            os.close(terminal)  # the child holds it: reading ends when the child exits
            terminal = -1
            shown = _read_all(controller)  # read while it writes: a full pty would block it
            code = process.wait(timeout=TIMEOUT)
    finally:
        if terminal != -1:
            os.close(terminal)
        os.close(controller)
    assert code == 0, shown
    assert "╭─ Commands" in shown
    for summary in COMMANDS.values():
        assert summary in shown
    # The panels list the summaries; no command module is imported to show them.
    assert (
        _imported(set(listing.read_text(encoding="utf-8").split()), ("funnelcli.commands",)) == []
    )


def _read_all(descriptor: int) -> str:
    """All the terminal shows until the child closes it; TimeoutError after TIMEOUT seconds."""
    chunks = []
    deadline = time.monotonic() + TIMEOUT
    while True:
        ready, _, _ = select.select([descriptor], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError(f"the terminal stayed open {TIMEOUT:.0f} s: the command hung")
        try:
            chunk = os.read(descriptor, 65536)
        except OSError:  # EIO: the other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    text = b"".join(chunks).decode("utf-8", "replace")
    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # the colours off: the words are what is checked


def test_the_plan_s_records_are_not_dataclasses() -> None:
    """Each frozen dataclass costs about 0.4 ms to make, at every start-up (see plan.py)."""
    import dataclasses

    from funnelcli import plan

    records = (plan.StagePlan, plan.ConfidencePlan, plan.Budget, plan.Sensitivity, plan.Plan)
    assert [record.__name__ for record in records if dataclasses.is_dataclass(record)] == []
