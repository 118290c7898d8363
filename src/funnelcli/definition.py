"""The funnel as validated data: stages, conversion rates, aliases, column mapping.

:func:`build_funnel` turns the plain data read from a YAML file (or the built-in
default) into a :class:`Funnel`, collecting *every* problem before it raises, so a
user fixes a file in one go. Each problem is one line:
``funnel.yaml: stages[2].conversion: must be a rate between 0 and 1 (like 0.35 or 35%), got 1.4``.
Stage indices in key paths count from 0, as in the YAML list.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from funnelcli.errors import DefinitionError, shown
from funnelcli.values import amount_from_yaml, as_written, check_rate, describe, parse_rate

DEFAULT_LOST_LABELS = ("Closed Lost", "Lost", "closedlost")
MAX_STAGES = 200  # a plan multiplies exact rates: 10,000 stages make 20,000-digit fractions
MAX_DAYS = 36_500  # 100 years: longer is a typo, and 1e300 days overflow a timedelta
WON_EXAMPLE = "[Closed Won, closedwon]"
LOST_EXAMPLE = "[Closed Lost, closedlost]"
TOP_LEVEL_KEYS = (
    "name",
    "currency",
    "average_deal_value",
    "cost_per_lead",
    "stages",
    "lost",
    "columns",
    "fx",
    "alerts",  # validated by alerts.rules_from_yaml (see loading.py)
    "history_columns",
)
STAGE_KEYS = ("name", "conversion", "days", "aliases")
COLUMN_FIELDS = (
    "id",
    "name",
    "stage",
    "status",
    "won_flag",
    "closed_flag",
    "amount",
    "currency",
    "created",
    "closed",
    "owner",
    "pipeline",
)
"""The fields ``columns:`` maps to export headers (readers/columns.py knows their usual
headers, in this order)."""
HISTORY_COLUMN_FIELDS = (
    "deal_id",
    "deal_name",
    "stage",
    "changed",
    "from_stage",
    "duration_days",
    "moved_to",
)
"""The fields ``history_columns:`` maps to stage-history headers (readers/history.py)."""
COLUMN_MAPPINGS = ("entered", "history")
"""Keys of ``columns:`` that hold more than one header."""
UNKNOWN_KEYS_SHOWN = 20
"""Unknown keys named one line each, per file; the rest are counted in one more line."""
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Stage:
    """One funnel stage. ``conversion`` is the planned rate to the next stage (None on the last)."""

    name: str
    conversion: Fraction | None = None
    days: Fraction | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Funnel:
    """A validated funnel: ordered stages, top first; the last stage is the won stage."""

    name: str
    stages: tuple[Stage, ...]
    currency: str = "USD"
    average_deal_value: Decimal | None = None
    cost_per_lead: Decimal | None = None
    lost_labels: tuple[str, ...] = DEFAULT_LOST_LABELS
    columns: Mapping[str, object] = field(default_factory=dict)
    fx: Mapping[str, Decimal] = field(default_factory=dict)
    history_columns: Mapping[str, str] = field(default_factory=dict)  # stage-history file headers
    source: str = "built-in default"
    is_default: bool = False
    evidence: str | None = None  # built from an export: what gave its stages and their order

    @property
    def file_label(self) -> str:
        """The funnel file a message tells the user to edit: funnel.yaml when none is used."""
        return "funnel.yaml" if self.is_default or self.evidence is not None else self.source

    @property
    def won_stage(self) -> Stage:
        return self.stages[-1]

    @property
    def has_rates(self) -> bool:
        """True when every stage but the last carries a planned conversion rate."""
        return all(stage.conversion is not None for stage in self.stages[:-1])

    @property
    def has_days(self) -> bool:
        return all(stage.days is not None for stage in self.stages[:-1])


class BuildResult(NamedTuple):
    """A valid funnel, and the warnings (unknown keys...) found on the way. (Named tuples
    here and in _ParsedStage: a dataclass costs ~0.4 ms to create at every start-up.)"""

    funnel: Funnel
    warnings: list[str]


def label_key(label: str) -> str:
    """How stage labels are compared: case, spaces and punctuation ignored.

    ``"Closed Won"``, ``"closed-won"`` and ``"closedwon"`` share the key ``"closedwon"``.
    ``casefold`` rather than ``lower`` so that German ß and similar letters match too, after
    NFKC normalisation so that composed and decomposed accents match.
    """
    # NFKC first: decomposed text (macOS writes "ö" as "o" and a combining mark) must match
    # its composed form, and the punctuation rule must not strip the marks off letters.
    # ASCII text is already in NFKC: skipping it spares `funnel plan` importing unicodedata.
    if not label.isascii():
        import unicodedata

        label = unicodedata.normalize("NFKC", label)
    return _NOT_ALPHANUMERIC.sub("", label.casefold())


class _Problems:
    """Collects problems and warnings with their key paths, prefixed by the source name."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[str] = []
        self.warnings: list[str] = []
        # A file with 60,000 unknown keys gets 20 lines and a count, not 60,000 lines.
        self.unknown_named = 0
        self.unknown_keys_hidden = 0
        self.unknown_fields_hidden = 0

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{self.source}: {path}: {message}")

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(f"{self.source}: {path}: {message}")

    def unknown_keys(
        self, mapping: Mapping[object, object], known: tuple[str, ...], at: str
    ) -> None:
        for key in mapping:
            if str(key) in known:
                continue
            if self.unknown_named >= UNKNOWN_KEYS_SHOWN:
                self.unknown_keys_hidden += 1
                continue
            self.unknown_named += 1
            path = f"{at}.{shown(key)}" if at else shown(key)
            import difflib  # only when a key is unknown: it costs start-up time

            nearest = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = (
                f"; did you mean '{nearest[0]}'?"
                if nearest
                else f"; known keys: {', '.join(known)}"
            )
            self.warn(path, f"unknown key, ignored{hint}")

    def unknown_column_field(self, field_name: object) -> bool:
        """Record ``columns.<field_name>`` as an error when it names no field; True if so."""
        message = column_field_problem(field_name)
        if message is None:
            return False
        if self.unknown_named >= UNKNOWN_KEYS_SHOWN:
            self.unknown_fields_hidden += 1
        else:
            self.unknown_named += 1
            self.error(f"columns.{shown(field_name)}", message)
        return True

    def count_hidden(self) -> None:
        """One line for the unknown keys and fields beyond the first UNKNOWN_KEYS_SHOWN."""
        if self.unknown_keys_hidden:
            self.warnings.append(
                f"{self.source}: ... and {self.unknown_keys_hidden:,} more unknown keys, ignored"
            )
        if self.unknown_fields_hidden:
            self.errors.append(
                f"{self.source}: ... and {self.unknown_fields_hidden:,} more unknown fields "
                f"in columns; the fields are: {', '.join(COLUMN_FIELDS)}"
            )


