"""The compiled lane: a share of a CSV export's rows read and counted in C (``_lane.c``).

The lane does for the common row what :meth:`DealReader.deal_rows` and
:meth:`ReportBuilder.add_rows` do in Python, about ten times faster, and gives back
every row it is not sure of:

* a row it can split but not read (an amount with a currency sign, a date that is not
  ISO, a stage decision it has not been taught, a footer, a short row) comes back as
  cells, and goes the Python way: the deal reader and the builder, as any row would;
* at bytes it cannot split exactly as the csv module does (a quote inside a quoted
  field that does not close it, a NUL, bytes that are not UTF-8, a record of megabytes)
  it stops, and the csv module reads on from that record, with its own messages.

What it counted merges into the builder in the file's order before each row it gives
back, so the report is the one the Python lanes give, byte for byte
(``tests/readers/test_lane.py``). Its counts come as the C module's tuples and bytes; they are
decoded here (:class:`_Merging`) into builders of typed counts, which go in through
:meth:`ReportBuilder.merge` as another process's share would: the report's core never
sees the lane's wire format. Without a C compiler at install time there is no lane, and
every read is Python's; ``FUNNEL_COMPILED=0`` turns the lane off too (README,
Performance).

Stale deals go to the builder at the end of the share, and only those that may be among
the ``STALE_KEPT`` oldest: one with fewer days than the ``STALE_KEPT`` largest counts
the lane has seen has that many older deals beside it, so the builder's bounded heap
would refuse it anyway; it is counted, not listed. Which deals the heap keeps does not
depend on the order it is given them (it orders them by days, id and row).
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
from array import array
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from funnelcli.dates import MAX_YEAR, MIN_YEAR
from funnelcli.deal_records import Outcome
from funnelcli.readers.cell_formats import cell_text
from funnelcli.readers.deals import DealReader, LaneColumns
from funnelcli.readers.row_account import RepeatedIds, compiled_module
from funnelcli.readers.tabular.byte_ranges import CsvRange, read_csv_range
from funnelcli.readers.tabular.csv_rows import csv_data_row
from funnelcli.readers.tabular.table import ReadStats
from funnelcli.report import STALE_KEPT, CurrencyTotals, ReportBuilder
from funnelcli.segments import SlicedBuilder

MERGE_EVERY = 32768
"""Records between merges of what the lane counted: its arrays of days stay small, and each
merge costs about as much as the lane's work on a few thousand rows."""

_END, _PAUSE, _HANDOVER, _GIVE_UP = 0, 1, 2, 3
_WHY_DECISION, _WHY_FIT = 1, 2  # FIT: a record read ahead to find the header
_OUTCOME_CODES = {Outcome.WON: 0, Outcome.LOST: 1, Outcome.OPEN: 2}
_LANE_ENCODINGS = frozenset({"utf-8", "utf-8-sig"})


_compiled = compiled_module  # one name here, so a test can hide the module from the lane


def lane_for(reader: DealReader, share: CsvRange | None) -> LaneColumns | None:
    """The columns to read ``share`` with in the compiled lane, or None to read it in
    Python: no lane built, ``FUNNEL_COMPILED=0``, no share, a file that is not strict
    UTF-8 (cp1252, a UTF-8 file with cp1252 rows, NUL bytes to strip), or a read the lane
    does not do (see :meth:`DealReader.lane_columns`)."""
    if share is None or os.environ.get("FUNNEL_COMPILED") == "0" or _compiled() is None:
        return None
    parsing = share.parsing
    if (
        codecs.lookup(parsing.file.encoding).name not in _LANE_ENCODINGS
        or parsing.errors != "strict"
        or parsing.strip_nul
        or len(reader.funnel.stages) > 60
    ):
        return None
    return reader.lane_columns()


