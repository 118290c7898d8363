"""A stage-history file -> every deal's timeline, joined to the deals of an export.

A stage history is a LONG table: one row per stage change, naming the deal (by id, by
name, or both), the stage, and the day of the change. Each used row becomes one event
``(date, stage index)``, with :data:`~funnelcli.deal_records.LOST` for a lost label; a deal's
events are sorted by time and the repeats of the stage it was already in are dropped.

Shapes read (columns are recognised by their headers, ignoring case and punctuation, as
in ``columns.py``; the funnel file's ``history_columns:`` mapping wins: history_columns.py):

Salesforce (Opportunity History report, or the OpportunityHistory object)
    ``Opportunity ID``, ``Opportunity Name``, ``From Stage``, ``To Stage``, ``Amount``,
    ``Probability (%)``, ``Close Date``, ``Last Modified``. A row says the opportunity
    moved to ``To Stage`` (``StageName`` in the object) on ``Last Modified``
    (``Edit Date``, ``CreatedDate`` of the history row). ``From Stage`` is informative:
    the previous row says the same. A row whose stage did not change (an amount or
    close-date edit) adds no event and is counted in ``unchanged``.
Zoho CRM (stage history file)
    ``Deal Name``, ``Stage``, ``Stage Duration (Calendar Days)``, ``Probability (%)``,
    ``Moved To``, ``Amount``, ``Expected Revenue``, ``Closing Date``, ``Modified By``,
    ``Modified Time``. Decision: a row says the deal ENTERED ``Stage`` at ``Modified
    Time`` (when the stage field was set to that value), stayed ``Stage Duration``
    days, and then moved to ``Moved To``, which is blank on the row of the current
    stage. So the event is ``(Modified Time, Stage)``, and ``Moved To`` is never the
    stage: it repeats the next row's ``Stage``. This is how Zoho's own Stage History
    list reads (its newest row is the current stage, and scripts take that row's
    modified time as the day the deal entered its current stage); reading ``Moved To``
    as the event would put every move one stage late and lose the first stage. The
    file has no deal id, so it is joined by name.
HubSpot (deal-stage property history)
    HubSpot's deals export carries stage history WIDE (``Date entered "<Stage>
    (<Pipeline>)"`` columns, read by ``columns.py``); a long file is the property
    history of ``dealstage`` (the record's history panel, or the API's
    ``propertiesWithHistory=dealstage``) flattened into one row per value: ``Record ID``, ``Deal Stage`` (the value: a label, or an internal
    value like ``appointmentscheduled`` or a custom pipeline's numeric stage id),
    ``timestamp`` (ISO 8601 in UTC, like ``2024-08-27T14:03:00.123Z``), and any other
    columns (``Source Type``), which are ignored. A row says the deal entered that
    stage at that time. The API lists the newest value first; that is handled below.
Generic long files
    ``deal_id`` (or a name), ``stage``, and a change date such as ``entered_at``,
    ``Date``, ``Changed At`` or ``timestamp``: a row says the deal entered the stage on
    that day.

Stage labels map to stages by name and aliases (``stage_lookup``), the funnel's
``lost:`` labels to LOST; an unknown label skips the row (``unknown_stage_label``: add
the label to a stage's ``aliases:``). Dates follow the deals export's rules
(``dates.py``): the time and zone are dropped, slash dates take the day/month order of
the whole column (a second pass over the file when the first rows do not settle it),
and ``--date-format`` wins.

Order: a deal's events are sorted by day, then by the time of day when the file writes
one, then by file order; for a file that lists each deal's changes newest first (the
HubSpot API, Zoho's list), ties keep the reverse of the file order, so two moves on
one day without a time still come out in the order they happened.

Accounting: rows read = rows used + rows skipped, each skip with a reason
(:data:`funnelcli.results.HISTORY_SKIP_REASONS`) and the first rows as examples. After the join,
:meth:`HistoryIndex.unmatched` counts the rows and deals no deal of the export asked
for, which the report must show: a history for deals the export lacks is never dropped
in silence.

Joining (:meth:`HistoryIndex.timeline_for`): by deal id when both the deal and the file
have one (Salesforce's 18-character ids are keyed by their 15-character form, since
reports show either); else by name, casefolded with spaces collapsed. A deal whose id
the file lacks gets no timeline rather than the one of another id under its name. A
name that more than one deal id uses in the file, or that two deals of the export share
(a Zoho file has names only), is ambiguous: it matches none of them, and each refused
deal is counted. The export's names are known before the join
(:meth:`HistoryIndex.refuse_shared_names`, a pass over the export's name column), so
which of two namesakes comes first in the file changes nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from funnelcli.dates import DayOrder, parse_date
from funnelcli.deal_records import LOST
from funnelcli.definition import Funnel, label_key
from funnelcli.errors import shown
from funnelcli.readers.cell_formats import (
    DATE_SAMPLE_ROWS,
    cell_text,
    first_rows,
    infer_date_orders,
    needs_full_date_scan,
    text_at,
)
from funnelcli.readers.columns import stage_lookup
from funnelcli.readers.history_columns import (
    HistoryColumns,
    guess_history_dialect,
    history_columns,
    history_header_score,
)
from funnelcli.readers.row_account import RowTally
from funnelcli.readers.tabular.read import read_table
from funnelcli.readers.tabular.table import Cell, ReadStats, Table

_SALESFORCE_ID = re.compile(r"006[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?").fullmatch
_CLOCK = re.compile(r"(?:T|\s)(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?\s*([AaPp])?")

Event = tuple[dt.date, int]
"""(day, stage index), or (day, LOST)."""

_Row = tuple[dt.date, int, int, int]
"""One used row while reading: (day, second of the day or -1, file row, stage)."""


@dataclass
class HistoryAccount(RowTally):
    """What happened to every data row of a history file, and to its deals after the join."""

    unknown_labels: Counter[str] = field(default_factory=Counter)  # by the first spelling
    unchanged: int = 0  # rows used that repeat the deal's stage (an amount edit): no event
    deals: int = 0
    ambiguous_lookups: int = 0  # deals refused a timeline because their name is ambiguous
    shared_name_deals: int = 0  # of those, deals of the export that share their name
    shared_names: list[str] = field(default_factory=list)  # those names, first spelling
    unmatched_rows: int = 0  # set by HistoryIndex.unmatched(): rows of no deal of the export
    unmatched_deals: int = 0
    shared_name_rows: int = 0  # set by unmatched() too: rows under a name deals share, unused
    stats: ReadStats = field(default_factory=ReadStats)  # blank and footer rows, not read
    _spellings: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def events(self) -> int:
        return self.used - self.unchanged

    def skip(self, reason: str, row: int, value: str) -> None:
        super().skip(reason, row, value)
        if reason == "unknown_stage_label":
            # Labels alike but for case and punctuation are one label: one alias fixes them.
            spelling = self._spellings.setdefault(label_key(value), value)
            self.unknown_labels[spelling] += 1


@dataclass
class HistoryIndex:
    """Every deal's timeline from one history file, and the join to an export's deals."""

    by_id: dict[str, list[Event]]
    by_name: dict[str, list[Event]]
    ambiguous_names: set[str]
    account: HistoryAccount
    source: str
    columns: HistoryColumns
    dialect: str
    header: tuple[str, ...] = ()  # the file's header row, for funnel inspect --history
    _name_owner: dict[str, str] = field(default_factory=dict, repr=False)  # name -> its id
    _rows: dict[str, int] = field(default_factory=dict, repr=False)  # deal -> rows used
    _matched: set[str] = field(default_factory=set, repr=False)
    _claims: dict[str, str] = field(default_factory=dict, repr=False)  # name -> asking id
    _shared: set[str] | None = field(default=None, repr=False)  # set by refuse_shared_names

    def timeline_for(self, deal_id: str | None, deal_name: str | None) -> tuple[Event, ...] | None:
        """The deal's events, by id first, else by name; None when the file has none.

        A deal with an id is looked up by id alone when the file has ids: another id
        under the same name is another deal, whose history it must not take.
        """
        if deal_id and self.columns.deal_id is not None:
            key = deal_id_key(deal_id)
            events = self.by_id.get(key)
            if events is None:
                return None
            self._matched.add(key)
            return tuple(events)
        if not deal_name:
            return None
        key = name_key(deal_name)
        ambiguous = key in self.ambiguous_names
        events = None if ambiguous else self.by_name.get(key)
        if events is not None and deal_id and self._claimed_by_another(key, deal_id):
            self.ambiguous_names.add(key)
            ambiguous, events = True, None
        if ambiguous and (self._shared is None or key not in self._shared):
            self.account.ambiguous_lookups += 1  # the shared names were counted by deal
        if events is None:
            return None
        self._matched.add(self._name_owner.get(key, key))
        return tuple(events)

    def _claimed_by_another(self, key: str, deal_id: str) -> bool:
        """Whether a deal of another id already took this name's history."""
        claimant = self._claims.setdefault(key, deal_id_key(deal_id))
        return claimant != deal_id_key(deal_id)

    @property
    def joins_by_name(self) -> bool:
        """Whether a deal of the export can join by name (the file has names to join)."""
        return bool(self.by_name) and self._shared is None

    def refuse_shared_names(
        self, rows: Iterable[Sequence[Cell]], id_column: int | None, name_column: int | None
    ) -> None:
        """Before the join: a name two deals of the export share joins neither of them.

        ``rows`` are the export's data rows. A deal joined by name (no id, or a history
        without ids) whose name another deal of the export (another id, or any other row
        when the export has no ids) also has gets no timeline, whichever comes first.
        Only names the history holds are kept, so memory follows the history's size.
        Once per index: a second read of the same export (--compare-to) changes nothing.
        """
        if self._shared is not None:
            return
        self._shared = set()
        if name_column is None or not self.by_name:
            return
        joined_by_id = self.columns.deal_id is not None
        deals: dict[str, set[str]] = {}
        written: dict[str, str] = {}
        for number, cells in enumerate(rows):
            deal_id = text_at(cells, id_column)
            if deal_id and joined_by_id:
                continue  # joined by its id: its name does not matter
            name = text_at(cells, name_column)
            key = name_key(name)
            if not key or key not in self.by_name:
                continue
            # A row without an id is a deal of its own; rows of one id are one deal.
            deals.setdefault(key, set()).add(deal_id_key(deal_id) if deal_id else f"#{number}")
            written.setdefault(key, name)
        shared = [key for key, ids in deals.items() if len(ids) > 1]
        self._shared.update(shared)
        self.ambiguous_names.update(shared)
        count = sum(len(deals[key]) for key in shared)
        self.account.shared_name_deals = count
        self.account.ambiguous_lookups += count
        self.account.shared_names = [written[key] for key in shared]

    def mark_ambiguous(self, deal_name: str) -> None:
        """A name the caller knows several deals share: it will match none of them."""
        self.ambiguous_names.add(name_key(deal_name))

    def unmatched(self) -> tuple[int, int]:
        """(history rows, distinct deals) no ``timeline_for`` call matched; also on ``account``.

        Rows under a name that deals of the export share are not among them: they match
        deals of the export, refused as ambiguous, and are counted apart
        (``account.shared_name_rows``), so no row is said twice nor dropped in silence.
        """
        shared = {self._name_owner.get(key, key) for key in self._shared or ()}
        rows = deals = shared_rows = 0
        for key, count in self._rows.items():
            if key in self._matched:
                continue
            if key in shared:
                shared_rows += count
            else:
                rows += count
                deals += 1
        self.account.unmatched_rows, self.account.unmatched_deals = rows, deals
        self.account.shared_name_rows = shared_rows
        return rows, deals