def column_field_problem(field_name: object) -> str | None:
    """What is wrong with a key of ``columns:``, or None: the one rule that ``validate``
    (here) and ``report`` (readers/columns.py, for funnels built in code) both apply."""
    if str(field_name) in COLUMN_FIELDS or str(field_name) in COLUMN_MAPPINGS:
        return None
    return f"unknown field; the fields are: {', '.join(COLUMN_FIELDS)}"


def build_funnel(
    data: object, source: str = "funnel.yaml", *, is_default: bool = False
) -> BuildResult:
    """Validate plain data (as loaded from YAML) into a :class:`Funnel`.

    Raises :class:`DefinitionError` listing every problem found.
    """
    problems = _Problems(source)
    if data is None:
        raise DefinitionError([f"{source}: the file is empty; it needs at least a stages: list"])
    if not isinstance(data, Mapping):
        raise DefinitionError(
            [
                f"{source}: expected a mapping with name: and stages: at the top, got {describe(data)}"
            ]
        )
    problems.unknown_keys(data, TOP_LEVEL_KEYS, "")
    name = _text(data.get("name", "Unnamed funnel"), "name", problems) or "Unnamed funnel"
    currency = _currency(data.get("currency", "USD"), problems)
    deal_value = _positive_amount(data.get("average_deal_value"), "average_deal_value", problems)
    cost_per_lead = _positive_amount(data.get("cost_per_lead"), "cost_per_lead", problems)
    stages = _stages(data.get("stages"), problems)
    lost_labels = _labels(
        data.get("lost", list(DEFAULT_LOST_LABELS)), "lost", problems, LOST_EXAMPLE
    )
    columns = _columns(data.get("columns"), problems)
    fx = _fx(data.get("fx"), problems)
    history_columns = _history_columns(data.get("history_columns"), problems)
    _check_rates_present(stages, problems)
    _check_label_collisions(stages, lost_labels, problems)
    _check_entered_stages(columns, stages, problems)
    problems.count_hidden()
    if problems.errors:
        raise DefinitionError(problems.errors, problems.warnings)
    funnel = Funnel(
        name=name,
        stages=tuple(parsed.stage for parsed in stages),
        currency=currency,
        average_deal_value=deal_value,
        cost_per_lead=cost_per_lead,
        lost_labels=tuple(lost_labels),
        columns=columns,
        fx=fx,
        history_columns=history_columns,
        source=source,
        is_default=is_default,
    )
    return BuildResult(funnel, problems.warnings)


