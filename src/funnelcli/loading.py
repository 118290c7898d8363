"""YAML file -> :class:`~funnelcli.definition.Funnel`: the funnel file reader.

Which funnel a command uses: the path given; else ``./funnel.yaml`` when present;
else, for a command that reads an export (``report``, ``inspect``, ``plan --rates-from``
and ``--credit-pipeline``), the export's own funnel (``readers/evidence.py``, chosen by
``reporting.resolve_funnel_for_export``); else the built-in default, whose name says it
is the default.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from funnelcli.definition import Funnel, build_funnel, default_funnel, label_key
from funnelcli.errors import DefinitionError, InputFileError, shown

if TYPE_CHECKING:
    import yaml

    from funnelcli.alerts import AlertRules

DEFAULT_FILE_NAME = "funnel.yaml"
MAX_DEFINITION_BYTES = 1024 * 1024


class LoadedFunnel(NamedTuple):
    """The funnel a command uses, the warnings its file gave, and its alerts: rules.

    A named tuple, not a dataclass: every command makes one, and a dataclass costs about
    0.4 ms to create at start-up (`funnel plan` is held to 1.3x typer's import time).
    """

    funnel: Funnel
    warnings: list[str]
    alerts: AlertRules | None = None  # the file's alerts: rules, when it has any


def resolve_funnel(path: str | None, cwd: Path | None = None) -> LoadedFunnel:
    """The funnel a command uses (see the module docstring)."""
    if path is not None:
        return load_funnel_file(path)
    if has_funnel_file(None, cwd):
        local = (cwd or Path.cwd()) / DEFAULT_FILE_NAME
        return load_funnel_file(DEFAULT_FILE_NAME if cwd is None else str(local))
    return LoadedFunnel(default_funnel(), [])


def has_funnel_file(path: str | None, cwd: Path | None = None) -> bool:
    """Whether a funnel file is given or ``./funnel.yaml`` is there: else a command that
    reads an export builds the export's own funnel."""
    return path is not None or ((cwd or Path.cwd()) / DEFAULT_FILE_NAME).is_file()


def load_funnel_file(path: str) -> LoadedFunnel:
    """Read and validate a funnel file; every problem becomes a :class:`FunnelError`."""
    if path == "-":  # standard input is the export's, as everywhere else ("funnel report -")
        raise InputFileError(
            "-: standard input cannot be the funnel file; give the path of a funnel YAML file"
        )
    text = _read_text(path)
    data = parse_yaml(text, path)
    alerts, alert_problems = _alerts(data, path)
    try:
        result = build_funnel(data, path)
    except DefinitionError as error:
        raise DefinitionError(error.problems + alert_problems, error.warnings) from None
    alert_problems += _alert_stage_problems(data, result.funnel, path)
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
    from funnelcli.alerts import rules_from_yaml  # lazy: a plan's start-up needs no alerts

    return rules_from_yaml(data["alerts"], path)


def _alert_stage_problems(data: object, funnel: Funnel, path: str) -> list[str]:
    """``alerts: {fail_below: {Nope: 50%}}``: every stage named there, checked against the funnel.

    Checked here, once the funnel is built, so that ``funnel validate`` refuses the file
    that ``funnel report`` would. The won stage is refused too: it converts to nothing.
    Names that are not names at all, or repeat, are rules_from_yaml's to report.
    """
    alerts = data.get("alerts") if isinstance(data, Mapping) else None
    fail_below = alerts.get("fail_below") if isinstance(alerts, Mapping) else None
    if not isinstance(fail_below, Mapping):
        return []
    won_key = label_key(funnel.won_stage.name)
    stage_keys = {label_key(stage.name) for stage in funnel.stages}
    choices = ", ".join(stage.name for stage in funnel.stages[:-1])
    problems: list[str] = []
    seen: set[str] = set()
    for name in fail_below:
        if isinstance(name, bool) or not isinstance(name, str | int) or not str(name).strip():
            continue
        stage = shown(str(name).strip())
        key = label_key(str(name))
        if key in seen:
            continue
        seen.add(key)
        at = f"{path}: alerts.fail_below.{stage}"
        if key == won_key:
            problems.append(
                f"{at}: '{stage}' is the won stage, which converts to no later stage; "
                f"use one of {choices}"
            )
        elif key not in stage_keys:
            problems.append(
                f"{at}: no stage named '{stage}'; the stages are: {choices} "
                f"({funnel.won_stage.name}, the won stage, has no conversion)"
            )
    return problems


def parse_yaml(text: str, source: str) -> object:
    """Parse YAML safely (no Python objects); every problem is one line naming line and column.

    Beyond a plain safe load: a key given twice in one mapping is refused (YAML would keep
    the last silently), and a value its tag cannot build (``!!int "abc"``, an integer of
    5,000 digits) is a message, not a traceback. PyYAML is imported here, not at the top:
    a plan on the built-in funnel reads no YAML.
    """
    import yaml

    loader = _strict_loader()
    try:
        _check_depth(text, loader)
        return yaml.load(text, Loader=loader)
    except _ValueProblem as problem:
        raise DefinitionError([f"{_where(source, problem.mark)}: {problem.message}"]) from None
    except yaml.MarkedYAMLError as error:
        raise DefinitionError([_syntax_message(error, source, text)]) from None
    except yaml.reader.ReaderError as error:
        in_bytes = hasattr(yaml, "CSafeLoader")  # the C reader counts in UTF-8 bytes
        raise DefinitionError([_character_message(error, source, text, in_bytes)]) from None
    except yaml.YAMLError as error:
        raise DefinitionError([f"{source}: invalid YAML: {shown(error, 200)}"]) from None
    except RecursionError:
        raise DefinitionError(
            [f"{source}: invalid YAML: lists or mappings nested too deeply; is this a funnel file?"]
        ) from None


# A funnel file nests 4 deep. The limit stays below every parser's own: PyYAML's C composer
# (up to 6.0.2) overflows the stack near 50,000 levels, its libyaml (from 6.0.4) refuses 1,000
# levels in its own words, and its Python composer recurses twice a level.
MAX_DEPTH = 100


def _check_depth(text: str, loader: type[yaml.SafeLoader]) -> None:
    """Refuse lists and mappings nested over :data:`MAX_DEPTH` deep, before they are composed.

    A level opens with ``[``, ``{``, ``- ``, ``? `` or a new line, so a file with fewer of
    those than the limit cannot be too deep and skips the (slower) event scan.
    """
    openers = sum(text.count(opener) for opener in ("[", "{", "-", "?", "\n"))
    if openers <= MAX_DEPTH:
        return
    import yaml

    try:
        _scan_depth(yaml.parse(text, Loader=loader))
    except yaml.YAMLError:
        # A libyaml with a nesting limit of its own refuses the file before the scan reaches
        # ours (its scanner reads ahead). The Python parser has no such limit: it tells whether
        # the file is too deep; if not, the error stands.
        if not issubclass(loader, yaml.parser.Parser):
            with contextlib.suppress(yaml.YAMLError):
                _scan_depth(yaml.parse(text, Loader=yaml.SafeLoader))
        raise


def _scan_depth(events: Iterator[yaml.events.Event]) -> None:
    """Raise :class:`_ValueProblem` where a list or mapping opens over :data:`MAX_DEPTH` deep."""
    import yaml

    depth = 0
    for event in events:
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _ValueProblem(
                    event.start_mark,
                    f"invalid YAML: lists or mappings nested over {MAX_DEPTH:,} deep; "
                    "is this a funnel file?",
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class _Mark(Protocol):
    """A place in the file, as both PyYAML's Python and C parts give it (from 0)."""

    line: int
    column: int


class _ValueProblem(Exception):
    """A value the loader refuses (a duplicate key, a tag its constructor cannot build)."""

    def __init__(self, mark: _Mark | None, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


# What PyYAML's scalar constructors raise on a value their tag does not fit:
# int("abc"), a regex that does not match (None.groupdict()), bool_values["maybe"].
_CONSTRUCTOR_FAILURES = (ValueError, LookupError, AttributeError, TypeError, ArithmeticError)
_YAML_TAG = "tag:yaml.org,2002:"
_MERGE_TAG = _YAML_TAG + "merge"
_TAG_KINDS = {
    "int": ("a whole number", "12"),
    "float": ("a number", "2.5"),
    "bool": ("true or false", "true"),
    "timestamp": ("a date", "2025-01-31"),
}
_PLAIN_VALUES = "a funnel file holds plain text, numbers, lists and mappings"


@functools.cache
def _strict_loader() -> type[yaml.SafeLoader]:
    """A safe loader (the C one when there is one) that refuses duplicate keys.

    The parser stays in C; the constructor, where the checks go, is Python in both.
    """
    import yaml

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictConstructor(yaml.constructor.SafeConstructor):
        def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
            try:
                return super().construct_object(node, deep)
            except _CONSTRUCTOR_FAILURES as error:
                if not isinstance(node, yaml.ScalarNode):
                    raise
                raise _ValueProblem(node.start_mark, _bad_scalar(self, node, error)) from None

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                _check_unique_keys(self, node)
            return super().construct_mapping(node, deep)

    loader = type("StrictSafeLoader", (StrictConstructor, base), {})
    return loader


def _check_unique_keys(
    constructor: yaml.constructor.BaseConstructor, node: yaml.MappingNode
) -> None:
    """Refuse a key written twice in one mapping; keys merged in with ``<<:`` may be overridden."""
    first_seen: dict[object, yaml.Mark] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        key = constructor.construct_object(key_node)
        try:
            earlier = first_seen.setdefault(key, key_node.start_mark)
        except TypeError:  # a list as a key: the mapping constructor says so
            continue
        if earlier is not key_node.start_mark:
            raise _ValueProblem(
                key_node.start_mark,
                f"invalid YAML: duplicate key '{shown(key)}' (first on line {earlier.line + 1}, "
                f"again on line {key_node.start_mark.line + 1}); keep one of them, "
                "YAML keys must be unique in a mapping",
            )


def _bad_scalar(
    constructor: yaml.constructor.BaseConstructor, node: yaml.ScalarNode, error: Exception
) -> str:
    """The message for a scalar its tag cannot build: the tag, the value, and the fix."""
    kind_name = node.tag.removeprefix(_YAML_TAG)
    value = shown(node.value)
    digits = sum(char.isdigit() for char in node.value)
    limit = sys.get_int_max_str_digits()
    if kind_name == "int" and limit and digits > limit:
        return (
            f"invalid YAML: a number of {digits:,} digits is too long to read "
            f"(at most {limit:,}); write a smaller number"
        )
    kind, example = _TAG_KINDS.get(kind_name, ("a value of that type", ""))
    # A plain scalar has style None in the Python parser, "" in the C one.
    implicit = not node.style and node.tag == _implicit_tag(constructor, node.value)
    if implicit:  # 2025-02-30 reads as a date, 0x_ as a number: the user meant text
        return (
            f"invalid YAML: '{value}' reads as {kind} but is not a valid one; "
            "quote it to use it as text, or correct it"
        )
    tag = f"!!{kind_name}" if node.tag.startswith(_YAML_TAG) else node.tag
    like = f" like {example}" if example else ""
    return (
        f"invalid YAML: {tag} '{value}' is not {kind}; remove the {tag} tag, or write {kind}{like}"
    )


def _implicit_tag(constructor: object, value: str) -> str | None:
    """The tag a plain scalar gets without one written, or None for a loader without a resolver."""
    resolve = getattr(constructor, "resolve", None)
    if resolve is None:
        return None
    import yaml

    tag: str = resolve(yaml.ScalarNode, value, (True, False))
    return tag


def _syntax_message(error: yaml.MarkedYAMLError, source: str, text: str) -> str:
    """One line for a syntax error: where, what, and the fix.

    Where is the problem's mark, but where the problem is only found at the end of the
    file (an unclosed quote or bracket): then it is where the unclosed thing opens.
    """
    import yaml

    problem, context = error.problem or "", error.context or ""
    mark = error.problem_mark or error.context_mark
    if problem.startswith("but found another document") and mark is not None:
        return (
            f"{_where(source, mark)}: invalid YAML: expected a single document, found a second "
            f"one at {mark.line + 1}:{mark.column + 1}; keep one funnel per file"
        )
    if problem.startswith("could not determine a constructor for the tag"):
        refusal = "tags that build objects are not allowed, " if "python/" in problem else ""
        return f"{_where(source, mark)}: invalid YAML: {problem}; {refusal}remove the tag ({_PLAIN_VALUES})"
    if error.context_mark is not None and (mark is None or _at_end(mark, text)):
        opened = _UNCLOSED.get(context)
        if opened is not None:
            return f"{_where(source, error.context_mark)}: invalid YAML: {opened}"
        if context:
            return (
                f"{_where(source, error.context_mark)}: invalid YAML: {context} that starts here, "
                "found the end of the file; check the indentation and quoting there"
            )
    if isinstance(error, yaml.constructor.ConstructorError):
        return f"{_where(source, mark)}: invalid YAML: {problem or context}; {_PLAIN_VALUES}"
    return (
        f"{_where(source, mark)}: invalid YAML: {problem or context or 'cannot be parsed'}; "
        "check the indentation and quoting there"
    )


_UNCLOSED = {
    "while scanning a quoted scalar": "a quoted value starts here and is never closed; "
    "add the closing quote",
    "while parsing a flow sequence": "a [ list starts here and is never closed; add the closing ]",
    "while parsing a flow mapping": "a { mapping starts here and is never closed; add the closing }",
}


def _at_end(mark: _Mark, text: str) -> bool:
    """True when ``mark`` is at the end of ``text`` (PyYAML puts it on the line after the last)."""
    last_line = text.count("\n")
    last_column = len(text) - (text.rfind("\n") + 1)
    return (mark.line, mark.column) >= (last_line, last_column)


def _character_message(
    error: yaml.reader.ReaderError, source: str, text: str, in_bytes: bool
) -> str:
    """A character YAML refuses (NUL, other control characters), with its line and column.

    The C reader counts the position in UTF-8 bytes, the Python one in characters.
    """
    position = int(error.position)
    if in_bytes:
        position = len(text.encode("utf-8")[:position].decode("utf-8", "ignore"))
    before = text[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    code = error.character if isinstance(error.character, int) else ord(error.character)
    name = (
        "a NUL character"
        if code == 0
        else "the control character"
        if code < 0xA0
        else "the character"
    )
    return (
        f"{source}:{line}:{column}: invalid YAML: {name} (U+{code:04X}) is not allowed; "
        "delete it (is this a text file?)"
    )


def _where(source: str, mark: _Mark | None) -> str:
    return f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source


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
        with file.open("rb") as stream:  # bounded: /dev/zero or a pipe has no size to check
            raw = stream.read(MAX_DEFINITION_BYTES + 1)
        if len(raw) > MAX_DEFINITION_BYTES:
            raise InputFileError(
                f"{path}: is more than {MAX_DEFINITION_BYTES:,} bytes; a funnel file is a few "
                "KB of YAML, is this the right file?"
            )
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
