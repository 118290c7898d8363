"""Which export column is which: the YAML ``columns:`` mapping, else the CRMs' real headers.

Headers are compared ignoring case and punctuation (``Deal - Stage``, ``deal_stage`` and
``Deal Stage`` alike). Each field lists the names it answers to, best first; the first
field name found in the header wins, and among repeated headers the first column.
HubSpot's wide ``Date entered "<Stage> (<Pipeline>)"`` columns are stage-entered dates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from funnelcli.definition import Funnel, column_field_problem, label_key
from funnelcli.errors import DefinitionError, shown

FIELDS: dict[str, tuple[str, ...]] = {
    "id": (
        "record id",
        "deal id",
        "opportunity id",
        "opportunity_id",
        "deal - id",
        "obchod - id",
        "id",
        "deal_id",
    ),
    "name": (
        "deal name",
        "opportunity name",
        "deal - title",
        "obchod - název",
        "obchod - nazev",
        "title",
        "name",
        "deal",
    ),
    "stage": (
        "deal stage",
        "stage",
        "stage name",
        "deal - stage",
        "deal_stage",
        "dealstage",
        "deal - stage (pipeline)",
        "opportunity stage",
        "sales stage",
        "status stage",
        "obchod - fáze",
        "obchod - faze",
    ),
    "status": ("deal - status", "obchod - stav", "status", "deal status", "outcome", "result"),
    "won_flag": ("won", "is closed won", "is won", "iswon"),
    "closed_flag": ("closed", "is closed", "isclosed"),
    "amount": (
        "amount",
        "deal - value",
        "deal value",
        "value",
        "close_value",
        "close value",
        "total amount",
        "opportunity amount",
        "revenue",
        "deal amount",
        "amount (usd)",
        "obchod - hodnota",
    ),
    "currency": (
        "currency",
        "deal - currency of value",
        "deal - currency",
        "amount currency",
        "total amount currency",
        "currency iso code",
        "currency code",
        "opportunity currency",
        "obchod - měna hodnoty",
        "obchod - mena hodnoty",
        "obchod - měna",
        "obchod - mena",
    ),
    "created": (
        "create date",
        "created date",
        "created time",
        "deal - deal created",
        "deal - add time",
        "created",
        "created at",
        "created on",
        "creation date",
        "date created",
        "add time",
        "engage_date",
        "obchod - obchod vytvořen",
        "obchod - obchod vytvoren",
    ),
    "closed": (
        "close date",
        "closed date",
        "closing date",
        "deal - deal closed on",
        "deal - closed on",
        "deal - close time",
        "closed on",
        "close_date",
        "closed at",
        "date closed",
        "actual close date",
        "won time",
        "deal - won time",
    ),
    "owner": (
        "deal owner",
        "opportunity owner",
        "deal - owner",
        "owner",
        "sales_agent",
        "sales agent",
        "sales rep",
        "salesperson",
        "account executive",
        "assigned to",
        "rep",
        "obchod - vlastník",
        "obchod - vlastnik",
    ),
    "pipeline": (
        "pipeline",
        "deal - pipeline",
        "deal pipeline",
        "sales pipeline",
        "obchod - pipeline",
    ),
}
"""Field -> header names it answers to, best first (from the CRMs' documented exports;
Pipedrive's Czech headers, ``Obchod - ...``, with and without their accents)."""

PROBABILITY_HEADERS = frozenset(
    label_key(name)
    for name in (
        "Probability (%)",
        "Probability",
        "Deal - Probability",
        "Win probability",
        "Deal probability",
        "hs_deal_stage_probability",
        "Deal Stage Probability",
    )
)
"""Headers of a probability column: Salesforce and Zoho, Pipedrive, HubSpot."""


def probability_column(header: Sequence[str]) -> int | None:
    """The index of the export's probability column, if it has one."""
    return next(
        (index for index, name in enumerate(header) if label_key(name) in PROBABILITY_HEADERS),
        None,
    )


_ENTERED = re.compile(
    r"""^date\s+entered\s*["'“”‘’](?P<stage>.+?)\s*\((?P<pipeline>[^()]*)\)\s*["'“”‘’]\s*$""",
    re.IGNORECASE,
)
_ENTERED_BARE = re.compile(
    r"""^date\s+entered\s*["'“”‘’](?P<stage>.+?)["'“”‘’]\s*$""", re.IGNORECASE
)


def header_key(name: str) -> str:
    return label_key(name)


_FIELD_KEYS = {field: tuple(header_key(name) for name in names) for field, names in FIELDS.items()}
_ALL_KEYS = frozenset(key for keys in _FIELD_KEYS.values() for key in keys)


@dataclass(frozen=True)
class EnteredColumn:
    index: int
    header: str
    stage: int | None  # funnel stage index, None when the label maps to no stage
    label: str
    pipeline: str | None


@dataclass(frozen=True)
class ColumnMap:
    """Field -> column index, and the stage-entered date columns."""

    fields: Mapping[str, int]
    headers: tuple[str, ...]
    entered: tuple[EnteredColumn, ...] = ()  # mapped ones by stage, then those of no stage
    by_mapping: frozenset[str] = field(default_factory=frozenset)  # fields set by columns: in YAML

    def get(self, name: str) -> int | None:
        return self.fields.get(name)

    @property
    def dialect(self) -> str:
        return guess_dialect(self.headers)


def header_score(cells: Sequence[str], named: frozenset[str] = frozenset()) -> int:
    """How many cells look like known column names: helps find the header below title rows.

    ``named``: the header keys a funnel file's ``columns:`` gives (:func:`named_headers`),
    which count as known names too: a file whose headers only the funnel file knows."""
    return sum(
        1
        for cell in cells
        if (key := header_key(str(cell))) in _ALL_KEYS or key in named or _ENTERED.match(str(cell))
    )


def named_headers(funnel: Funnel) -> frozenset[str]:
    """The header keys a funnel file's ``columns:`` names (the history file's excepted)."""
    names: list[str] = []
    for field_name, value in funnel.columns.items():
        if field_name == "history":
            continue
        if isinstance(value, Mapping):
            names.extend(str(header) for header in value.values())
        else:
            names.append(str(value))
    return frozenset(header_key(name) for name in names)


def map_columns(headers: Sequence[str], funnel: Funnel, source: str) -> ColumnMap:
    """Find every field's column: the YAML mapping first, then known headers."""
    keys = [header_key(header) for header in headers]
    fields, mapped = _from_mapping(headers, keys, funnel, source)
    for name, candidates in _FIELD_KEYS.items():
        if name in fields:
            continue
        for candidate in candidates:
            if candidate in keys:
                column = keys.index(candidate)
                if column not in fields.values():
                    fields[name] = column
                    break
    entered = _entered_columns(headers, keys, funnel, source)
    return ColumnMap(fields, tuple(headers), entered, frozenset(mapped))


def _from_mapping(
    headers: Sequence[str], keys: list[str], funnel: Funnel, source: str
) -> tuple[dict[str, int], set[str]]:
    fields: dict[str, int] = {}
    problems = []
    for name, value in funnel.columns.items():
        if name in ("entered", "history"):
            continue
        unknown = column_field_problem(name)
        if unknown is not None:
            problems.append(f"{funnel.source}: columns.{shown(name)}: {unknown}")
            continue
        column = _find(str(value), keys)
        if column is None:
            problems.append(
                f"{funnel.source}: columns.{name}: no column '{value}' in {source}; "
                f"its columns are: {listed_headers(headers)}"
            )
            continue
        fields[name] = column
    if problems:
        raise DefinitionError(problems)
    return fields, set(fields)


def _find(header: str, keys: list[str]) -> int | None:
    key = header_key(header)
    return keys.index(key) if key in keys else None


def listed_headers(headers: Sequence[str], limit: int = 12) -> str:
    """The first ``limit`` headers, each quoted safely, and how many more: for a message."""
    listed = ", ".join(shown(header, 30) for header in headers[:limit] if header)
    return listed + (f" (and {len(headers) - limit} more)" if len(headers) > limit else "")


def stage_lookup(funnel: Funnel) -> dict[str, int]:
    """Label key -> stage index, for names and aliases."""
    lookup: dict[str, int] = {}
    for index, stage in enumerate(funnel.stages):
        for label in (stage.name, *stage.aliases):
            lookup.setdefault(label_key(label), index)
    return lookup


def _entered_columns(
    headers: Sequence[str], keys: list[str], funnel: Funnel, source: str
) -> tuple[EnteredColumn, ...]:
    lookup = stage_lookup(funnel)
    columns: dict[int, list[EnteredColumn]] = {}
    mapping = funnel.columns.get("entered")
    if isinstance(mapping, Mapping):
        problems = []
        for stage_name, header in mapping.items():
            stage = lookup.get(label_key(str(stage_name)))
            column = _find(str(header), keys)
            if stage is None:
                problems.append(
                    f"{funnel.source}: columns.entered.{stage_name}: no stage of that name; "
                    f"the stages are: {', '.join(s.name for s in funnel.stages)}"
                )
            elif column is None:
                problems.append(
                    f"{funnel.source}: columns.entered.{stage_name}: no column '{header}' in {source}; "
                    f"its columns are: {listed_headers(headers)}"
                )
            else:
                columns[stage] = [
                    EnteredColumn(column, headers[column], stage, str(stage_name), None)
                ]
        if problems:
            raise DefinitionError(problems)
    named_in_yaml = set(columns)
    wide: list[EnteredColumn] = []
    for index, header in enumerate(headers):
        match = _ENTERED.match(header) or _ENTERED_BARE.match(header)
        if not match:
            continue
        label = match["stage"].strip()
        pipeline = match.groupdict().get("pipeline")
        stage = lookup.get(label_key(label))
        wide.append(
            EnteredColumn(index, header, stage, label, pipeline.strip() if pipeline else None)
        )
        # One stage can have a column per pipeline; a deal has a date in its own pipeline's.
        if stage is not None and stage not in named_in_yaml:
            columns.setdefault(stage, []).append(wide[-1])
    unmapped = tuple(column for column in wide if column.stage is None)
    mapped = tuple(column for stage in sorted(columns) for column in columns[stage])
    return mapped + unmapped


_DIALECTS = (
    ("HubSpot", ("recordid", "dealname", "dealstage", "dealowner")),
    ("Pipedrive", ("dealid", "dealtitle", "dealstage", "dealstatus")),
    ("Zoho", ("recordid", "dealowner", "dealname", "closingdate", "createdtime")),
    ("Salesforce", ("opportunityname", "stage", "closedate", "createddate")),
)


def guess_dialect(headers: Sequence[str]) -> str:
    """Which CRM an export looks like, for ``funnel inspect``: the best-covered signature."""
    keys = {header_key(header) for header in headers}
    best, best_score = "generic CSV", 0
    for name, signature in _DIALECTS:
        score = sum(1 for key in signature if key in keys)
        if score >= 3 and score > best_score:
            best, best_score = name, score
    return best


_FLAG_VALUES = frozenset(
    {"true", "false", "1", "0", "yes", "no", "y", "n", "x", "wahr", "falsch", "vrai", "faux"}
)


def _is_flag(cell: object) -> bool:
    if isinstance(cell, bool | int):
        return cell in (0, 1)
    return isinstance(cell, str) and cell.strip().casefold() in _FLAG_VALUES


def refine_by_values(columns: ColumnMap, sample: Sequence[Sequence[object]]) -> ColumnMap:
    """Correct what headers alone get wrong, from a sample of the values.

    A column recognised as a won/closed flag by its name (``Closed``, ``Won``) whose
    values are not flags holds dates (``closed: 2025-03-04``): it is the close date
    then, unless another column already is. Mappings from the funnel file are kept.
    """
    fields = dict(columns.fields)
    for flag in ("closed_flag", "won_flag"):
        index = fields.get(flag)
        if index is None or flag in columns.by_mapping:
            continue
        values = [row[index] for row in sample if index < len(row) and row[index] not in (None, "")]
        if not values or all(_is_flag(value) for value in values):
            continue
        del fields[flag]
        if "closed" not in fields:
            fields["closed"] = index
    return columns if fields == columns.fields else replace(columns, fields=fields)