def _text(value: object, path: str, problems: _Problems) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    problems.error(path, f"expected a non-empty text, got {_not_text(value)}")
    return None


def _not_text(value: object) -> str:
    """``describe(value)``, with the fix when YAML read an unquoted date where text was meant."""
    if isinstance(value, dt.date):
        return f"{describe(value)} (quote it to use it as text)"
    return describe(value)


def _currency(value: object, problems: _Problems) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if _CURRENCY_CODE.match(code):
        return code
    problems.error(
        "currency", f"must be a 3-letter ISO currency code like USD or EUR, got {describe(value)}"
    )
    return "USD"


def _positive_amount(value: object, path: str, problems: _Problems) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = amount_from_yaml(value)
    except ValueError as error:
        problems.error(path, str(error))
        return None
    if amount <= 0:
        problems.error(path, f"must be above 0, got {_written(value)}")
        return None
    return amount


def _written(value: object) -> str:
    """A scalar as the user wrote it: a text cut to one line, a number not expanded."""
    return shown(value) if isinstance(value, str) else as_written(value)


def _fx(value: object, problems: _Problems) -> dict[str, Decimal]:
    """``fx: {EUR: 1.08}``: one EUR is worth 1.08 of the funnel's currency."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.error(
            "fx",
            f"expected a mapping of currency codes to rates like {{EUR: 1.08}}, got {describe(value)}",
        )
        return {}
    rates: dict[str, Decimal] = {}
    for code, rate in value.items():
        key = str(code).strip().upper()
        if not _CURRENCY_CODE.match(key):
            problems.error(f"fx.{shown(code)}", "must be a 3-letter ISO currency code like EUR")
            continue
        amount = _positive_amount(rate, f"fx.{shown(code)}", problems)
        if amount is not None:
            rates[key] = amount
    return rates


class _ParsedStage(NamedTuple):
    """A stage as read, with where it was and whether it had a conversion: key."""

    position: int  # the position in the YAML list, for key paths
    stage: Stage
    conversion_written: bool  # written, even if invalid (so it is not also "missing")


def _history_columns(value: object, problems: _Problems) -> dict[str, str]:
    """``history_columns: {deal_id: Opportunity ID, stage: To Stage, changed: Last Modified}``.

    The fields are checked against the history file when it is read (readers/history.py).
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.error(
            "history_columns",
            "expected a mapping of fields to headers like {deal_id: Opportunity ID, stage: To Stage}"
            f", got {describe(value)}",
        )
        return {}
    headers: dict[str, str] = {}
    for key, header in value.items():
        if str(key) not in HISTORY_COLUMN_FIELDS:
            problems.error(
                f"history_columns.{shown(key)}",
                f"unknown field; the fields are: {', '.join(HISTORY_COLUMN_FIELDS)}",
            )
            continue
        name = _header(header, f"history_columns.{shown(key)}", problems)
        if name is not None:
            headers[str(key)] = name
    return headers


def _columns(value: object, problems: _Problems) -> dict[str, object]:
    """``columns: {stage: Deal Stage, entered: {Demo: Demo Date}}``: export headers by field.

    Every value is a header name, but ``entered:``, a mapping of stage names to headers.
    The fields and headers are checked against the export when it is read
    (readers/columns.py); here only their shape, so that no list or mapping is ever
    taken, or printed, as a header.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.error(
            "columns", f"expected a mapping like {{stage: Deal Stage}}, got {describe(value)}"
        )
        return {}
    columns: dict[str, object] = {}
    for field_name, header in value.items():
        path = f"columns.{shown(field_name)}"
        if problems.unknown_column_field(field_name):
            continue
        if field_name == "entered":
            entered = _entered_columns(header, problems)
            if entered is not None:
                columns["entered"] = entered
            continue
        name = _header(header, path, problems)
        if name is not None:
            columns[str(field_name)] = name
    return columns


def _entered_columns(value: object, problems: _Problems) -> dict[str, str] | None:
    """``entered: {Demo: Demo Date}``: the column holding the date each stage was entered."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.error(
            "columns.entered",
            "expected a mapping of stage names to column names like {Demo: Demo Date}, "
            f"got {describe(value)}",
        )
        return None
    entered: dict[str, str] = {}
    for stage_name, header in value.items():
        if not _is_name(stage_name):
            problems.error(
                "columns.entered", f"expected stage names as keys, got {describe(stage_name)}"
            )
            continue
        stage = str(stage_name).strip()
        name = _header(header, f"columns.entered.{shown(stage)}", problems)
        if name is not None:
            entered[stage] = name
    return entered


