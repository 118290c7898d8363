"""Deal records -> stage figures, totals, bottlenecks and stale deals.

Definitions (the README documents them; ``tests/test_report.py`` and
``tests/test_report_history.py`` pin them). For each deal: an outcome (won, lost, open)
and the furthest stage reached, f:

* won: the last (won) stage;
* otherwise, with stage dates (a timeline, or stage-entered dates): the furthest stage
  with a date, or the current stage when that is further; a lost deal's timeline thus
  puts it at the furthest stage it entered before it was lost;
* open: the current stage; lost with a known stage (a status column, or a stage column
  that names a stage): that stage;
* lost with only a lost label and no dates: unknown, counted in ``lost_unknown_stage``
  and as having reached the first stage only.

Per stage i: reached[i] = deals with f >= i; current[i] = open deals with f = i (the
stage they are in now, unless they moved back); lost[i] = lost deals with f = i; so
reached[i] = reached[i+1] + current[i] + lost[i]. A deal that jumped over a stage counts
as having reached it; ``skipped[i]`` counts the deals with f > i whose history dates an
earlier stage but never entered i (a history that starts later says nothing of the
stages before its start: an export may have no date column for the first stages). ``moved_back[i]`` counts the deals with a timeline change from i to an
earlier stage (once a deal, however often); on the won stage, the deals reopened after
a win, which need not be won now.

A deal's history is its ``timeline`` (every change in date order) with the
``entered`` dates of the stages the timeline never names merged in by date: timeline
dates win for the stages it has. With a history, days in stage i are, per deal, the
sum over its visits to i of the days from entering i to its next change (to any
stage, or LOST), or to the close date for a deal closed without a further change. An
open deal whose last change is into i is still in i: counted in ``still_in_stage[i]``,
not in the days. Without a timeline, stage-entered dates give the days from a stage's
date to the next dated stage's (or the close date), and an open deal's latest dated
stage is the one it is still in. Days before loss at stage i: for the lost deals with
f = i, from their last entry into i to the LOST change after it, or to the close date.
A negative day count (a close date before the change) is left out, and counted in
``negative_durations`` when it is a stage's days.

Losses unattributed: when some lost deals are at an unknown stage
(``lost_unknown_stage > 0``), the export does not say where deals were lost, and the
chance of moving on from a stage cannot be measured: counting those losses at the first
stage would show every later stage converting 100% of the deals that left it. Then every
stage's ``resolved_conversion`` is None (not measurable), and a note says why and how
to fix it (a --history file, stage-date columns, or a status column that keeps the
stage). The counts (reached, current, lost) stay as defined above: they count what the
export says, with the unknown losses at the first stage.

P(win) for a deal open in stage i (``win_probabilities``; the weighted open value,
``plan --credit-pipeline`` and ``--rates-from`` use it): 1 for the won stage, and

* measured (``win_probability_from = "measured"``): the product of the resolved
  conversions from i down, a stage with no resolved deals taking its planned rate;
* with losses unattributed and probabilities per stage from the export's probability
  column (``stage_probabilities``, read at the edge): that stage's probability, the
  mean of its open deals' (a mean, so that open deals x probability is the sum of their
  own probabilities: the expected wins); a stage none of whose open deals has one
  takes the overall win rate;
* with losses unattributed and no probability column: the overall win rate
  won / (won + lost) for every open stage.

No stage gets a probability of 1 only because no loss was attributed to it.

Deals stream through a :class:`ReportBuilder` one at a time; it keeps counters and only
the values that medians need. Two builders over different rows merge into the one a
single builder over all rows would give. :func:`deal_as_of` rebuilds a deal as it stood
on a past day, for the funnel as it stood.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import functools
import heapq
import itertools
import math
import operator
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple, overload

from funnelcli.definition import Funnel
from funnelcli.stats import quantile, wilson_interval

NOISE_LEVEL = 0.9
"""A stage is a bottleneck against plan only when its planned rate lies outside the Wilson
interval of its resolved conversion at this level (see :func:`_bottlenecks`)."""

STALE_FACTOR = 2
"""An open deal is stale after this many times its stage's typical ``days``."""

STALE_KEPT = 1000
"""Stale deals listed: the oldest this many. All are counted (``stale_count``); keeping
every one would make memory grow with the file, which a million-row export must not."""


class Outcome(enum.Enum):
    WON = "won"
    LOST = "lost"
    OPEN = "open"


@dataclass(slots=True)
class Deal:
    """One deal as the report needs it. ``stage`` is the current stage's index, if known."""

    row: int
    outcome: Outcome
    stage: int | None
    label: str = ""
    id: str | None = None
    owner: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    created: dt.date | None = None
    closed: dt.date | None = None
    entered: Sequence[dt.date | None] | None = None
    segment: str | None = None  # the --by column's value
    cohort: str | None = None  # the created period, with --cohort
    # Stage history (--history): every change in date order, as (date, stage index), with
    # LOST for a move to a lost label; None when the deal has no history.
    timeline: tuple[tuple[dt.date, int], ...] | None = None


LOST = -1
"""The stage index a timeline uses for a move to a lost label."""


class DealRow(NamedTuple):
    """A deal without a timeline as a named tuple, the fields of :class:`Deal` in its order
    (but the label): what the reader's fast lane yields and :meth:`ReportBuilder.add_rows`
    takes. A tuple costs a fraction of a dataclass instance, and a million-row export makes
    a million of them.

    On the row path it is made with :data:`new_deal_row` and unpacked by position, in this
    field order (a NamedTuple's own constructor and attribute reads cost more per row);
    elsewhere, read it by name."""

    row: int
    outcome: Outcome
    stage: int | None
    id: str | None
    owner: str | None
    amount: Decimal | None
    currency: str | None
    created: dt.date | None
    closed: dt.date | None
    entered: Sequence[dt.date | None] | None
    segment: str | None  # the --by column's value
    cohort: str | None  # the created period, with --cohort


new_deal_row: Callable[[tuple[object, ...]], DealRow] = functools.partial(tuple.__new__, DealRow)
"""A :class:`DealRow` from a plain tuple of its twelve fields in order, as fast as a tuple:
``DealRow(...)`` runs a Python ``__new__`` per row (the reader's fast lane makes one per row)."""


def deal_row(deal: Deal) -> DealRow:
    return new_deal_row(
        (
            deal.row,
            deal.outcome,
            deal.stage,
            deal.id,
            deal.owner,
            deal.amount,
            deal.currency,
            deal.created,
            deal.closed,
            deal.entered,
            deal.segment,
            deal.cohort,
        )
    )