def deal_id_key(deal_id: str) -> str:
    """How deal ids are compared: stripped; a Salesforce id by its 15-character form."""
    text = deal_id.strip()
    return text[:15] if _SALESFORCE_ID(text) else text


def name_key(deal_name: str) -> str:
    """How deal names are compared: casefolded, runs of spaces as one, stripped."""
    return " ".join(deal_name.casefold().split())


def read_history(
    path: str | os.PathLike[str],
    funnel: Funnel,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
    columns_override: Mapping[str, str] | None = None,
) -> HistoryIndex:
    """Read a whole stage-history file (twice when slash dates need their order settled)."""
    builder = _read(_Builder, path, funnel, sheet, encoding, date_format, columns_override)
    return builder.finish(builder.source, guess_history_dialect(builder.headers))


def label_sequences(
    path: str | os.PathLike[str],
    funnel: Funnel,
    *,
    encoding: str | None = None,
    date_format: str | None = None,
    columns_override: Mapping[str, str] | None = None,
) -> tuple[tuple[str, ...], ...]:
    """Each deal's stage labels in the order it entered them, whatever the funnel knows:
    the evidence a funnel is inferred from (``inference.py``). Rows are read and ordered
    as :func:`read_history` does; the labels are kept as first written."""
    builder = _read(_LabelBuilder, path, funnel, None, encoding, date_format, columns_override)
    index = builder.finish(builder.source, guess_history_dialect(builder.headers))
    timelines = index.by_id.values() if index.by_id else index.by_name.values()
    return tuple(
        tuple(builder.labels[stage] for _, stage in events if stage >= 0) for events in timelines
    )