def _is_name(value: object) -> bool:
    """A header or stage name may be written as text or as a number (a header "2025")."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    return bool(str(value).strip())


def _header(value: object, path: str, problems: _Problems) -> str | None:
    if _is_name(value):
        return str(value).strip()
    problems.error(path, f"expected a column name (text), got {_not_text(value)}")
    return None


def _stages(value: object, problems: _Problems) -> list[_ParsedStage]:
    if value is None:
        problems.error("stages", "missing; list the stages top first, the won stage last")
        return []
    if not isinstance(value, list):
        problems.error("stages", f"expected a list of stages, got {describe(value)}")
        return []
    if len(value) > MAX_STAGES:
        # Not checked one by one: the funnel needs restructuring, not a thousand fixes.
        problems.error(
            "stages",
            f"needs at most {MAX_STAGES} stages, got {len(value)}; "
            "map several CRM labels to one stage with aliases:",
        )
        return []
    if len(value) < 2:
        problems.error(
            "stages",
            f"needs at least two stages (a first stage and the won stage), got {len(value)}",
        )
    stages: list[_ParsedStage] = []
    seen: dict[str, int] = {}
    last_index = len(value) - 1
    for index, item in enumerate(value):
        stage = _stage(item, index, index == last_index, problems)
        if stage is None:
            continue
        written = isinstance(item, Mapping) and item.get("conversion") is not None
        key = stage.name.casefold()
        if key in seen:
            problems.error(
                f"stages[{index}].name",
                f"'{stage.name}' repeats stages[{seen[key]}].name; stage names must be unique (ignoring case)",
            )
        else:
            seen[key] = index
        stages.append(_ParsedStage(index, stage, written))
    return stages


def _stage(item: object, index: int, is_last: bool, problems: _Problems) -> Stage | None:
    at = f"stages[{index}]"
    if not isinstance(item, Mapping):
        problems.error(
            at, f"expected a mapping like {{name: MQL, conversion: 40%}}, got {describe(item)}"
        )
        return None
    problems.unknown_keys(item, STAGE_KEYS, at)
    name = _text(item.get("name"), f"{at}.name", problems)
    conversion = _conversion(item, at, is_last, problems)
    days = _days(item.get("days"), f"{at}.days", problems)
    aliases = _labels(item.get("aliases", []), f"{at}.aliases", problems, WON_EXAMPLE)
    if name is None:
        return None
    return Stage(name=name, conversion=conversion, days=days, aliases=tuple(aliases))


def _conversion(
    item: Mapping[object, object], at: str, is_last: bool, problems: _Problems
) -> Fraction | None:
    raw = item.get("conversion")
    if raw is None:
        return None
    if is_last:
        problems.warn(
            f"{at}.conversion", "the last stage is the won stage; its conversion is ignored"
        )
        return None
    try:
        rate = parse_rate(raw)
        check_rate(rate, raw)
    except ValueError as error:
        problems.error(f"{at}.conversion", str(error))
        return None
    return rate


def _days(raw: object, path: str, problems: _Problems) -> Fraction | None:
    if raw is None:
        return None
    try:
        days = parse_rate(raw) if not (isinstance(raw, str) and raw.strip().endswith("%")) else None
    except ValueError:
        days = None
    if days is None or days < 0:
        problems.error(path, f"must be a number of days, 0 or more (like 14), got {describe(raw)}")
        return None
    if days > MAX_DAYS:
        problems.error(
            path,
            f"must be at most {MAX_DAYS:,} days (100 years), got {_written(raw)}",
        )
        return None
    return days


def _labels(value: object, path: str, problems: _Problems, example: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        problems.error(path, f"expected a list of labels like {example}, got {describe(value)}")
        return []
    labels: list[str] = []
    for index, label in enumerate(value):
        if isinstance(label, str | int) and not isinstance(label, bool) and str(label).strip():
            labels.append(str(label).strip())
        else:
            problems.error(f"{path}[{index}]", f"expected a label (text), got {_not_text(label)}")
    return labels


def _check_rates_present(stages: list[_ParsedStage], problems: _Problems) -> None:
    """Rates are required on every stage but the last, unless no stage has one.

    A funnel with no rates at all is a report-only funnel (the report then ranks
    bottlenecks by revenue leak); ``plan`` refuses it with its own message.
    """
    body = stages[:-1]
    if not any(parsed.conversion_written for parsed in body):
        return
    for parsed in body:
        stage = parsed.stage
        if not parsed.conversion_written:
            problems.error(
                f"stages[{parsed.position}].conversion",
                f"missing for stage '{stage.name}'; give the rate to the next stage, like 0.35 or 35%",
            )


def _check_entered_stages(
    columns: Mapping[str, object], stages: list[_ParsedStage], problems: _Problems
) -> None:
    """``columns.entered`` names stages: each must be one (a name or an alias), as the
    report requires when it maps the columns (readers/columns.py), so that ``validate``
    refuses the file ``report`` would."""
    entered = columns.get("entered")
    if not isinstance(entered, Mapping) or not stages:
        return
    keys = {
        label_key(label)
        for parsed in stages
        for label in (parsed.stage.name, *parsed.stage.aliases)
    }
    names = ", ".join(parsed.stage.name for parsed in stages)
    for stage_name in entered:
        if label_key(str(stage_name)) not in keys:
            problems.error(
                f"columns.entered.{shown(stage_name)}",
                f"no stage of that name; the stages are: {names}",
            )


def _check_label_collisions(
    stages: list[_ParsedStage], lost_labels: list[str], problems: _Problems
) -> None:
    """One CRM label must mean one thing: a stage, or lost."""
    owner: dict[str, str] = {}
    for parsed in stages:
        index, stage = parsed.position, parsed.stage
        for position, label in enumerate((stage.name, *stage.aliases)):
            key = label_key(label)
            if not key:
                continue
            is_name = position == 0
            path = (
                f"stages[{index}].name" if is_name else f"stages[{index}].aliases[{position - 1}]"
            )
            taken_by = owner.get(key)
            # Names equal ignoring case were reported once already, as duplicate names.
            duplicate_name = (
                is_name and taken_by is not None and taken_by.casefold() == label.casefold()
            )
            if taken_by is not None and taken_by != stage.name and not duplicate_name:
                problems.error(
                    path,
                    f"'{label}' already means stage '{taken_by}'; a label can mean one stage only",
                )
            owner.setdefault(key, stage.name)
    for index, label in enumerate(lost_labels):
        key = label_key(label)
        if key in owner:
            problems.error(
                f"lost[{index}]",
                f"'{label}' already means stage '{owner[key]}'; remove it from one place",
            )


DEFAULT_FUNNEL_DATA: dict[str, object] = {
    "name": "B2B SaaS (built-in default)",
    "currency": "USD",
    "average_deal_value": 24000,
    "stages": [
        {
            "name": "Lead",
            "conversion": "25%",
            "days": 5,
            "aliases": ["New", "Inbound", "subscriber"],
        },
        {
            "name": "MQL",
            "conversion": "40%",
            "days": 7,
            "aliases": ["Marketing Qualified Lead", "marketingqualifiedlead"],
        },
        {
            "name": "SQL",
            "conversion": "50%",
            "days": 14,
            "aliases": ["Sales Qualified Lead", "qualifiedtobuy", "appointmentscheduled"],
        },
        {
            "name": "Opportunity",
            "conversion": "30%",
            "days": 30,
            "aliases": [
                "presentationscheduled",
                "decisionmakerboughtin",
                "contractsent",
                "Proposal",
                "Negotiation",
            ],
        },
        {"name": "Won", "aliases": ["Closed Won", "closedwon"]},
    ],
    "lost": list(DEFAULT_LOST_LABELS),
}
"""The funnel used when no file is given and ./funnel.yaml does not exist.

Rates are the commonly quoted B2B SaaS medians (lead to MQL 25%, MQL to SQL 40%,
SQL to opportunity 50%, opportunity to won 30%); aliases cover HubSpot's internal
stage names so that a default HubSpot export maps without a file.
"""


def default_funnel() -> Funnel:
    return build_funnel(DEFAULT_FUNNEL_DATA, "built-in default", is_default=True).funnel