@dataclass(slots=True)
class CurrencyTotals:
    """Sums and won values for one currency (deals carry a code; the reader fills the funnel's in)."""

    open_by_stage: list[Decimal]
    # Won amounts: the exact total and count, and the values as doubles for the median
    # only (8 bytes each; exact to the cent below 2**53 cents), so memory stays small.
    won_total: Decimal = Decimal(0)
    won_count: int = 0
    won_values: array[float] = field(default_factory=lambda: array("d"))
    lost_value: Decimal = Decimal(0)

    @classmethod
    def empty(cls, stages: int) -> CurrencyTotals:
        return cls([Decimal(0)] * stages)

    def merge(self, other: CurrencyTotals) -> None:
        self.open_by_stage = [
            a + b for a, b in zip(self.open_by_stage, other.open_by_stage, strict=True)
        ]
        self.won_total += other.won_total
        self.won_count += other.won_count
        self.won_values.extend(other.won_values)
        self.lost_value += other.lost_value


@dataclass(frozen=True)
class StaleDeal:
    id: str
    owner: str | None
    stage: str
    days: int
    value: Decimal | None
    currency: str | None
    row: int = 0  # where the deal is in the export: breaks ties between repeated ids


@functools.cache
def _no_days(stage_count: int) -> list[array[int]]:
    """The durations of a counts-only builder: none, shared (see ReportBuilder.__post_init__)."""
    return [array("q") for _ in range(stage_count)]


@functools.cache
def _no_counts(stage_count: int) -> list[int]:
    """Zeros that stay zeros, shared by counts-only builders (see ReportBuilder.__post_init__)."""
    return [0] * stage_count