BuilderT = TypeVar("BuilderT", bound="_Builder")


def _read(
    kind: type[BuilderT],
    path: str | os.PathLike[str],
    funnel: Funnel,
    sheet: str | None,
    encoding: str | None,
    date_format: str | None,
    columns_override: Mapping[str, str] | None,
) -> BuilderT:
    """Every row of the file through a builder of ``kind``, dates in the file's order."""
    with _open(path, sheet, encoding) as table:
        columns = history_columns(table.header, funnel, table.source, columns_override)
        sample, rows = first_rows(table, DATE_SAMPLE_ROWS)
        order = None
        if date_format is None and needs_full_date_scan(
            [cells for _, cells in sample], [columns.changed]
        ):
            order = _column_order(path, table, sheet, encoding, columns.changed)
        builder = kind(funnel, columns, table.header, order, date_format)
        for number, cells in rows:
            builder.add(number, cells)
        builder.account.stats = table.stats
        builder.source = table.source
    return builder


def _open(path: str | os.PathLike[str], sheet: str | None, encoding: str | None) -> Table:
    return read_table(path, sheet=sheet, encoding=encoding, header_score=history_header_score)


def _column_order(
    path: str | os.PathLike[str],
    table: Table,
    sheet: str | None,
    encoding: str | None,
    column: int,
) -> DayOrder | None:
    """The day/month order of the change dates, from every value of the column.

    The detected encoding is named again, except the cp1252 fallback, which as a given
    encoding would be strict (see ``export.reopen_options``).
    """
    if encoding is None and table.encoding not in (None, "cp1252"):
        encoding = table.encoding
    with _open(path, sheet, encoding) as scan:
        cells = (row for _, row in scan.rows)
        return infer_date_orders(cells, [column], scan.header, table.source)[column]