def read_share(
    share: CsvRange,
    columns: LaneColumns,
    reader: DealReader,
    builder: SlicedBuilder,
    stats: ReadStats,
    progress: Callable[[int, bool], None] | None = None,
    every: int = MERGE_EVERY,
    keep_ids: bool = False,
) -> bool:
    """Read ``share``'s rows into ``builder`` and ``reader.account``, blank and footer rows
    into ``stats``; True when a record straddled the share's end and the read went on to
    the end of the file (as :attr:`Table.overran`). ``progress(records, overran)`` every
    ``every`` records (blank ones too), ``overran`` as far as the read knows yet.

    The lane notes every deal id, as a 64-bit hash; one that may come again raises
    :class:`RepeatedIds` at the end of the read (the reader settles repeats, reading the
    file again in Python). ``keep_ids``: put the hashes in ``reader.account.id_hashes``,
    for a share merged with others (checked when all are in)."""
    module = _compiled()
    assert module is not None
    overall = builder.overall
    funnel = reader.funnel
    lane = module.Lane(
        path=os.fspath(share.parsing.file.path),
        start=share.start,
        lines_before=share.lines_before,
        last_line=share.last_line,
        delimiter=share.parsing.delimiter,
        width=len(share.header),
        decision_columns=columns.decision,
        pipeline=_index(columns.pipeline),
        amount=_index(columns.amount),
        currency=_index(columns.currency),
        id=_index(columns.id),
        name=_index(columns.name),
        owner=_index(columns.owner),
        segment=_index(columns.segment),
        created=_index(columns.created),
        closed=_index(columns.closed),
        entered=[_index(column) for column in columns.entered],
        stale_days=[-1 if days is None else days for days in overall.stale_days],
        as_of=overall.as_of.toordinal(),
        min_year=MIN_YEAR,
        max_year=MAX_YEAR,
        funnel_currency=funnel.currency.encode(),
        fx_codes=[code.encode() for code in columns.fx_codes],
        stale_kept=STALE_KEPT,
        fit_until=share.fit_until,
    )
    merging = _Merging(reader, builder)
    reader.lane_notes_ids = True
    try:
        overran = _read(lane, share, reader, builder, stats, merging, progress, every)
    finally:
        reader.lane_notes_ids = False
    _keep_ids(lane, reader, keep_ids)
    # Last: the file's order does not matter to which stale deals are kept.
    builder.overall.merge(merging.stale(lane.take_stale()))
    return overran


def _read(
    lane: Any,
    share: CsvRange,
    reader: DealReader,
    builder: SlicedBuilder,
    stats: ReadStats,
    merging: _Merging,
    progress: Callable[[int, bool], None] | None,
    every: int,
) -> bool:
    width = len(share.header)
    while True:
        status, detail = lane.run(every)
        if status == _PAUSE:
            if lane.records % MERGE_EVERY == 0:
                merging.add(lane.take())
            if progress is not None:
                progress(lane.records, bool(detail))
            continue
        merging.add(lane.take())  # before the row it gives back: the file's order
        if status == _HANDOVER:
            number, cells, why, key = detail
            row = csv_data_row(cells, width, stats, fit=why == _WHY_FIT)
            if row is None:
                continue
            if why == _WHY_DECISION:
                decided = reader.cacheable_decision(row)
                if decided is not None:
                    outcome, stage = decided
                    lane.learn(key, _OUTCOME_CODES[outcome], -1 if stage is None else stage)
            for batch in reader.deal_rows(iter(((number, row),))):
                builder.add_rows(batch)
        elif status == _END:
            return bool(detail)
        else:  # _GIVE_UP: the csv module reads the rest, from the record the lane left at
            offset, lines_before, last_line, overran = detail
            rest = CsvRange(
                offset,
                lines_before,
                last_line,
                share.header,
                share.header_row,
                share.title_rows,
                share.parsing,
                share.fit_until,
            )
            # The rest's ids are noted by the reader: compared with the lane's at the end
            # (_keep_ids).
            reader.lane_notes_ids = False
            with read_csv_range(rest) as table:
                for batch in reader.deal_rows(table.rows):
                    builder.add_rows(batch)
            stats.merge(table.stats)
            return bool(overran) or table.overran


def _keep_ids(lane: Any, reader: DealReader, keep: bool) -> None:
    """Check the ids the lane noted for a repeat, or with ``keep``, or when the reader
    noted ids too, put them into ``reader.account.id_hashes``: checked with the others
    when all are in (RowAccount.check_ids, at the end of the read).

    The lane notes every record it splits, the rows it hands to Python too (the reader
    leaves those alone, see DealReader.lane_notes_ids): the reader's ids are those of
    other rows (the rest read after the lane gave up). A repeat (two equal hashes)
    raises :class:`RepeatedIds`: one Python read settles it."""
    account = reader.account
    if keep or account.id_batch or account.id_hashes:
        lane.take_ids(account.id_hashes)
    elif lane.repeats:
        raise RepeatedIds


def _index(column: int | None) -> int:
    return -1 if column is None else column