@dataclass(slots=True)
class ReportBuilder:
    """Accumulates deals; :meth:`finish` computes the figures. Mergeable (see :meth:`merge`)."""

    stage_names: tuple[str, ...]
    as_of: dt.date
    stale_days: Sequence[int | None]
    reached_at: list[int] = field(default_factory=list)  # deals whose f == i
    current: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    won: int = 0
    lost_unknown_stage: int = 0
    days_in_stage: list[array[int]] = field(default_factory=list)  # compact: 8 bytes a value
    still_in_stage: list[int] = field(default_factory=list)  # open-ended: not in the days
    days_before_loss: list[array[int]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    moved_back: list[int] = field(default_factory=list)
    negative_durations: int = 0
    negative_first_row: int | None = None  # the first row with one, for the warning
    cycle_days: array[int] = field(default_factory=lambda: array("q"))
    money: dict[str, CurrencyTotals] = field(default_factory=dict)  # by currency code
    won_without_amount: int = 0
    open_without_amount: int = 0
    stale: list[tuple[int, tuple[int, ...], int, StaleDeal]] = field(default_factory=list)  # heap
    stale_count: int = 0
    has_stage_dates: bool = False
    default_currency: str = "USD"  # for deals that name none
    # A segment's or cohort's builder keeps counts and money totals only: what their
    # tables show. Durations, stale deals and won values for medians stay with the whole.
    counts_only: bool = False

    @property
    def stage_count(self) -> int:
        return len(self.stage_names)

    def __post_init__(self) -> None:
        n = self.stage_count
        self.reached_at = self.reached_at or [0] * n
        self.current = self.current or [0] * n
        self.lost = self.lost or [0] * n
        if self.counts_only:
            # Never filled (add and add_rows stop before durations, and merge adds only
            # other counts-only builders' nothing), so every counts-only builder shares
            # them: a --by column with 300,000 values makes 300,000 builders, and these
            # empty arrays and zeros were most of their memory.
            self.days_in_stage = self.days_in_stage or _no_days(n)
            self.days_before_loss = self.days_before_loss or _no_days(n)
            self.still_in_stage = self.still_in_stage or _no_counts(n)
            self.skipped = self.skipped or _no_counts(n)
            self.moved_back = self.moved_back or _no_counts(n)
        self.days_in_stage = self.days_in_stage or [array("q") for _ in range(n)]
        self.still_in_stage = self.still_in_stage or [0] * n
        self.days_before_loss = self.days_before_loss or [array("q") for _ in range(n)]
        self.skipped = self.skipped or [0] * n
        self.moved_back = self.moved_back or [0] * n

    def add(self, deal: Deal) -> None:
        """Add one deal. Its counts, money and cycle time are :meth:`add_rows`'s, the one
        counting rule: a deal with a history (--history) goes to it with the furthest stage
        its history reached and no stage dates, and its days in stage, moves back and
        staleness are read from the history here."""
        changes = _history(deal)
        if changes is None:
            self.add_rows((deal_row(deal),))
            return
        self.has_stage_dates = True
        stage = _stage_in_history(deal.stage, changes)
        self.add_rows((deal_row(deal)._replace(stage=stage, entered=None),), stale=False)
        if self.counts_only:
            return
        # The furthest stage, as add_rows found it.
        last = self.stage_count - 1
        if deal.outcome is Outcome.WON:
            furthest = last
        else:
            furthest = 0 if stage is None else min(stage, last - 1)
        self._add_history(deal, changes, furthest)
        if deal.outcome is Outcome.OPEN:
            self._check_stale(deal, furthest, changes)

    def add_rows(self, rows: Sequence[DealRow], *, stale: bool = True) -> None:
        """Add deals given as :class:`DealRow` tuples: the counting rule (:meth:`add` on one
        deal comes here too), with its furthest stage, counts, money, cycle time, and the
        durations and staleness its stage-entered dates give.

        The reader's fast lane hands over deals without a timeline this way: one loop with
        everything in locals and no per-deal object, which is most of a large report's time.
        ``stale=False``: leave staleness to the caller (:meth:`add`, from a history).
        ``tests/test_report.py`` pins its figures by hand; ``tests/test_fast_lane.py`` holds
        batches to deal-by-deal adding, and the reader's fast lane to the general path.
        """
        last = self.stage_count - 1
        won_outcome, lost_outcome, open_outcome = Outcome.WON, Outcome.LOST, Outcome.OPEN
        reached_at, current, lost = self.reached_at, self.current, self.lost
        money_by_currency, default_currency = self.money, self.default_currency
        counts_only = self.counts_only
        cycle_days = self.cycle_days
        days_in_stage, still_in_stage = self.days_in_stage, self.still_in_stage
        skipped, days_before_loss = self.skipped, self.days_before_loss
        stale_days, as_of = self.stale_days, self.as_of
        won = 0
        for (
            number,
            outcome,
            stage,
            deal_id,
            owner,
            amount,
            currency,
            created,
            closed,
            entered,
            _,
            _,
        ) in rows:
            # The furthest stage reached: a won deal's is the last; else its stage, or a
            # later one with an entered date.
            if outcome is won_outcome:
                furthest = last
                won += 1
            else:
                if entered is not None:
                    dated = -1
                    for index in range(last - 1, -1, -1):
                        if entered[index] is not None:
                            dated = index
                            break
                    if dated >= 0:
                        self.has_stage_dates = True
                        if stage is None or dated > stage:
                            stage = dated
                if stage is None:
                    self.lost_unknown_stage += 1
                    furthest = 0
                else:
                    furthest = stage if stage < last else last - 1
                if outcome is lost_outcome:
                    lost[furthest] += 1
                else:
                    current[furthest] += 1
            reached_at[furthest] += 1
            # Money: by currency; a won deal's value is kept for the median but in a slice.
            if amount is None:
                if outcome is won_outcome:
                    self.won_without_amount += 1
                elif outcome is open_outcome:
                    self.open_without_amount += 1
            else:
                code = currency or default_currency
                money = money_by_currency.get(code)
                if money is None:
                    money = money_by_currency[code] = CurrencyTotals.empty(last + 1)
                if outcome is won_outcome:
                    money.won_total += amount
                    money.won_count += 1
                    if not counts_only:
                        money.won_values.append(float(amount))
                elif outcome is lost_outcome:
                    money.lost_value += amount
                else:
                    money.open_by_stage[furthest] += amount
            if counts_only:
                continue
            if outcome is won_outcome and created and closed:
                days = (closed - created).days
                if days < 0:
                    self._negative(number)
                else:
                    cycle_days.append(days)
            if entered is not None:
                # Days in stage from stage-entered dates alone. Walk up from the bottom: a
                # stage ends where the next dated stage begins, or at the close of a closed
                # deal; an open deal's latest stage has no end yet.
                following = entered[last]
                if following is None and outcome is not open_outcome:
                    following = closed
                first_dated = -1  # the earliest stage with a date, below the won stage
                for index in range(last - 1, -1, -1):
                    start = entered[index]
                    if start is None:
                        continue
                    first_dated = index
                    if following is not None:
                        days = (following - start).days
                        if days < 0:
                            self._negative(number)
                        else:
                            days_in_stage[index].append(days)
                    elif outcome is open_outcome:
                        still_in_stage[index] += 1
                    following = start
                if first_dated < 0 and entered[last] is not None:
                    first_dated = last
                if first_dated >= 0:
                    for index in range(first_dated + 1, furthest):
                        if entered[index] is None:
                            skipped[index] += 1
                    if outcome is lost_outcome and closed is not None:
                        start = entered[furthest]
                        if start is not None and closed >= start:
                            days_before_loss[furthest].append((closed - start).days)
            if outcome is open_outcome and stale:
                # Stale: open longer than its stage's limit since it entered the stage (or
                # since it was created, without that date).
                limit = stale_days[furthest]
                if limit is not None:
                    since = entered[furthest] if entered is not None else None
                    if since is None:
                        since = created
                    if since is not None and (as_of - since).days > limit:
                        self._note_stale(furthest, since, deal_id, owner, amount, currency, number)
        self.won += won

    def _add_history(self, deal: Deal, changes: StageChanges, furthest: int) -> None:
        """Days in stage, moves back, skipped stages and days before loss from a history."""
        last = self.stage_count - 1
        totals: dict[int, int] = {}  # stage -> its visits' days, summed
        left: set[int] = set()  # stages this deal moved back from
        for (start, stage), (end, following) in itertools.pairwise(changes):
            if 0 <= stage < last:
                totals[stage] = totals.get(stage, 0) + (end - start).days
            if 0 <= following < stage:
                left.add(stage)
        final_day, final_stage = changes[-1]
        if 0 <= final_stage < last:
            # The last visit ends at the close; an open deal is still there.
            days = (deal.closed - final_day).days if deal.closed is not None else None
            if deal.outcome is Outcome.OPEN or days is None or days < 0:
                totals.pop(final_stage, None)  # its days in the stage are not known (yet)
                if deal.outcome is Outcome.OPEN:
                    self.still_in_stage[final_stage] += 1
                elif days is not None:
                    self._negative(deal.row)
            else:
                totals[final_stage] = totals.get(final_stage, 0) + days
        for stage, days in totals.items():
            self.days_in_stage[stage].append(days)
        for stage in left:
            self.moved_back[stage] += 1
        entered = {stage for _, stage in changes if stage != LOST}
        if entered:  # a history of lost labels alone says nothing of stages
            for index in range(min(entered) + 1, furthest):
                if index not in entered:
                    self.skipped[index] += 1
        if deal.outcome is Outcome.LOST:
            self._add_days_before_loss(deal, changes, furthest)

    def _add_days_before_loss(self, deal: Deal, changes: StageChanges, furthest: int) -> None:
        """From the last entry into f to the LOST change after it, else to the close date."""
        entries = [position for position, (_, stage) in enumerate(changes) if stage == furthest]
        if not entries:
            return
        start = changes[entries[-1]][0]
        end = next((day for day, stage in changes[entries[-1] :] if stage == LOST), deal.closed)
        if end is not None and end >= start:
            self.days_before_loss[furthest].append((end - start).days)

    def _check_stale(self, deal: Deal, furthest: int, changes: StageChanges) -> None:
        """An open deal with a history is in the stage of its last change, since that change."""
        stage, since = furthest, None
        if 0 <= changes[-1][1] < self.stage_count - 1:
            since, stage = changes[-1]
        if since is None:
            since = deal.entered[stage] if deal.entered is not None else None
            since = since or deal.created
        limit = self.stale_days[stage]
        if limit is not None and since is not None and (self.as_of - since).days > limit:
            self._note_stale(
                stage, since, deal.id, deal.owner, deal.amount, deal.currency, deal.row
            )

    def _note_stale(
        self,
        stage: int,
        since: dt.date,
        deal_id: str | None,
        owner: str | None,
        amount: Decimal | None,
        currency: str | None,
        row: int,
    ) -> None:
        """Count a deal open beyond its stage's limit; keep it if among the oldest."""
        self.stale_count += 1
        self._keep_stale(self.stale_deal(stage, since, deal_id, owner, amount, currency, row))

    def stale_deal(
        self,
        stage: int,
        since: dt.date,
        deal_id: str | None,
        owner: str | None,
        amount: Decimal | None,
        currency: str | None,
        row: int,
    ) -> StaleDeal:
        """A deal open in ``stage`` since ``since``, as the report lists it: by its id, or
        its row without one."""
        identifier = deal_id or f"row {row}"
        days = (self.as_of - since).days
        return StaleDeal(identifier, owner, self.stage_names[stage], days, amount, currency, row)

    def _keep_stale(self, stale: StaleDeal) -> None:
        # Keep the oldest STALE_KEPT in a min-heap whose top is the one to drop first: the
        # youngest, then the larger id (the final sort is oldest first, then id, then row);
        # the row breaks ties between deals with the same id (an export may repeat one).
        self._keep_stale_entry((stale.days, _reversed(stale.id), -stale.row, stale))

    def _keep_stale_entry(self, entry: tuple[int, tuple[int, ...], int, StaleDeal]) -> None:
        if len(self.stale) < STALE_KEPT:
            heapq.heappush(self.stale, entry)
        elif entry[:3] > self.stale[0][:3]:
            heapq.heapreplace(self.stale, entry)

    @classmethod
    def of_stale(
        cls, like: ReportBuilder, deals: Iterable[StaleDeal], unlisted: int
    ) -> ReportBuilder:
        """An empty builder for ``like``'s funnel and as-of date holding stale deals found
        elsewhere (the compiled lane, readers/lane.py), and ``unlisted`` more that were
        counted but cannot be among the oldest: to :meth:`merge` into ``like``."""
        builder = cls(
            like.stage_names, like.as_of, like.stale_days, default_currency=like.default_currency
        )
        for stale in deals:
            builder.stale_count += 1
            builder._keep_stale(stale)
        builder.stale_count += unlisted
        return builder

    def _negative(self, row: int) -> None:
        self.negative_durations += 1
        self._negative_row(row)

    def _negative_row(self, row: int) -> None:
        if self.negative_first_row is None or row < self.negative_first_row:
            self.negative_first_row = row

    def merge(self, other: ReportBuilder) -> None:
        """Fold another builder's deals into this one (same funnel, same as-of date)."""
        for mine, theirs in (
            (self.reached_at, other.reached_at),
            (self.current, other.current),
            (self.lost, other.lost),
        ):
            for index, value in enumerate(theirs):
                mine[index] += value
        self.won += other.won
        self.lost_unknown_stage += other.lost_unknown_stage
        for currency, money in other.money.items():
            target = self.money.setdefault(currency, CurrencyTotals.empty(self.stage_count))
            target.merge(money)  # never adopt the other builder's record: it must stay its own
        self.won_without_amount += other.won_without_amount
        self.open_without_amount += other.open_without_amount
        self.has_stage_dates = self.has_stage_dates or other.has_stage_dates
        if other.counts_only:
            return  # no durations, cycle times or stale deals (see __post_init__)
        for mine, theirs in (
            (self.still_in_stage, other.still_in_stage),
            (self.skipped, other.skipped),
            (self.moved_back, other.moved_back),
        ):
            for index, value in enumerate(theirs):
                mine[index] += value
        for mine_days, their_days in itertools.chain(
            zip(self.days_in_stage, other.days_in_stage, strict=True),
            zip(self.days_before_loss, other.days_before_loss, strict=True),
        ):
            mine_days.extend(their_days)
        self.negative_durations += other.negative_durations
        if other.negative_first_row is not None:
            self._negative_row(other.negative_first_row)
        self.cycle_days.extend(other.cycle_days)
        self.stale_count += other.stale_count
        for entry in other.stale:
            self._keep_stale_entry(entry)


StageChange = tuple[dt.date, int]
"""(day, stage index) of one change; the stage index is LOST for a move to a lost label."""

StageChanges = tuple[StageChange, ...]


def open_stage(deal: Deal | DealRow, stage_count: int) -> int | None:
    """The stage an open deal is counted in (its furthest stage f, as ReportBuilder.add
    and add_rows find it); None for a won or lost deal. For readers that tally a column
    per stage."""
    if deal.outcome is not Outcome.OPEN:
        return None
    last = stage_count - 1
    stage, entered = deal.stage, deal.entered
    changes = _history(deal) if isinstance(deal, Deal) else None
    if changes is not None:
        stage = _stage_in_history(stage, changes)
    elif entered is not None:
        dated = next((i for i in range(last - 1, -1, -1) if entered[i] is not None), -1)
        if dated >= 0 and (stage is None or dated > stage):
            stage = dated
    if stage is None:
        return 0
    return min(stage, last - 1)


def _stage_in_history(stage: int | None, changes: StageChanges) -> int | None:
    """The furthest stage a deal without a win reached: its ``stage``, or a later stage its
    history entered; None when neither says (ReportBuilder.add_rows counts it as unknown)."""
    changed_to = max((change for _, change in changes), default=LOST)
    if changed_to != LOST:
        return max(changed_to, stage if stage is not None else LOST)
    return stage


def _history(deal: Deal) -> StageChanges | None:
    """The deal's changes by date (see :func:`_changes`); None without a timeline.

    An empty timeline is no timeline: the deal counts as it would without one.
    """
    if not deal.timeline:
        return None
    return _changes(deal)


def _changes(deal: Deal) -> StageChanges:
    """The timeline with the ``entered`` dates of the stages it never names merged in.

    The timeline is sorted by day, keeping its order within a day; on one day, a merged
    date goes before the timeline's changes to a further stage or to LOST. A change to
    the stage the deal is already in is no change, and is dropped.
    """
    timeline = sorted(deal.timeline or (), key=lambda change: change[0])
    named = {stage for _, stage in timeline}
    extra = sorted(
        (day, index)
        for index, day in enumerate(deal.entered or ())
        if day is not None and index not in named
    )
    merged: list[StageChange] = []
    pending = iter(extra)
    waiting = next(pending, None)
    for change in timeline:
        while waiting is not None and waiting < _order_key(change):
            merged.append(waiting)
            waiting = next(pending, None)
        merged.append(change)
    if waiting is not None:
        merged.append(waiting)
        merged.extend(pending)
    changes = [merged[0]] if merged else []
    for change in merged[1:]:
        if change[1] != changes[-1][1]:
            changes.append(change)
    return tuple(changes)


def _order_key(change: StageChange) -> tuple[dt.date, float]:
    day, stage = change
    return day, math.inf if stage == LOST else stage


def deal_as_of(deal: Deal, day: dt.date) -> Deal | None:
    """The deal as it stood at the end of ``day``, from its history; None if it did not exist.

    It did not exist when it was created after ``day`` (with no created date: when its
    first change, in the timeline or the stage-entered dates, is after ``day``). Otherwise:

    * its timeline keeps the changes on or before ``day``, its ``entered`` the dates on
      or before it, and ``closed`` is cleared when after it;
    * a won or lost deal closed after ``day`` (its close date, or the last change of its
      history, is after it) is open as of ``day``, in the stage it was in then;
    * an open deal with changes after ``day`` is in the stage it was in then.

    The stage it was in on ``day``: that of its last change on or before ``day`` into a
    stage (LOST changes aside); with none, the first stage. A deal with nothing after
    ``day`` comes back unchanged (the same object).
    """
    changes = _changes(deal)
    start = deal.created if deal.created is not None else (changes[0][0] if changes else None)
    if start is not None and start > day:
        return None
    changed_later = bool(changes) and changes[-1][0] > day
    closed_later = deal.closed is not None and deal.closed > day
    # Dates after the day that change nothing (a repeat, an entered date the timeline
    # overrides) are dropped all the same.
    dated_later = any(when > day for when, _ in deal.timeline or ()) or any(
        when is not None and when > day for when in deal.entered or ()
    )
    if not dated_later and not closed_later:
        return deal
    outcome, stage = deal.outcome, deal.stage
    if changed_later or (closed_later and outcome is not Outcome.OPEN):
        outcome = Outcome.OPEN
        stage = next(
            (stage for when, stage in reversed(changes) if when <= day and stage != LOST), 0
        )
    return replace(
        deal,
        outcome=outcome,
        stage=stage,
        closed=None if closed_later else deal.closed,
        entered=None
        if deal.entered is None
        else [when if when is not None and when <= day else None for when in deal.entered],
        timeline=None
        if deal.timeline is None
        else tuple(change for change in deal.timeline if change[0] <= day),
    )


def _reversed(text: str) -> tuple[int, ...]:
    """A key that sorts texts in reverse, so that in a min-heap the larger id goes first.

    The end mark (1, above every negated code point) puts a prefix after its extensions:
    "ab" sorts before "abc", so its key must be the larger.
    """
    return (*(-ord(char) for char in text), 1)


def new_builder(funnel: Funnel, as_of: dt.date, stale_days: int | None = None) -> ReportBuilder:
    return ReportBuilder(
        tuple(stage.name for stage in funnel.stages),
        as_of,
        stale_limits(funnel, stale_days),
        default_currency=funnel.currency,
    )


def stale_limits(funnel: Funnel, stale_days: int | None) -> list[int | None]:
    """Days after which an open deal in each stage is stale: --stale-days, else 2 x the stage's days."""
    if stale_days is not None:
        return [stale_days] * len(funnel.stages)
    return [
        math.floor(STALE_FACTOR * stage.days) if stage.days is not None else None
        for stage in funnel.stages
    ]


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageFigures:
    name: str
    reached: int
    current: int
    lost: int
    conversion_to_next: Fraction | None
    resolved_conversion: Fraction | None
    cumulative_conversion: Fraction | None
    planned_conversion: Fraction | None
    median_days_in_stage: float | None
    p90_days_in_stage: float | None
    p75_days_in_stage: float | None = None
    still_in_stage: int = 0  # open deals in the stage since a known day: not in the days
    median_days_before_loss: float | None = None  # the lost deals with f here
    skipped: int = 0  # deals dated before and past the stage that never entered it
    moved_back: int = 0  # deals that moved from the stage to an earlier one


@dataclass(frozen=True)
class MoneyFigures:
    """Money figures in one currency."""

    currency: str
    open_by_stage: tuple[Decimal, ...]
    open_value: Decimal
    weighted_open_value: Fraction | None
    won_value: Decimal
    lost_value: Decimal
    average_won_value: Fraction | None
    median_won_value: float | None


@dataclass(frozen=True)
class Bottleneck:
    """A stage to fix: below plan beyond noise (with a plan), or where revenue leaks (without)."""

    stage: str
    next_stage: str
    actual: Fraction  # resolved conversion
    planned: Fraction | None
    revenue_impact: Fraction | None  # with a plan: revenue lost against it
    lost: int
    interval: tuple[float, float] | None = None  # with a plan: NOISE_LEVEL Wilson of actual
    win_from_next: Fraction | None = None  # P(win | reached the next stage)
    revenue_leak: Fraction | None = None  # without a plan: lost x win_from_next x average won

    @property
    def gap(self) -> Fraction:
        """How far below plan the stage converts (0 without a plan)."""
        return self.planned - self.actual if self.planned is not None else Fraction(0)

    @property
    def expected_wins_lost(self) -> Fraction | None:
        """lost x P(win | reached the next stage): the wins its lost deals would have made."""
        return None if self.win_from_next is None else self.lost * self.win_from_next


@dataclass(frozen=True)
class Report:
    funnel: str
    as_of: dt.date
    currency: str | None
    stages: tuple[StageFigures, ...]
    won: int
    lost: int
    lost_unknown_stage: int
    open: int
    win_rate: Fraction | None
    money: tuple[MoneyFigures, ...]
    median_cycle_days: float | None
    p90_cycle_days: float | None
    sales_velocity_per_day: Fraction | None
    bottlenecks: tuple[Bottleneck, ...]
    # "revenue" (planned rates: revenue lost against plan), "revenue leak" (no plan), or
    # "expected wins lost" (no plan and no single average won value).
    bottleneck_by: str
    stale: tuple[StaleDeal, ...]  # the oldest STALE_KEPT, oldest first
    stale_count: int  # all stale deals
    negative_durations: int
    negative_first_row: int | None
    won_without_amount: int
    open_without_amount: int
    has_stage_dates: bool
    # Stages below plan whose gap is within sampling noise, furthest below first.
    within_noise: tuple[Bottleneck, ...] = ()
    # P(win) for a deal open in each stage (1 at won; None where unknown), and what gave
    # it: WIN_FROM_MEASURED, the probability column (win_from_column()) or WIN_FROM_WIN_RATE.
    win_probabilities: tuple[Fraction | None, ...] = ()
    win_probability_from: str = "measured"
    notes: tuple[str, ...] = ()  # what the figures cannot say, and how to fix it

    @property
    def has_plan(self) -> bool:
        """True when some stage has a planned rate (a report-only funnel has none)."""
        return any(stage.planned_conversion is not None for stage in self.stages[:-1])

    @property
    def losses_unattributed(self) -> bool:
        """Some lost deals are at an unknown stage: per-stage rates cannot be measured."""
        return self.lost_unknown_stage > 0

    @property
    def primary_money(self) -> MoneyFigures | None:
        """The money figures when the export has one currency; None when it mixes several."""
        return self.money[0] if len(self.money) == 1 else None


def finish(
    builder: ReportBuilder,
    funnel: Funnel,
    stage_probabilities: StageProbabilities | None = None,
) -> Report:
    """Turn accumulated counts into the report's figures.

    ``stage_probabilities``: the export's probability column per stage, read at the edge
    only when losses are unattributed (see the module doc); ignored otherwise.
    """
    n = builder.stage_count
    reached = _reached(builder.reached_at)
    unattributed = builder.lost_unknown_stage > 0
    resolved: list[Fraction | None] = [None] * n
    if not unattributed:
        resolved[: n - 1] = [
            _ratio(reached[i + 1], reached[i] - builder.current[i]) for i in range(n - 1)
        ]
    stages = tuple(_stage_figures(builder, funnel, reached, resolved[i], i) for i in range(n))
    lost_total = sum(builder.lost)
    win_rate = _ratio(builder.won, builder.won + lost_total)
    notes: tuple[str, ...] = ()
    if unattributed:
        win_from, method = _unattributed_win_probabilities(
            n, win_rate, stage_probabilities, builder.current, builder.stage_names
        )
        notes = (unattributed_note(builder.lost_unknown_stage, method),)
    else:
        win_from, method = _win_probabilities(resolved, funnel), WIN_FROM_MEASURED
    money = _money_figures(builder, win_from, funnel)
    cycle = _Ascending(builder.cycle_days)
    median_cycle = _median(cycle)
    open_count = sum(builder.current)
    single = money[0] if len(money) == 1 else None
    velocity = None
    if single and win_rate is not None and single.average_won_value is not None and median_cycle:
        velocity = open_count * win_rate * single.average_won_value / Fraction(median_cycle)
    bottlenecks, within_noise, ranked_by = _bottlenecks(stages, win_from, single)
    stale = sorted(
        (entry[3] for entry in builder.stale), key=lambda deal: (-deal.days, deal.id, deal.row)
    )
    return Report(
        funnel=funnel.name,
        as_of=builder.as_of,
        currency=single.currency if single else (funnel.currency if not money else None),
        stages=stages,
        won=builder.won,
        lost=lost_total,
        lost_unknown_stage=builder.lost_unknown_stage,
        open=open_count,
        win_rate=win_rate,
        money=tuple(money),
        median_cycle_days=median_cycle,
        p90_cycle_days=_quantile(cycle, 0.9, presorted=True),
        sales_velocity_per_day=velocity,
        bottlenecks=bottlenecks,
        bottleneck_by=ranked_by,
        within_noise=within_noise,
        stale=tuple(stale),
        stale_count=builder.stale_count,
        negative_durations=builder.negative_durations,
        negative_first_row=builder.negative_first_row,
        won_without_amount=builder.won_without_amount,
        open_without_amount=builder.open_without_amount,
        has_stage_dates=builder.has_stage_dates,
        win_probabilities=tuple(win_from),
        win_probability_from=method,
        notes=notes,
    )


WIN_FROM_MEASURED = "measured"
WIN_FROM_WIN_RATE = "the overall win rate"


def win_from_column(header: str) -> str:
    """The method's name when the export's probability column gave the probabilities."""
    return f"the export's '{header}' column"


@dataclass(frozen=True)
class StageProbabilities:
    """The export's probability column per stage: the mean over the open deals the report
    counts in each stage (None where none has one), and the column's header."""

    header: str
    means: tuple[Fraction | None, ...]


def unattributed_note(count: int, method: str) -> str:
    """Why no stage's conversion is measured, what weighs the open deals, and the fix."""
    deals = "lost deal has" if count == 1 else "lost deals have"
    return (
        f"{count:,} {deals} no stage: the export does not say where deals were lost, so "
        f"no stage's conversion can be measured (shown as –); open deals are weighted by "
        f"{method}. Add --history with the stage history, stage-date columns, or a "
        "status column (won/lost/open) that keeps the stage a deal was lost at."
    )


def _unattributed_win_probabilities(
    n: int,
    win_rate: Fraction | None,
    stage_probabilities: StageProbabilities | None,
    current: Sequence[int],
    names: Sequence[str],
) -> tuple[list[Fraction | None], str]:
    """P(win) per stage when losses are unattributed (see the module doc) and its method.

    A stage the column leaves without a probability takes the overall win rate; the
    method then names both, with the stages that took it.
    """
    probabilities: list[Fraction | None] = [win_rate] * (n - 1) + [Fraction(1)]
    if stage_probabilities is None:
        return probabilities, WIN_FROM_WIN_RATE
    standing_in = []
    for index, mean in enumerate(stage_probabilities.means[: n - 1]):
        if mean is not None:
            probabilities[index] = mean
        elif current[index]:
            standing_in.append(names[index])
    method = win_from_column(stage_probabilities.header)
    if standing_in:
        method += f", {WIN_FROM_WIN_RATE} for {', '.join(standing_in)}"
    return probabilities, method


def _stage_figures(
    builder: ReportBuilder,
    funnel: Funnel,
    reached: list[int],
    resolved: Fraction | None,
    index: int,
) -> StageFigures:
    stage = funnel.stages[index]
    days = _Ascending(builder.days_in_stage[index])
    return StageFigures(
        name=stage.name,
        reached=reached[index],
        current=builder.current[index],
        lost=builder.lost[index],
        conversion_to_next=_ratio(reached[index + 1], reached[index])
        if index < len(reached) - 1
        else None,
        resolved_conversion=resolved,
        cumulative_conversion=_ratio(reached[index], reached[0]),
        planned_conversion=stage.conversion,
        median_days_in_stage=quantile(days, 0.5),
        p90_days_in_stage=quantile(days, 0.9),
        p75_days_in_stage=quantile(days, 0.75),
        still_in_stage=builder.still_in_stage[index],
        median_days_before_loss=_median(builder.days_before_loss[index]),
        skipped=builder.skipped[index],
        moved_back=builder.moved_back[index],
    )


def _reached(reached_at: list[int]) -> list[int]:
    """reached[i] = deals whose furthest stage is i or beyond (a running sum from the bottom)."""
    reached = [0] * len(reached_at)
    running = 0
    for index in range(len(reached_at) - 1, -1, -1):
        running += reached_at[index]
        reached[index] = running
    return reached


def _ratio(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator > 0 else None


def _median(values: Sequence[int]) -> float | None:
    return _quantile(values, 0.5)


def _quantile(values: Sequence[int], fraction: float, *, presorted: bool = False) -> float | None:
    return quantile(values if presorted else _Ascending(values), fraction)


class _Ascending(Sequence[int]):
    """Whole numbers in ascending order, kept as a count per value: what quantile() reads
    of a sorted list, without sorting. Day counts repeat (a million deals spread over a
    few hundred values), and counting them costs a third of sorting them."""

    __slots__ = ("_ends", "_values")

    def __init__(self, values: Iterable[int]) -> None:
        counts = Counter(values)
        self._values = sorted(counts)
        # _ends[k]: how many values are <= _values[k], i.e. the rank just past them.
        self._ends = list(itertools.accumulate(counts[value] for value in self._values))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...

    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(len(self)))]
        size = len(self)
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise IndexError(index)
        return self._values[bisect.bisect_right(self._ends, position)]


