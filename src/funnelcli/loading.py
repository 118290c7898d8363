"""YAML file -> :class:`~funnelcli.definition.Funnel`: the only file reading below the face.

Which funnel a command uses: the path given; else ``./funnel.yaml`` when present;
else the built-in default, whose name says it is the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from funnelcli.definition import Funnel, build_funnel, default_funnel
from funnelcli.errors import DefinitionError, InputFileError

if TYPE_CHECKING:
    from funnelcli.alerts import AlertRules

DEFAULT_FILE_NAME = "funnel.yaml"
MAX_DEFINITION_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LoadedFunnel:
    funnel: Funnel
    warnings: list[str]
    alerts: AlertRules | None = None  # the file's alerts: rules, when it has any


def resolve_funnel(path: str | None, cwd: Path | None = None) -> LoadedFunnel:
    """The funnel a command uses (see the module docstring)."""
    if path is not None:
        return load_funnel_file(path)
    local = (cwd or Path.cwd()) / DEFAULT_FILE_NAME
    if local.is_file():
        return load_funnel_file(DEFAULT_FILE_NAME if cwd is None else str(local))
    return LoadedFunnel(default_funnel(), [])


def load_funnel_file(path: str) -> LoadedFunnel:
    """Read and validate a funnel file; every problem becomes a :class:`FunnelError`."""
    text = _read_text(path)
    data = parse_yaml(text, path)
    alerts, alert_problems = _alerts(data, path)
    try:
        result = build_funnel(data, path)
    except DefinitionError as error:
        raise DefinitionError(error.problems + alert_problems, error.warnings) from None
    if alert_problems:
        raise DefinitionError(alert_problems, result.warnings)
    return LoadedFunnel(result.funnel, result.warnings, alerts)


def _alerts(data: object, path: str) -> tuple[AlertRules | None, list[str]]:
    """The alerts: section, validated beside the rest so every problem shows at once.

    It lives here, not in definition.py, because alert rules speak of report figures;
    the module is imported only when a file has the section.
    """
    if not isinstance(data, Mapping) or data.get("alerts") is None:
        return None, []
    from funnelcli.alerts import rules_from_yaml

    return rules_from_yaml(data["alerts"], path)


def parse_yaml(text: str, source: str) -> object:
    """Parse YAML safely (no Python objects); a syntax error names line and column.

    PyYAML is imported here, not at the top: a plan on the built-in funnel reads no YAML.
    """
    import yaml

    # The C loader is several times faster; both are safe loaders.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # a safe loader: no Python objects
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = error.problem or error.context or "cannot be parsed"
        raise DefinitionError(
            [f"{where}: invalid YAML: {problem}; check the indentation and quoting there"]
        ) from None
    except yaml.YAMLError as error:
        raise DefinitionError([f"{source}: invalid YAML: {error}"]) from None


def _read_text(path: str) -> str:
    file = Path(path)
    try:
        size = file.stat().st_size
        if file.is_dir():
            raise InputFileError(
                f"{path}: is a folder, not a funnel file; give the path of a .yaml file"
            )
        if size > MAX_DEFINITION_BYTES:
            raise InputFileError(
                f"{path}: is {size:,} bytes; a funnel file is a few KB of YAML, is this the right file?"
            )
        raw = file.read_bytes()
    except FileNotFoundError:
        raise InputFileError(
            f"{path}: no such file; check the path, or run 'funnel init {path}' to write one"
        ) from None
    except PermissionError:
        raise InputFileError(f"{path}: permission denied; check the file's permissions") from None
    except OSError as error:
        raise InputFileError(f"{path}: cannot be read ({error.strerror}); check the path") from None
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    try:
        return raw[bom:].decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputFileError(
            f"{path}: byte {error.start + bom} is not UTF-8; save the funnel file as UTF-8"
        ) from None
