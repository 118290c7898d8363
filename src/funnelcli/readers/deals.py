"""Rows of an export -> :class:`~funnelcli.deal_records.Deal` records, with every row accounted for.

rows read = rows used + rows skipped, and each skip has a reason (the keys of
:data:`funnelcli.results.SKIP_REASONS`) with the first few row numbers and values as examples
(the accounting is readers/row_account.py; how the cells are written, readers/cell_formats.py).

Outcome: a status column (Pipedrive ``Won``/``Lost``/``Open``), or Salesforce/HubSpot
``Won``/``Closed`` flags, decide it when present; the stage column then says how far the
deal got. Without them the stage label decides: the won stage's name or aliases mean
won, a ``lost:`` label means lost, any other stage means open.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

from funnelcli.dates import parse_date
from funnelcli.deal_records import Deal, DealRow, Outcome, deal_row, new_deal_row
from funnelcli.definition import COLUMN_FIELDS, Funnel, label_key
from funnelcli.money import MAX_AMOUNT, parse_money
from funnelcli.readers.cell_formats import DateColumns, cell_text, flag_value
from funnelcli.readers.columns import ColumnMap, stage_lookup
from funnelcli.readers.row_account import ID_BATCH, RepeatedIds, RowAccount, compiled_module
from funnelcli.readers.tabular.table import Cell, Table
from funnelcli.segments import cohort_of
from funnelcli.vocabulary import outcome_word

_FIELDS_READ = tuple(name for name in COLUMN_FIELDS if name not in ("created", "closed"))
"""The columns read as text (the dates are read by column: cell_formats.date_columns)."""

_STATUS = {"won": Outcome.WON, "lost": Outcome.LOST, "open": Outcome.OPEN}

_DECISION_CACHE_SIZE = 10_000
ROW_BATCH = 2048
"""Deals handed to the report builder at a time by the fast lane."""


@dataclass(frozen=True)
class _Skipped:
    reason: str
    value: str


_MISS: Any = object()
"""Not in the fast lane's caches."""


class _NotFast(Exception):
    """A cell the fast lane does not read: the row goes the general way."""


class _Skip(Exception):
    def __init__(self, reason: str, value: str) -> None:
        self.reason = reason
        self.value = value