def _win_probabilities(resolved: list[Fraction | None], funnel: Funnel) -> list[Fraction | None]:
    """P(win from stage i): the product of resolved conversions from i down.

    Where a stage has no resolved deals yet its planned rate stands in; without either
    the probability is unknown (None) for that stage and those above it.
    """
    n = len(funnel.stages)
    probabilities: list[Fraction | None] = [None] * n
    probabilities[n - 1] = Fraction(1)
    for index in range(n - 2, -1, -1):
        rate = resolved[index] if resolved[index] is not None else funnel.stages[index].conversion
        below = probabilities[index + 1]
        probabilities[index] = rate * below if rate is not None and below is not None else None
    return probabilities


def _money_figures(
    builder: ReportBuilder, win_from: list[Fraction | None], funnel: Funnel
) -> list[MoneyFigures]:
    figures = []
    # Most won deals first; the code breaks ties so the order never depends on row order.
    ordered = sorted(builder.money.items(), key=lambda item: (-item[1].won_count, item[0]))
    for currency, money in ordered:
        won_total = money.won_total
        weighted: Fraction | None = Fraction(0)
        for index, value in enumerate(money.open_by_stage):
            if not value:
                continue
            probability = win_from[index]
            if probability is None or weighted is None:
                weighted = None
            else:
                weighted += Fraction(value) * probability
        figures.append(
            MoneyFigures(
                currency=currency,
                open_by_stage=tuple(money.open_by_stage),
                open_value=sum(money.open_by_stage, Decimal(0)),
                weighted_open_value=weighted,
                won_value=won_total,
                lost_value=money.lost_value,
                average_won_value=Fraction(won_total) / money.won_count
                if money.won_count
                else None,
                median_won_value=quantile(sorted(money.won_values), 0.5),
            )
        )
    return figures


