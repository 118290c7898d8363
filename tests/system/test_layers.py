"""The layer table holds: imports (read with ast, lazy ones too) point down only, never in
a circle, and the core imports no framework, file format, database or edge module.

The table is the README's (Architecture); a module missing from it fails here, so a new
module is placed on purpose.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import ROOT

PACKAGE = ROOT / "src" / "funnelcli"

FLOORS: dict[int, tuple[str, ...]] = {
    1: ("stats", "errors", "signals"),
    2: ("definition", "values", "money", "dates", "vocabulary"),
    3: (
        "plan",
        "pacing",
        "report",
        "deal_records",
        "report_figures",
        "segments",
        "inference",
        "alerts",
        "history_plan",
        "results",
        "trend",
    ),
    4: ("readers.*", "render.*", "loading", "snapshots"),
    5: ("reporting", "planning"),
    6: ("cli", "entry", "__main__", "commands.*"),
}
"""Floor -> modules (``x.*``: every module of package x). Floor 1-3 is the core: pure, no
I/O. ``loading`` reads YAML files, so it is a reader (floor 4), not core."""

CORE_FLOOR = 3
FORBIDDEN_IN_CORE = ("typer", "click", "rich", "openpyxl", "python_calamine", "sqlite3", "jinja2")
SEPARATE_ROOMS = (("render", "readers"), ("readers", "render"))
"""Modules of the same floor that must not import each other: a renderer works from
results, never from a reader, and a reader never renders."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def floor_of(module: str) -> int | None:
    for floor, names in FLOORS.items():
        for name in names:
            if module == name or (name.endswith(".*") and module.startswith(name[:-1])):
                return floor
            if name.endswith(".*") and module == name[:-2]:
                return floor
    return None


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import in the file, lazy ones included; names
    inside funnelcli are given without the package prefix."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*filter(None, base), node.module or ""]).strip(".")
                yield f"funnelcli.{target}", node.lineno
            elif node.module:
                yield node.module, node.lineno
                if node.module == "funnelcli":  # from funnelcli import x
                    for alias in node.names:
                        yield f"funnelcli.{alias.name}", node.lineno


def _is_type_checking_only(path: Path) -> set[int]:
    """Lines of imports under ``if TYPE_CHECKING:``: types only, no arrow at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for child in ast.walk(node):
                if isinstance(child, ast.Import | ast.ImportFrom):
                    lines.add(child.lineno)
    return lines


def _internal(name: str, modules: dict[str, Path]) -> str | None:
    if not name.startswith("funnelcli"):
        return None
    inner = name.removeprefix("funnelcli").lstrip(".")
    while inner and inner not in modules:
        inner = inner.rpartition(".")[0]
    return inner or None


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        typing_only = _is_type_checking_only(path)
        targets = {
            inner
            for name, line in _imports(path)
            if line not in typing_only
            and (inner := _internal(name, modules)) is not None
            and inner != module
        }
        graph[module] = targets
    return graph


def test_every_module_has_a_floor() -> None:
    missing = [module for module in _modules() if module and floor_of(module) is None]
    assert missing == [], "place these modules in FLOORS (and the README's table)"


def test_arrows_point_down_only() -> None:
    up = []
    for module, targets in _graph().items():
        here = floor_of(module)
        for target in targets:
            there = floor_of(target)
            if here is not None and there is not None and there > here:
                up.append(f"{module} (floor {here}) -> {target} (floor {there})")
    assert up == []


def test_separate_rooms_do_not_import_each_other() -> None:
    crossings = [
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets
        for source, forbidden in SEPARATE_ROOMS
        if module.startswith(f"{source}.") and target.startswith(f"{forbidden}.")
    ]
    assert crossings == []


def test_the_core_imports_no_framework_format_or_driver() -> None:
    found = []
    for module, path in _modules().items():
        floor = floor_of(module)
        if floor is None or floor > CORE_FLOOR:
            continue
        for name, line in _imports(path):
            if name.split(".")[0] in FORBIDDEN_IN_CORE:
                found.append(f"{module}:{line} imports {name}")
    assert found == []


def test_no_circle() -> None:
    graph = _graph()
    circles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                circles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert circles == []


@pytest.mark.parametrize("module", ["report", "plan", "inference", "stats"])
def test_core_examples_are_on_a_core_floor(module: str) -> None:
    floor = floor_of(module)
    assert floor is not None and floor <= CORE_FLOOR
