"""Deal records -> mergeable counts; the definitions of every figure they give.

The counting is here (:class:`ReportBuilder`); the figures are computed from its counts by
:mod:`funnelcli.report_figures`, segments and cohorts by :mod:`funnelcli.segments`.

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
single builder over all rows would give. :func:`~funnelcli.deal_records.deal_as_of` rebuilds a deal as
it stood on a past day, for the funnel as it stood.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import itertools
import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from funnelcli.deal_records import (
    LOST,
    Deal,
    DealRow,
    Outcome,
    StageChanges,
    deal_row,
    stage_changes,
    stage_in_history,
)
from funnelcli.definition import Funnel

NOISE_LEVEL = 0.9
"""A stage is a bottleneck against plan only when its planned rate lies outside the Wilson
interval of its resolved conversion at this level (see :func:`funnelcli.report_figures._bottlenecks`)."""

STALE_FACTOR = 2
"""An open deal is stale after this many times its stage's typical ``days``."""

STALE_KEPT = 1000
"""Stale deals listed: the oldest this many. All are counted (``stale_count``); keeping
every one would make memory grow with the file, which a million-row export must not."""


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
    """Accumulates deals; :func:`funnelcli.report_figures.finish` computes the figures. Mergeable (see :meth:`merge`)."""

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
        changes = stage_changes(deal)
        if changes is None:
            self.add_rows((deal_row(deal),))
            return
        self.has_stage_dates = True
        stage = stage_in_history(deal.stage, changes)
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
        ``tests/test_report.py`` pins its figures by hand; ``tests/readers/test_fast_lane.py`` holds
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
                        self._note_stale(
                            self.stale_deal(
                                furthest, since, deal_id, owner, amount, currency, number
                            )
                        )
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
                self.stale_deal(
                    stage, since, deal.id, deal.owner, deal.amount, deal.currency, deal.row
                )
            )

    def _note_stale(self, stale: StaleDeal) -> None:
        """Count a deal open beyond its stage's limit; keep it if among the oldest."""
        self.stale_count += 1
        self._keep_stale(stale)

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