def _bottlenecks(
    stages: Sequence[StageFigures], win_from: list[Fraction | None], money: MoneyFigures | None
) -> tuple[tuple[Bottleneck, ...], tuple[Bottleneck, ...], str]:
    """The stages to fix first: (bottlenecks, stages below plan within noise, ranked by).

    With planned rates, a stage is a bottleneck only when its planned rate lies above the
    high end of the NOISE_LEVEL Wilson interval of its resolved conversion (successes:
    reached[i+1]; trials: reached[i] - current[i]): a gap inside the interval is what
    sampling alone gives often enough, and naming it would send a team after noise.
    Bottlenecks rank by revenue_impact = (reached - current) x (planned - actual) x
    P(win from the next stage) x average won value; the stages below plan but within
    noise come second, furthest below first.

    Without planned rates, a stage with lost deals ranks by its revenue leak, lost x
    P(win | reached the next stage) x average won value: what its lost deals would have
    been worth had they gone on like those that did. Without one average won value (no
    won amount, or several currencies), by lost x P(win | reached the next stage), the
    wins lost.
    """
    body = list(enumerate(stages[:-1]))
    if any(stage.planned_conversion is not None for _, stage in body):
        return (*_below_plan(stages, win_from, money), "revenue")
    average = money.average_won_value if money else None
    rows = []
    for index, stage in body:
        actual = stage.resolved_conversion
        if actual is None or stage.lost == 0:
            continue
        win_next = win_from[index + 1]
        leak = None
        if win_next is not None and average is not None:
            leak = stage.lost * win_next * average
        rows.append(
            Bottleneck(
                stage.name,
                stages[index + 1].name,
                actual,
                None,
                None,
                stage.lost,
                win_from_next=win_next,
                revenue_leak=leak,
            )
        )
    if average is None:
        rows.sort(key=lambda row: _unknown_last(row.expected_wins_lost, row.lost))
        return tuple(rows), (), "expected wins lost"
    rows.sort(key=lambda row: _unknown_last(row.revenue_leak, row.lost))
    return tuple(rows), (), "revenue leak"