class _Merging:
    """Decodes what the lane counted (the tuples and bytes of ``_lane.c``) into a partial
    report, merged into the builder, and its rows into the reader's account; names the
    lane's slots (pipelines, currencies, segments) as the Python lanes name them."""

    def __init__(self, reader: DealReader, builder: SlicedBuilder) -> None:
        self.reader = reader
        self.builder = builder
        self.pipelines: list[str] = []
        self.currencies: list[str] = []
        self.segments: list[str] = []

    def add(self, taken: Any) -> None:
        """``taken``: what Lane.take() returns (lane_take in _lane.c says what is where)."""
        (
            read,
            used,
            new_pipelines,
            pipelines,
            new_currencies,
            new_segments,
            overall,
            children,
        ) = taken
        self.pipelines += [raw.decode() for raw in new_pipelines]
        self.currencies += [raw.decode() for raw in new_currencies]
        # As deal_rows names a segment: the cell stripped, "(blank)" when empty.
        self.segments += [cell_text(raw.decode()) or "(blank)" for raw in new_segments]
        if not read:
            return
        self.reader.account.count_rows(
            read, used, {self.pipelines[slot]: count for slot, count in pipelines}
        )
        counts, durations = overall
        counted = SlicedBuilder(self._builder(counts, durations))
        for slot, child_counts in children:
            child = self._builder(child_counts, None)
            segment = self.segments[slot]
            same = counted.segments.get(segment)  # cells alike once stripped
            if same is None:
                counted.segments[segment] = child
            else:
                same.merge(child)
        self.builder.merge(counted)

    def _builder(self, counts: LaneCounts, durations: LaneDurations | None) -> ReportBuilder:
        """What one builder's worth of deals counted in the lane, as a builder like the
        whole report's (a slice's, counts only, without ``durations``)."""
        like = self.builder.overall
        reached, current, lost, won, unknown, won_without, open_without, dated, money = counts
        totals: dict[str, CurrencyTotals] = {}
        for slot, won_total, won_count, won_values, lost_value, open_by_stage in money:
            decoded = CurrencyTotals(
                [_decimal(amount) for amount in open_by_stage],
                won_total=_decimal(won_total),
                won_count=won_count,
                won_values=array("d", won_values or b""),
                lost_value=_decimal(lost_value),
            )
            code = self.currencies[slot]
            if code in totals:
                totals[code].merge(decoded)
            else:
                totals[code] = decoded
        builder = ReportBuilder(
            like.stage_names,
            like.as_of,
            like.stale_days,
            reached_at=reached,
            current=current,
            lost=lost,
            won=won,
            lost_unknown_stage=unknown,
            money=totals,
            won_without_amount=won_without,
            open_without_amount=open_without,
            has_stage_dates=bool(dated),
            default_currency=like.default_currency,
            counts_only=durations is None,
        )
        if durations is not None:
            cycle, in_stage, still, before_loss, skipped, negatives, first_negative = durations
            builder.cycle_days = array("q", cycle)
            builder.days_in_stage = [array("q", days) for days in in_stage]
            builder.still_in_stage = still
            builder.days_before_loss = [array("q", days) for days in before_loss]
            builder.skipped = skipped
            builder.negative_durations = negatives
            builder.negative_first_row = first_negative if first_negative >= 0 else None
        return builder

    def stale(self, taken: Any) -> ReportBuilder:
        """The stale deals the lane kept back, with their cells as bytes, as a builder
        holding them: noted as :meth:`ReportBuilder.add_rows` notes one (the fast lane's
        stripping, its Decimal amount). ``taken``: what Lane.take_stale() returns."""
        kept, dropped = taken
        like = self.builder.overall
        deals = []
        for stage, since, row, raw_id, raw_name, raw_owner, raw_amount, currency in kept:
            identifier = raw_id.decode().strip() if raw_id is not None else ""
            if not identifier and raw_name is not None:
                identifier = raw_name.decode().strip()
            owner = raw_owner.decode().strip() if raw_owner is not None else ""
            amount = (
                Decimal(raw_amount.decode().replace(",", "")) if raw_amount is not None else None
            )
            deals.append(
                like.stale_deal(
                    stage,
                    dt.date.fromordinal(since),
                    identifier or None,
                    owner or None,
                    amount,
                    self.currencies[currency],
                    row,
                )
            )
        return ReportBuilder.of_stale(like, deals, dropped)


LaneSum = tuple[int, int]
"""An exact sum from the compiled lane: (coefficient, decimals), the Decimal
coefficient * 10**-decimals, with the exponent a sum of Decimals of those places has."""

LaneCounts = tuple[
    list[int],  # reached
    list[int],  # current
    list[int],  # lost
    int,  # won
    int,  # lost_unknown_stage
    int,  # won_without_amount
    int,  # open_without_amount
    bool,  # has_stage_dates
    # per currency slot: slot, won_total, won_count, won values (doubles), lost_value,
    # open_by_stage; a sum is None when nothing was added to it
    list[tuple[int, LaneSum | None, int, bytes | None, LaneSum | None, list[LaneSum | None]]],
]
"""What one builder's worth of deals counted in the compiled lane adds up to."""

LaneDurations = tuple[bytes, list[bytes], list[int], list[bytes], list[int], int, int]
"""cycle_days, days_in_stage, still_in_stage, days_before_loss (int64s as bytes), skipped,
negative durations, the first row with one (-1: none)."""

LaneStale = tuple[int, int, int, bytes | None, bytes | None, bytes | None, bytes | None, int]
"""stage, since (an ordinal day), row, then the id, name, owner and amount cells as bytes
(None: no such column, or no amount), and the currency slot."""


def _decimal(total: LaneSum | None) -> Decimal:
    """A lane's exact sum as a Decimal; nothing added is 0 (which adds nothing: every
    total starts at ``Decimal(0)``, and its exponent is never above 0)."""
    if total is None:
        return Decimal(0)
    coefficient, decimals = total
    return Decimal(coefficient).scaleb(-decimals)
