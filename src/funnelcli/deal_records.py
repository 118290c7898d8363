"""A deal as the report counts it: the record (:class:`Deal`), its tuple for the row path
(:class:`DealRow`), its outcome; and its stage history: the changes by date, the stage an
open deal is counted in, and the deal as it stood on a past day (:func:`deal_as_of`).

The counting rule that takes these is :class:`funnelcli.report.ReportBuilder`.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import NamedTuple


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
    changes = stage_changes(deal) if isinstance(deal, Deal) else None
    if changes is not None:
        stage = stage_in_history(stage, changes)
    elif entered is not None:
        dated = next((i for i in range(last - 1, -1, -1) if entered[i] is not None), -1)
        if dated >= 0 and (stage is None or dated > stage):
            stage = dated
    if stage is None:
        return 0
    return min(stage, last - 1)


def stage_in_history(stage: int | None, changes: StageChanges) -> int | None:
    """The furthest stage a deal without a win reached: its ``stage``, or a later stage its
    history entered; None when neither says (ReportBuilder.add_rows counts it as unknown)."""
    changed_to = max((change for _, change in changes), default=LOST)
    if changed_to != LOST:
        return max(changed_to, stage if stage is not None else LOST)
    return stage


def stage_changes(deal: Deal) -> StageChanges | None:
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