def _unknown_last(value: Fraction | None, lost: int) -> tuple[bool, Fraction, int]:
    """Largest first; a stage whose value is unknown (no P(win) yet) after, by lost deals."""
    return value is None, -(value or Fraction(0)), -lost


def _below_plan(
    stages: Sequence[StageFigures], win_from: list[Fraction | None], money: MoneyFigures | None
) -> tuple[tuple[Bottleneck, ...], tuple[Bottleneck, ...]]:
    beyond: list[Bottleneck] = []
    within: list[Bottleneck] = []
    for index, stage in enumerate(stages[:-1]):
        actual, planned = stage.resolved_conversion, stage.planned_conversion
        if actual is None or planned is None or planned <= actual:
            continue
        resolved = stage.reached - stage.current
        interval = wilson_interval(stages[index + 1].reached, resolved, NOISE_LEVEL)
        win_next = win_from[index + 1]
        average = money.average_won_value if money else None
        impact = None
        if win_next is not None and average is not None:
            impact = resolved * (planned - actual) * win_next * average
        row = Bottleneck(
            stage.name,
            stages[index + 1].name,
            actual,
            planned,
            impact,
            stage.lost,
            interval=interval,
            win_from_next=win_next,
        )
        (beyond if planned > interval[1] else within).append(row)
    beyond.sort(key=lambda row: (-(row.revenue_impact or 0), -row.gap))
    within.sort(key=lambda row: -row.gap)
    return tuple(beyond), tuple(within)


