"""Which column of a stage-history file is which: the headers each field answers to,
the funnel file's ``history_columns:`` mapping (which wins), and the CRM the headers look
like. Headers are compared by :func:`~funnelcli.readers.columns.header_key`, as an
export's are (readers/columns.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from funnelcli.definition import HISTORY_COLUMN_FIELDS, Funnel
from funnelcli.errors import DefinitionError, ExportError
from funnelcli.readers.columns import header_key, listed_headers

HISTORY_FIELDS: dict[str, tuple[str, ...]] = {
    "deal_id": (
        "opportunity id",
        "deal id",
        "record id",
        "deal - id",
        "hs_object_id",
        "object id",
        "id",
    ),
    "deal_name": ("opportunity name", "deal name", "deal - title", "dealname", "name"),
    "stage": (
        "to stage",
        "stage",
        "stage name",
        "deal stage",
        "deal - stage",
        "opportunity stage",
        "new stage",
        "new value",
    ),
    "changed": (
        "last modified",
        "edit date",
        "modified time",
        "changed at",
        "entered at",
        "date entered",
        "timestamp",
        "change date",
        "date changed",
        "changed on",
        "last modified date",
        "modified date",
        "created date",
        "date",
    ),
    "from_stage": ("from stage", "previous stage", "old stage", "old value"),
    "duration_days": (
        "stage duration (calendar days)",
        "stage duration",
        "duration (days)",
        "days in stage",
    ),
    "moved_to": ("moved to", "next stage"),
}
"""Field -> the headers it answers to, best first. ``Opportunity ID`` also matches
``opportunity_id`` and ``OpportunityId``, ``Created Date`` matches ``CreatedDate``, and
so on: headers are compared by :func:`~funnelcli.readers.columns.header_key`."""

_FIELD_KEYS = {
    name: tuple(dict.fromkeys(header_key(header) for header in headers))
    for name, headers in HISTORY_FIELDS.items()
}
_ALL_KEYS = frozenset(key for keys in _FIELD_KEYS.values() for key in keys)
_DIALECTS = (
    (
        "Salesforce",
        ("opportunityid", "opportunityname", "fromstage", "tostage", "stagename", "lastmodified"),
    ),
    ("Zoho", ("dealname", "movedto", "stagedurationcalendardays", "modifiedtime", "modifiedby")),
    ("HubSpot", ("recordid", "dealstage", "timestamp", "sourcetype", "hsobjectid")),
)
_EXAMPLE_COLUMNS = (
    "history_columns: {deal_id: Opportunity ID, stage: To Stage, changed: Last Modified}"
)


@dataclass(frozen=True)
class HistoryColumns:
    """Which history column is which: indexes into the header."""

    deal_id: int | None
    deal_name: int | None
    stage: int
    changed: int
    from_stage: int | None = None  # informative: the previous row says the same
    duration_days: int | None = None  # Zoho "Stage Duration (Calendar Days)", informative
    moved_to: int | None = None  # Zoho "Moved To": the NEXT stage, never this row's


def history_header_score(cells: Sequence[str]) -> int:
    """How many cells look like history column names: finds the header below title rows."""
    return sum(1 for cell in cells if header_key(str(cell)) in _ALL_KEYS)


def guess_history_dialect(headers: Sequence[str]) -> str:
    """ "Salesforce", "Zoho", "HubSpot" or "generic": the best-covered signature."""
    keys = {header_key(header) for header in headers}
    best, best_score = "generic", 1
    for name, signature in _DIALECTS:
        score = sum(1 for key in signature if key in keys)
        if score > best_score:
            best, best_score = name, score
    return best


def history_columns(
    headers: Sequence[str],
    funnel: Funnel,
    source: str,
    columns_override: Mapping[str, str] | None = None,
) -> HistoryColumns:
    """Find each history field's column: the override first, then the known headers."""
    keys = [header_key(header) for header in headers]
    found = _from_override(headers, keys, funnel, source, columns_override or {})
    for name, candidates in _FIELD_KEYS.items():
        if name in found:
            continue
        for candidate in candidates:
            if candidate in keys and keys.index(candidate) not in found.values():
                found[name] = keys.index(candidate)
                break
    missing = [
        what
        for what, present in (
            ("stage", "stage" in found),
            ("change date", "changed" in found),
            ("deal id or name", "deal_id" in found or "deal_name" in found),
        )
        if not present
    ]
    if missing:
        raise ExportError(_not_a_history(source, headers, funnel, missing))
    return HistoryColumns(
        deal_id=found.get("deal_id"),
        deal_name=found.get("deal_name"),
        stage=found["stage"],
        changed=found["changed"],
        from_stage=found.get("from_stage"),
        duration_days=found.get("duration_days"),
        moved_to=found.get("moved_to"),
    )


def _from_override(
    headers: Sequence[str],
    keys: list[str],
    funnel: Funnel,
    source: str,
    override: Mapping[str, str],
) -> dict[str, int]:
    known = HISTORY_COLUMN_FIELDS
    found: dict[str, int] = {}
    problems = []
    for name, header in override.items():
        at = f"{funnel.source}: history_columns.{name}"
        if name not in known:
            problems.append(f"{at}: unknown field; the fields are: {', '.join(known)}")
        elif header_key(str(header)) not in keys:
            problems.append(
                f"{at}: no column '{header}' in {source}; its columns are: {listed_headers(headers)}"
            )
        else:
            found[name] = keys.index(header_key(str(header)))
    if problems:
        raise DefinitionError(problems)
    return found


def _not_a_history(source: str, headers: Sequence[str], funnel: Funnel, missing: list[str]) -> str:
    found_no = ", ".join(f"no {what} column" for what in missing[:-1])
    found_no = f"{found_no} and no {missing[-1]} column" if found_no else f"no {missing[0]} column"
    where = funnel.file_label
    return (
        f"{source}: not a stage history: found {found_no} (its columns are: {listed_headers(headers)}); "
        f"name {'it' if len(missing) == 1 else 'them'} in {where} under history_columns:, "
        f"like {_EXAMPLE_COLUMNS}"
    )