# --- rows --------------------------------------------------------------------


class _Skip(Exception):
    def __init__(self, reason: str, value: str) -> None:
        self.reason = reason
        self.value = value


class _Builder:
    """Collects one small tuple per used row, then sorts them into timelines."""

    def __init__(
        self,
        funnel: Funnel,
        columns: HistoryColumns,
        headers: Sequence[str],
        order: DayOrder | None,
        date_format: str | None,
    ) -> None:
        self.columns = columns
        self.account = HistoryAccount()
        self.source = ""  # the file's name as messages give it, once read
        self._date_header = headers[columns.changed]
        self.headers = tuple(headers)
        self._order = order
        self._date_format = date_format
        self._lookup = stage_lookup(funnel)
        self._lost = frozenset(label_key(label) for label in funnel.lost_labels)
        self._stages: dict[str, int | tuple[str, str]] = {}  # label -> stage, or (reason, value)
        self._rows: dict[str, list[_Row]] = {}  # deal key -> its rows, in file order
        self._name_owner: dict[str, str] = {}  # name key -> the first id using it
        self._ambiguous: set[str] = set()

    def add(self, number: int, cells: tuple[Cell, ...]) -> None:
        self.account.read += 1
        try:
            key, name = self._deal(cells)
            stage = self._stage(cell_text(cells[self.columns.stage]))
            day, second = self._date(cells[self.columns.changed])
        except _Skip as skip:
            self.account.skip(skip.reason, number, skip.value)
            return
        self.account.used += 1
        self._rows.setdefault(key, []).append((day, second, number, stage))
        if name and self.columns.deal_id is not None:
            owner = self._name_owner.setdefault(name, key)
            if owner != key:
                self._ambiguous.add(name)

    def _deal(self, cells: tuple[Cell, ...]) -> tuple[str, str]:
        """(the deal's key, its name key or ''): by id when the file has ids, else by name."""
        id_column, name_column = self.columns.deal_id, self.columns.deal_name
        name = name_key(cell_text(cells[name_column])) if name_column is not None else ""
        key = deal_id_key(cell_text(cells[id_column])) if id_column is not None else name
        if not key:
            found = (cell_text(cells[self.columns.stage]), cell_text(cells[self.columns.changed]))
            raise _Skip("missing_deal", ", ".join(value for value in found if value))
        return key, name

    def _stage(self, label: str) -> int:
        stage = self._stages.get(label)
        if stage is None:
            stage = self._stages[label] = self._decide(label)
        if isinstance(stage, tuple):
            raise _Skip(*stage)  # a new exception each time: a raised one keeps its traceback
        return stage

    def _decide(self, label: str) -> int | tuple[str, str]:
        key = label_key(label)
        if not key:
            return ("missing_stage", "")
        if key in self._lost:
            return LOST
        stage = self._lookup.get(key)
        return ("unknown_stage_label", label) if stage is None else stage

    def _date(self, raw: Cell) -> tuple[dt.date, int]:
        try:
            day = parse_date(raw, self._order, self._date_format)
        except ValueError as error:
            value = f"{shown(raw)} in '{self._date_header}' ({error})"
            raise _Skip("unreadable_date", value) from None
        if day is None:
            raise _Skip("missing_date", "")
        return day, _second_of_day(raw)

    def finish(self, source: str, dialect: str) -> HistoryIndex:
        backwards = self._newest_first()
        timelines: dict[str, list[Event]] = {}
        counts: dict[str, int] = {}
        for key, rows in self._rows.items():
            rows.sort(key=lambda row: (row[0], row[1], -row[2] if backwards else row[2]))
            events: list[Event] = []
            for day, _, _, stage in rows:
                if events and events[-1][1] == stage:
                    self.account.unchanged += 1
                else:
                    events.append((day, stage))
            timelines[key] = events
            counts[key] = len(rows)
        self._rows.clear()
        self.account.deals = len(timelines)
        if self.columns.deal_id is None:
            return self._index(source, dialect, {}, timelines, {}, counts)
        by_name = {
            name: timelines[owner]
            for name, owner in self._name_owner.items()
            if name not in self._ambiguous
        }
        return self._index(source, dialect, timelines, by_name, dict(self._name_owner), counts)

    def _index(
        self,
        source: str,
        dialect: str,
        by_id: dict[str, list[Event]],
        by_name: dict[str, list[Event]],
        name_owner: dict[str, str],
        counts: dict[str, int],
    ) -> HistoryIndex:
        return HistoryIndex(
            by_id=by_id,
            by_name=by_name,
            ambiguous_names=set(self._ambiguous),
            account=self.account,
            source=source,
            columns=self.columns,
            dialect=dialect,
            header=tuple(self.headers),
            _name_owner=name_owner,
            _rows=counts,
        )

    def _newest_first(self) -> bool:
        """Whether the file lists each deal's changes newest first, more often than not."""
        rising = falling = 0
        for rows in self._rows.values():
            for earlier, later in itertools.pairwise(rows):
                if earlier[:2] < later[:2]:
                    rising += 1
                elif earlier[:2] > later[:2]:
                    falling += 1
        return falling > rising


class _LabelBuilder(_Builder):
    """A :class:`_Builder` that numbers every label it meets instead of mapping it to a
    funnel's stage: the timelines it makes hold label numbers (``labels[number]``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.labels: list[str] = []
        self._numbers: dict[str, int] = {}

    def _decide(self, label: str) -> int | tuple[str, str]:
        key = label_key(label)
        if not key:
            return ("missing_stage", "")
        if key not in self._numbers:
            self._numbers[key] = len(self.labels)
            self.labels.append(label)
        return self._numbers[key]


def _second_of_day(raw: Cell) -> int:
    """The time of day a date cell writes, in seconds; -1 when it writes none."""
    if isinstance(raw, dt.datetime):
        return raw.hour * 3600 + raw.minute * 60 + raw.second
    if isinstance(raw, float):
        return round((raw - math.floor(raw)) * 86400)
    if isinstance(raw, str) and (clock := _CLOCK.search(raw)) is not None:
        hour, minute, second, meridiem = clock.groups()
        hours = int(hour) % 12 + (12 if meridiem in ("P", "p") else 0) if meridiem else int(hour)
        return hours * 3600 + int(minute) * 60 + int(second or 0)
    return -1