def build_report(
    deals: Iterable[Deal], funnel: Funnel, as_of: dt.date, stale_days: int | None = None
) -> Report:
    """A report over deals in one go (the streaming form is ReportBuilder + finish)."""
    builder = new_builder(funnel, as_of, stale_days)
    for deal in deals:
        builder.add(deal)
    return finish(builder, funnel)


# --- segments and cohorts -------------------------------------------------------------------

MIN_SEGMENT_DEALS = 20
"""A segment's stage is judged (ranked) only when at least this many of its deals left it."""

IMMATURE_OPEN_SHARE = Fraction(1, 2)
"""A cohort whose deals are more than this share still open is immature."""


@dataclass
class SlicedBuilder:
    """The whole report, plus one builder per segment (--by) and per cohort (--cohort)."""

    overall: ReportBuilder
    segments: dict[str, ReportBuilder] = field(default_factory=dict)
    cohorts: dict[str, ReportBuilder] = field(default_factory=dict)

    def _child(self, children: dict[str, ReportBuilder], key: str) -> ReportBuilder:
        child = children.get(key)
        if child is None:
            child = children[key] = _counts_only_like(self.overall)
        return child

    def add(self, deal: Deal) -> None:
        self.overall.add(deal)
        if deal.segment is not None:
            self._child(self.segments, deal.segment).add(deal)
        if deal.cohort is not None:
            self._child(self.cohorts, deal.cohort).add(deal)

    def add_rows(self, rows: Sequence[DealRow]) -> None:
        """:meth:`add` for deals as rows: each segment's and cohort's rows in one call."""
        self.overall.add_rows(rows)
        for children, key_of in ((self.segments, _SEGMENT_OF), (self.cohorts, _COHORT_OF)):
            # Children are made in order of first appearance, as add() makes them.
            groups: dict[str, list[DealRow]] = {}
            for row in rows:
                key = key_of(row)
                if key is not None:
                    group = groups.get(key)
                    if group is None:
                        groups[key] = [row]
                    else:
                        group.append(row)
            for key, group in groups.items():
                self._child(children, key).add_rows(group)

    def merge(self, other: SlicedBuilder) -> None:
        self.overall.merge(other.overall)
        for mine, theirs in ((self.segments, other.segments), (self.cohorts, other.cohorts)):
            for key, builder in theirs.items():
                self._child(mine, key).merge(builder)