@dataclass(frozen=True)
class Slicing:
    """Which rows count (filters) and how deals are grouped (segment column, cohort period).

    ``where`` pairs a column index with a value compared ignoring case and surrounding
    spaces; ``--pipeline NAME`` is a ``where`` on the pipeline column.
    """

    where: tuple[tuple[int, str], ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    segment_column: int | None = None
    cohort: str | None = None  # "month" or "quarter"

    @property
    def filters_dates(self) -> bool:
        return self.since is not None or self.until is not None


class TimelineSource(Protocol):
    """A stage-history file, joined to deals by id, else by name (readers/history.py)."""

    def timeline_for(
        self, deal_id: str | None, deal_name: str | None
    ) -> tuple[tuple[dt.date, int], ...] | None: ...

    @property
    def joins_by_name(self) -> bool: ...

    def refuse_shared_names(
        self, rows: Iterable[Sequence[Cell]], id_column: int | None, name_column: int | None
    ) -> None: ...


class LaneColumns(NamedTuple):
    """Column indexes (None: no such column) for the compiled lane: see lane_columns."""

    decision: tuple[int, ...]  # stage, status, won and closed flags: the decision's cells
    pipeline: int | None
    amount: int | None
    currency: int | None
    id: int | None
    name: int | None
    owner: int | None
    segment: int | None
    created: int | None
    closed: int | None
    entered: tuple[int | None, ...]  # per stage; () without stage-entered dates
    fx_codes: tuple[str, ...]  # currencies converted at the funnel's rate


class DealReader:
    """Turns a table's rows into deals; ``account`` says what happened to each row."""

    def __init__(
        self,
        table: Table,
        funnel: Funnel,
        columns: ColumnMap,
        dates: DateColumns,
        slicing: Slicing | None = None,
        history: TimelineSource | None = None,
        rebuild_as_of: dt.date | None = None,
        decimal_comma: bool = False,
    ) -> None:
        """``history`` joins each deal to its stage history; with ``rebuild_as_of`` too,
        each deal is rebuilt as it stood on that day (deal_records.deal_as_of). ``decimal_comma``:
        the amount column writes decimal commas (see :func:`infer_decimal_comma`)."""
        self.table = table
        self.decimal_comma = decimal_comma
        self.slicing = slicing or Slicing()
        self.history = history
        self.rebuild_as_of = rebuild_as_of
        self.funnel = funnel
        self.columns = columns
        self.dates = dates
        self.account = RowAccount()
        self._stages = stage_lookup(funnel)
        self._lost = frozenset(label_key(label) for label in funnel.lost_labels)
        self._last = len(funnel.stages) - 1
        self._entered = _entered_by_stage(columns, len(funnel.stages))
        self._fx = {code: Decimal(rate) for code, rate in funnel.fx.items()}
        # Column indexes resolved once: the per-row path only indexes tuples.
        self._created = columns.get("created")
        self._closed = columns.get("closed")
        self._field_index = {name: columns.get(name) for name in _FIELDS_READ}
        self._decision_columns = tuple(
            self._field_index[name] for name in ("stage", "status", "won_flag", "closed_flag")
        )
        self._decisions: dict[tuple[Cell, ...], tuple[Outcome, int | None, str] | _Skipped] = {}
        self._id_column = self._field_index["id"]
        self._name_column = self._field_index["name"]
        self._owner_column = self._field_index["owner"]
        self._currency_column = self._field_index["currency"]
        self._amount_column = self._field_index["amount"]
        # A row that repeats the header (pages of an export pasted together) is skipped;
        # its first cell is tested first, so other rows cost one comparison.
        self._header = table.header
        self._header_first = table.header[0] if table.header else None
        self.defer_repeats = False
        """Leave repeated deal ids to a read that settles them: note ids as hashes (or,
        without the compiled module, raise :class:`RepeatedIds` at a repeat). Set for any
        read but the settling one (readers/export.py)."""
        self._hashes_ids = compiled_module() is not None
        self.lane_notes_ids = False
        """Set while the compiled lane reads, which notes the ids of the rows it hands over
        itself (readers/lane.py)."""
        self._iso_cache: dict[str, dt.date] = {}
        self._fast_days: dict[str, dt.date] = {}  # date parts of valid ISO cells
        self._fast_times: set[str] = {""}  # what may follow a valid day: " HH:MM[:SS]", or nothing

    def deals(self, rows: Iterator[tuple[int, tuple[Cell, ...]]] | None = None) -> Iterator[Deal]:
        pipeline = self._field_index["pipeline"]
        account = self.account
        for number, cells in rows if rows is not None else self.table.rows:
            account.read += 1
            if pipeline is not None:
                account.pipelines[cell_text(cells[pipeline]) or "(blank)"] += 1
            if self._skipped_early(number, cells):
                continue
            deal = self._counted_deal(number, cells)
            if deal is not None:
                yield deal

    def _counted_deal(self, number: int, cells: tuple[Cell, ...]) -> Deal | None:
        """The row's deal, or None when it is filtered out or skipped (and accounted for).

        The row is already counted as read, and its pipeline tallied."""
        slicing = self.slicing
        where = slicing.where
        account = self.account
        if where and not all(cell_text(cells[index]).casefold() == value for index, value in where):
            account.filtered["where"] += 1
            return None
        try:
            deal = self._deal(number, cells)
        except _Skip as skip:
            account.skip(skip.reason, number, skip.value)
            if skip.reason == "unknown_stage_label":
                account.unknown_label(number, skip.value)
            return None
        if self.history is not None:
            joined = self._with_history(deal, cells)
            if joined is None:
                return None
            deal = joined
        if slicing.filters_dates and not self._in_range(deal):
            return None
        if slicing.segment_column is not None:
            deal.segment = cell_text(cells[slicing.segment_column]) or "(blank)"
        if slicing.cohort is not None:
            deal.cohort = cohort_of(deal.created, slicing.cohort)
        account.used += 1
        return deal

    def _skipped_early(self, number: int, cells: tuple[Cell, ...]) -> bool:
        """Skip (and account for) a row that repeats the header, or an earlier row."""
        if cell_text(cells[0]) == self._header_first and self._repeats_header(cells):
            self.account.skip("repeated_header", number, cell_text(cells[0]))
            return True
        return self._id_column is not None and self.repeats_earlier_row(number, cells)

    def repeats_earlier_row(self, number: int, cells: tuple[Cell, ...]) -> bool:
        """Whether the row repeats an earlier row of the same deal id, and is skipped.

        The rule: a deal id is one deal, counted once, from its first row. A later row
        with the id and the cells of an earlier row (pages of an export that overlap) is
        skipped as its duplicate; one with the id but other cells (pages taken while the
        deal changed) is skipped too, said apart with both rows, since the report cannot
        know which is right (--strict refuses both). Rows without an id are not compared."""
        assert self._id_column is not None
        deal_id = cell_text(cells[self._id_column])
        if not deal_id:
            return False
        if self.defer_repeats and self._hashes_ids:
            if not self.lane_notes_ids:  # a repeat is found when the ids are hashed
                batch = self.account.id_batch
                batch.append(deal_id)
                if len(batch) >= ID_BATCH:
                    self.account.flush_ids()
            return False
        content = hash(cells)
        first = self.account.ids.setdefault(deal_id, (number, content))
        if first[0] == number:
            return False
        if self.defer_repeats:
            raise RepeatedIds
        if first[1] != content:
            self.account.skip("conflicting_duplicate", number, f"{deal_id}, row {first[0]} used")
        else:
            self.account.skip("duplicate", number, f"{deal_id}, duplicate of row {first[0]}")
        return True

    def _repeats_header(self, cells: tuple[Cell, ...]) -> bool:
        header = self._header
        return len(cells) == len(header) and all(
            cell_text(cell) == name for cell, name in zip(cells, header, strict=True)
        )

    def deal_rows(
        self, rows: Iterator[tuple[int, tuple[Cell, ...]]], batch_size: int = ROW_BATCH
    ) -> Iterator[list[DealRow]]:
        """The deals as :class:`~funnelcli.deal_records.DealRow` tuples, in batches: the fast lane.

        The same deals, in the same order, with the same accounting as :meth:`deals`.
        A row whose cells all take a fast path (a cached stage decision, an empty, plain
        or US-grouped amount, empty or plain ISO dates, text cells) is read in place; any
        other row (and every row under --where, --since/--until or --date-format) goes
        through :meth:`deals`'s own code, which also says why a row is skipped. Not for
        a read with a history file: those deals need timelines.
        """
        if self.history is not None:
            raise ValueError("deal_rows() reads no history; use deals()")
        slicing = self.slicing
        # A CSV's cells are all text, which the fast paths take for granted; XLSX cells
        # come typed (numbers, dates) and go the general way.
        general_only = (
            self.table.kind != "csv"
            or bool(slicing.where)
            or slicing.filters_dates
            or bool(self.dates.date_format)
        )
        pipeline = self._field_index["pipeline"]
        present = tuple(index for index in self._decision_columns if index is not None)
        decision_key = operator.itemgetter(*present) if present else None
        decisions: dict[object, tuple[Outcome, int | None, str]] = {}
        amount_index, currency_index = self._amount_column, self._currency_column
        # A column of decimal commas goes the general way: the fast path reads 2.500 as 2.5.
        fast_amount = _no_fast_amount if self.decimal_comma else _FAST_AMOUNT
        id_index, name_index, owner_index = self._id_column, self._name_column, self._owner_column
        created_index, closed_index = self._created, self._closed
        segment_index, cohort = slicing.segment_column, slicing.cohort
        entered_columns = self._entered
        funnel_currency, fx = self.funnel.currency, self._fx
        date_of = self._fast_date
        days_get: Any = self._fast_days.get  # str -> date, or the _MISS given
        times = self._fast_times
        entered_getter = (
            operator.itemgetter(*(columns[0] for columns in entered_columns))
            if len(entered_columns) > 1 and all(len(columns) == 1 for columns in entered_columns)
            else None
        )
        cells: Any  # a CSV row: text cells only (see general_only)
        batch: list[DealRow] = []
        raw_pipelines: dict[Cell, int] = {}
        read = used = 0
        skipped_early = self._skipped_early
        for number, cells in rows:
            read += 1
            if pipeline is not None:
                raw = cells[pipeline]
                raw_pipelines[raw] = raw_pipelines.get(raw, 0) + 1
            if skipped_early(number, cells):
                continue
            try:
                if general_only or decision_key is None:
                    raise _NotFast
                key = decision_key(cells)
                decided = decisions.get(key)
                if decided is None:
                    found = self._decide(cells)
                    if isinstance(found, _Skipped):
                        raise _NotFast
                    decided = found
                    if len(decisions) < _DECISION_CACHE_SIZE:
                        decisions[key] = decided
                outcome, stage, _ = decided
                # The amount: empty, plain (1234.5) or US-grouped (1,234.50), nothing else.
                currency = funnel_currency
                if amount_index is None:
                    amount = None
                else:
                    raw = cells[amount_index]
                    if not raw:
                        amount = None
                    elif fast_amount(raw) is not None:
                        amount = Decimal(raw.replace(",", ""))
                        if amount > MAX_AMOUNT:
                            raise _NotFast
                    else:
                        raise _NotFast
                if currency_index is not None:
                    code = cells[currency_index]
                    currency = code.strip().upper() or funnel_currency
                    if amount is not None and currency != funnel_currency and currency in fx:
                        amount, currency = amount * fx[currency], funnel_currency
                # Dates: a cached day whose time of day was seen before, else _fast_date.
                created = closed = None
                if created_index is not None and (raw := cells[created_index]):
                    created = days_get(raw[:10], _MISS) if raw[10:] in times else _MISS
                    if created is _MISS:
                        created = date_of(raw)
                if closed_index is not None and (raw := cells[closed_index]):
                    closed = days_get(raw[:10], _MISS) if raw[10:] in times else _MISS
                    if closed is _MISS:
                        closed = date_of(raw)
                entered: list[Any] | None = None
                if entered_getter is not None:  # one column per stage: the usual case
                    raws = entered_getter(cells)
                    entered = [
                        (days_get(raw[:10], _MISS) if raw[10:] in times else _MISS) if raw else None
                        for raw in raws
                    ]
                    if _MISS in entered:
                        entered = [date_of(raw) for raw in raws]
                elif entered_columns:
                    entered = []
                    for stage_columns in entered_columns:
                        day = None
                        for index in stage_columns:
                            if raw := cells[index]:
                                day = date_of(raw)
                                break
                        entered.append(day)
                identifier = cells[id_index].strip() if id_index is not None else ""
                if not identifier and name_index is not None:
                    identifier = cells[name_index].strip()
                owner = cells[owner_index].strip() if owner_index is not None else ""
                segment = None
                if segment_index is not None:
                    segment = cells[segment_index].strip() or "(blank)"
                batch.append(
                    new_deal_row(
                        (
                            number,
                            outcome,
                            stage,
                            identifier or None,
                            owner or None,
                            amount,
                            currency,
                            created,
                            closed,
                            entered,
                            segment,
                            cohort_of(created, cohort) if cohort is not None else None,
                        )
                    )
                )
                used += 1
            except _NotFast:
                deal = self._counted_deal(number, cells)
                if deal is not None:
                    batch.append(deal_row(deal))
            if len(batch) >= batch_size:
                self.account.count_rows(read, used, raw_pipelines)
                raw_pipelines.clear()
                read = used = 0
                yield batch
                batch = []
        self.account.count_rows(read, used, raw_pipelines)
        if batch:
            yield batch

    def lane_columns(self) -> LaneColumns | None:
        """The columns the compiled lane (readers/lane.py) reads, or None when this read
        needs what only Python does: the rows deal_rows sends the general way wholesale
        (XLSX, --where/--pipeline, --since/--until, --date-format), a timeline, --cohort,
        or a stage whose date is in more than one column."""
        slicing = self.slicing
        if (
            self.history is not None
            or self.table.kind != "csv"
            or slicing.where
            or slicing.filters_dates
            or self.dates.date_format
            or slicing.cohort is not None
            or any(len(columns) > 1 for columns in self._entered)
            or self.decimal_comma  # the lane reads 2.500 as 2.5
        ):
            return None
        decision = tuple(index for index in self._decision_columns if index is not None)
        if not decision:
            return None
        return LaneColumns(
            decision=decision,
            pipeline=self._field_index["pipeline"],
            amount=self._amount_column,
            currency=self._currency_column,
            id=self._id_column,
            name=self._name_column,
            owner=self._owner_column,
            segment=slicing.segment_column,
            created=self._created,
            closed=self._closed,
            entered=tuple(columns[0] if columns else None for columns in self._entered),
            fx_codes=tuple(self._fx),
        )

    def cacheable_decision(self, cells: tuple[Cell, ...]) -> tuple[Outcome, int | None] | None:
        """The outcome and stage the row's decision cells give, as deal_rows caches them;
        None when they make the row a skipped one (never cached)."""
        found = self._decide(cells)
        return None if isinstance(found, _Skipped) else found[:2]

    def _fast_date(self, raw: Cell) -> dt.date | None:
        """An empty cell or a plain ISO date (``2024-08-27[ 14:03[:05]]``); else _NotFast.

        The day and the time-of-day part are each checked once and cached: an export
        repeats both thousands of times. The same days as :meth:`_date` gives.
        """
        if not raw:
            return None
        if raw.__class__ is not str:
            raise _NotFast
        text: str = raw
        day = self._fast_days.get(text[:10])
        if day is None:
            if _ISO_FAST(text) is None or len(self._fast_days) >= _ISO_CACHE_SIZE:
                raise _NotFast
            try:
                day = parse_date(text[:10])
            except ValueError:
                raise _NotFast from None
            if day is None:
                raise _NotFast
            self._fast_days[text[:10]] = day
            if len(text) > 10:
                self._fast_times.add(text[10:])
        elif len(text) > 10:
            time = text[10:]
            if time not in self._fast_times:
                if _TIME_OF_DAY(time) is None or len(self._fast_times) >= _ISO_CACHE_SIZE:
                    raise _NotFast
                self._fast_times.add(time)
        return day

    def _with_history(self, deal: Deal, cells: tuple[Cell, ...]) -> Deal | None:
        """The deal with its timeline, rebuilt as of --as-of; None when created after it."""
        assert self.history is not None
        deal_id = cell_text(cells[self._id_column]) if self._id_column is not None else ""
        name = cell_text(cells[self._name_column]) if self._name_column is not None else ""
        deal.timeline = self.history.timeline_for(deal_id or None, name or None)
        if self.rebuild_as_of is not None:
            from funnelcli.deal_records import deal_as_of

            rebuilt = deal_as_of(deal, self.rebuild_as_of)
            if rebuilt is None:
                self.account.filtered["created_after_as_of"] += 1
                return None
            deal = rebuilt
        if deal.timeline is None:
            self.account.without_history += 1  # only deals the report uses
        return deal

    def _in_range(self, deal: Deal) -> bool:
        since, until = self.slicing.since, self.slicing.until
        if deal.created is None:
            self.account.filtered["no_created_date"] += 1
            return False
        if (since is not None and deal.created < since) or (
            until is not None and deal.created > until
        ):
            self.account.filtered["date_range"] += 1
            return False
        return True

    def _cell(self, cells: tuple[Cell, ...], name: str) -> Cell:
        index = self._field_index[name]
        if index is None or index >= len(cells):
            return None
        return cells[index]

    def _deal(self, number: int, cells: tuple[Cell, ...]) -> Deal:
        # Rows are padded to the header's width, so a known column index is always valid.
        decision_key = tuple(
            cells[index] if index is not None else None for index in self._decision_columns
        )
        decided = self._decisions.get(decision_key)
        if decided is None:
            decided = self._decide(cells)
            if len(self._decisions) < _DECISION_CACHE_SIZE:
                self._decisions[decision_key] = decided
        if isinstance(decided, _Skipped):
            raise _Skip(decided.reason, decided.value)
        outcome, stage, label = decided
        amount, currency = self._amount(cells)
        created = self._date(cells, self._created)
        closed = self._date(cells, self._closed)
        entered = self._entered_dates(cells) if self._entered else None
        index = self._id_column
        identifier = cell_text(cells[index]) if index is not None else ""
        if not identifier and self._name_column is not None:
            identifier = cell_text(cells[self._name_column])
        owner = cell_text(cells[self._owner_column]) if self._owner_column is not None else ""
        return Deal(
            row=number,
            outcome=outcome,
            stage=stage,
            label=label,
            id=identifier or None,
            owner=owner or None,
            amount=amount,
            currency=currency,
            created=created,
            closed=closed,
            entered=entered,
        )

    def _decide(self, cells: tuple[Cell, ...]) -> tuple[Outcome, int | None, str] | _Skipped:
        """Outcome and stage from the stage, status and flag cells (cached: few distinct values)."""
        label = cell_text(self._cell(cells, "stage"))
        try:
            outcome, stage = self._outcome_and_stage(cells, label)
        except _Skip as skip:
            return _Skipped(skip.reason, skip.value)
        return outcome, stage, label

    def _outcome_and_stage(self, cells: tuple[Cell, ...], label: str) -> tuple[Outcome, int | None]:
        stated = self._stated_outcome(cells)
        key = label_key(label)
        if not key:
            if stated is Outcome.WON:
                return Outcome.WON, self._last
            if stated is Outcome.LOST:
                # Lost, and the export does not say where: a loss at an unknown stage
                # (report.py, lost_unknown_stage), not a row to leave out of the win rate.
                return Outcome.LOST, None
            raise _Skip("missing_stage", "")
        if key in self._lost:
            if stated in (Outcome.WON, Outcome.OPEN):
                raise _Skip("status_conflict", f"{label} / {stated.value}")
            return Outcome.LOST, None
        stage = self._stages.get(key)
        if stage is None:
            raise _Skip("unknown_stage_label", label)
        if stage == self._last:
            if stated in (Outcome.LOST, Outcome.OPEN):
                raise _Skip("status_conflict", f"{label} / {stated.value}")
            return Outcome.WON, stage
        if stated is None:
            return Outcome.OPEN, stage
        return stated, stage

    def _stated_outcome(self, cells: tuple[Cell, ...]) -> Outcome | None:
        """What a status column or won/closed flags say; None when they say nothing."""
        status = cell_text(self._cell(cells, "status"))
        if status:
            key = label_key(status)
            if key == "deleted":
                raise _Skip("deleted", status)
            word = outcome_word(status)  # in any of the languages vocabulary knows
            if word is not None:
                return _STATUS[word]
            if key in self._lost:
                return Outcome.LOST
            if key in self._stages and self._stages[key] == self._last:
                return Outcome.WON
            raise _Skip("unknown_status", status)
        won = flag_value(self._cell(cells, "won_flag"))
        closed = flag_value(self._cell(cells, "closed_flag"))
        if won is True:
            return Outcome.WON
        if closed is True:
            return Outcome.LOST
        if closed is False:
            return Outcome.OPEN
        return None

    def _amount(self, cells: tuple[Cell, ...]) -> tuple[Decimal | None, str]:
        raw = cells[self._amount_column] if self._amount_column is not None else None
        if isinstance(raw, bool):
            raise _Skip("unreadable_amount", f"'{raw}' (not an amount)")
        try:
            money = parse_money(
                raw if isinstance(raw, str | int | float) or raw is None else str(raw),
                decimal_comma=self.decimal_comma,
            )
        except ValueError as error:
            raise _Skip("unreadable_amount", f"'{raw}' ({error})") from None
        code = (
            cell_text(cells[self._currency_column]).upper() or None
            if self._currency_column is not None
            else None
        )
        currency = code or (money.currency if money else None) or self.funnel.currency
        if money is None:
            return None, currency
        amount = money.amount
        if currency != self.funnel.currency and currency in self._fx:
            return amount * self._fx[currency], self.funnel.currency
        return amount, currency

    def _date(self, cells: tuple[Cell, ...], index: int | None) -> dt.date | None:
        if index is None or index >= len(cells):
            return None
        raw = cells[index]
        if raw.__class__ is str:
            if not raw:
                return None
            fast = self._iso_date(raw)
            if fast is not None:
                return fast
        try:
            return parse_date(raw, self.dates.orders.get(index), self.dates.date_format)
        except ValueError as error:
            raise _Skip(
                "unreadable_date", f"'{raw}' in '{self.columns.headers[index]}' ({error})"
            ) from None

    def _iso_date(self, text: str) -> dt.date | None:
        """``2024-08-27`` or ``2024-08-27 14:03[:05]`` without the general parser; else None.

        Exports repeat the same days thousands of times, so the date part is cached.
        Anything unusual (other lengths, zones, odd times) goes the general way.
        """
        if self.dates.date_format or _ISO_FAST(text) is None:
            return None
        date_part = text[:10]
        cached = self._iso_cache.get(date_part)
        if cached is not None:
            return cached
        try:
            day = parse_date(date_part)
        except ValueError:
            return None  # the general path reports it with the whole value
        if day is None:
            return None
        if len(self._iso_cache) < _ISO_CACHE_SIZE:
            self._iso_cache[date_part] = day
        return day

    def _entered_dates(self, cells: tuple[Cell, ...]) -> list[dt.date | None]:
        """Per stage, the first of its entered-date columns with a date (one per pipeline)."""
        dates: list[dt.date | None] = []
        cache = self._iso_cache
        for stage_columns in self._entered:
            found = None
            for index in stage_columns:
                raw = cells[index]
                if not raw:
                    continue
                # The hot path: a cached day whose full text is a plain ISO timestamp.
                if raw.__class__ is str:
                    cached = cache.get(raw[:10])
                    if cached is not None and _ISO_FAST(raw) is not None:
                        found = cached
                        break
                found = self._date(cells, index)
                if found is not None:
                    break
            dates.append(found)
        return dates


_ISO_CACHE_SIZE = 100_000
_ISO_FAST = re.compile(
    r"\d{4}-\d\d-\d\d(?:[ T](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)?", re.ASCII
).fullmatch
r"""A plain ISO date, or one with a valid HH:MM[:SS] and no zone: the common case. ASCII
digits only, as dates.parse_date reads them (``\d`` alone would take ``١`` or ``０``)."""


_TIME_OF_DAY = re.compile(r"[ T](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?", re.ASCII).fullmatch
"""What may follow the day in a cell _ISO_FAST accepts."""
_FAST_AMOUNT = re.compile(
    r"[0-9]+(?:\.[0-9]+)?|[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]+)?"
).fullmatch
"""Amounts money.parse_money reads as just their digits: no sign, currency or spaces."""


def _no_fast_amount(raw: str) -> None:
    """The fast amount test of a column of decimal commas: no cell passes it."""


def _entered_by_stage(columns: ColumnMap, stage_count: int) -> list[list[int]]:
    """Stage index -> its entered-date columns; empty when the export has none at all."""
    by_stage: list[list[int]] = [[] for _ in range(stage_count)]
    for column in columns.entered:
        if column.stage is not None:
            by_stage[column.stage].append(column.index)
    return by_stage if any(by_stage) else []