def _counts_only_like(template: ReportBuilder) -> ReportBuilder:
    return ReportBuilder(
        template.stage_names,
        template.as_of,
        template.stale_days,
        default_currency=template.default_currency,
        counts_only=True,
    )


_SEGMENT_OF: Callable[[DealRow], str | None] = operator.attrgetter("segment")
_COHORT_OF: Callable[[DealRow], str | None] = operator.attrgetter("cohort")


def new_sliced_builder(
    funnel: Funnel, as_of: dt.date, stale_days: int | None = None
) -> SlicedBuilder:
    return SlicedBuilder(new_builder(funnel, as_of, stale_days))


@dataclass(frozen=True)
class SegmentStage:
    name: str
    reached: int
    resolved_conversion: Fraction | None
    judged: bool  # enough deals left the stage to rank this segment there
    worst: bool  # the lowest judged resolved conversion among the segments


@dataclass(frozen=True)
class SegmentFigures:
    name: str
    deals: int
    won: int
    lost: int
    open: int
    win_rate: Fraction | None
    stages: tuple[SegmentStage, ...]
    bottleneck: str | None
    immature: bool  # cohorts: most deals still open


def finish_slices(
    builders: dict[str, ReportBuilder], funnel: Funnel, *, sort_by_name: bool
) -> tuple[SegmentFigures, ...]:
    """Per segment: reached and resolved conversion per stage, win rate, its bottleneck.

    A stage is judged for a segment when at least MIN_SEGMENT_DEALS of its deals left
    it; among judged segments the lowest resolved conversion is marked worst.
    """
    reports = {name: finish(builder, funnel) for name, builder in builders.items()}
    worst = _worst_per_stage(reports, len(funnel.stages))
    rows = [_slice_figures(name, report, worst) for name, report in reports.items()]
    if sort_by_name:
        rows.sort(key=lambda row: row.name)
    else:
        rows.sort(key=lambda row: (-row.deals, row.name))
    return tuple(rows)


def _slice_figures(name: str, report: Report, worst: dict[int, str]) -> SegmentFigures:
    deals = report.stages[0].reached
    return SegmentFigures(
        name=name,
        deals=deals,
        won=report.won,
        lost=report.lost,
        open=report.open,
        win_rate=report.win_rate,
        stages=tuple(
            SegmentStage(
                stage.name,
                stage.reached,
                stage.resolved_conversion,
                _judged(stage),
                worst.get(index) == name,
            )
            for index, stage in enumerate(report.stages)
        ),
        bottleneck=report.bottlenecks[0].stage if report.bottlenecks else None,
        immature=deals > 0 and Fraction(report.open, deals) > IMMATURE_OPEN_SHARE,
    )


@dataclass(frozen=True)
class FoldedSegments:
    """The segments beyond --max-segments, counted as one: the report's "others" row.

    Every figure a segment row shows is a count or a money total, which add up exactly,
    so the row's figures are those of the folded segments' deals taken together.
    """

    segments: int  # how many segments were folded
    figures: SegmentFigures  # their deals together; never ranked worst


def finish_segments(
    builders: dict[str, ReportBuilder], funnel: Funnel, max_segments: int
) -> tuple[tuple[SegmentFigures, ...], FoldedSegments | None]:
    """:func:`finish_slices` for --by, keeping the ``max_segments`` segments with the most
    deals (ties by name; 0 keeps all) and folding the rest into one :class:`FoldedSegments`.

    Only the kept segments and the fold are finished, so a column with a value per deal
    costs a sort of counts, not a report per value.
    """
    if max_segments <= 0 or len(builders) <= max_segments:
        return finish_slices(builders, funnel, sort_by_name=False), None
    ordered = sorted(builders, key=lambda name: (-sum(builders[name].reached_at), name))
    kept = {name: builders[name] for name in ordered[:max_segments]}
    others = _counts_only_like(builders[ordered[0]])
    for name in ordered[max_segments:]:
        others.merge(builders[name])
    folded = _slice_figures(OTHERS_SEGMENT, finish(others, funnel), worst={})
    rows = finish_slices(kept, funnel, sort_by_name=False)
    return rows, FoldedSegments(len(ordered) - max_segments, folded)


OTHERS_SEGMENT = "(others)"
"""The name of the row that holds the segments beyond --max-segments."""


def _judged(stage: StageFigures) -> bool:
    return (
        stage.resolved_conversion is not None and stage.reached - stage.current >= MIN_SEGMENT_DEALS
    )


def _worst_per_stage(reports: dict[str, Report], stage_count: int) -> dict[int, str]:
    worst: dict[int, str] = {}
    for index in range(stage_count - 1):
        judged = [
            (report.stages[index].resolved_conversion, name)
            for name, report in reports.items()
            if _judged(report.stages[index])
        ]
        rates = {rate for rate, _ in judged}
        if len(judged) >= 2 and len(rates) > 1:  # when all convert alike, none is worst
            worst[index] = min(judged, key=lambda item: (item[0] or 0, item[1]))[1]
    return worst


def cohort_of(created: dt.date | None, period: str) -> str:
    """``2017-03`` (month) or ``2017-Q1`` (quarter); deals without a created date share one."""
    if created is None:
        return "(no created date)"
    if period == "quarter":
        return f"{created.year}-Q{(created.month - 1) // 3 + 1}"
    return f"{created.year}-{created.month:02d}"
