"""Stage history in the report core: timelines, every expected figure worked out by hand.

The definitions are those of ``funnelcli/report.py``'s docstring. Stages are Lead(0) >
Qualified(1) > Proposal(2) > Won(3); days 5, 10, 7, so stale after 10, 20 and 14 days.
Each timeline is written as the changes it holds; LOST is a move to a lost label.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelcli.deal_records import LOST, Deal, Outcome, deal_as_of
from funnelcli.definition import Funnel
from funnelcli.report import new_builder
from funnelcli.report_figures import Report, build_report, finish

from .test_report import AS_OF, dated_deals, day, deal, make_funnel

F = Fraction
WON, LOST_DEAL, OPEN = Outcome.WON, Outcome.LOST, Outcome.OPEN

Timeline = tuple[tuple[dt.date, int], ...]


def timeline(*changes: tuple[tuple[int, int], int]) -> Timeline:
    """``((month, day), stage)`` pairs -> a timeline in 2024."""
    return tuple((day(month, day_of_month), stage) for (month, day_of_month), stage in changes)


def without_timelines(deals: Sequence[Deal]) -> list[Deal]:
    return [replace(item, timeline=None) for item in deals]


def column(report: Report, name: str) -> list[object]:
    return [getattr(stage, name) for stage in report.stages]


# --- lost deals at the stage where they were lost -------------------------------------------
#
# No planned rates: bottlenecks rank by lost deals. The lost deals' stage column holds a
# lost label, so without a timeline their stage is unknown (counted at Lead).
#
#  row outcome stage timeline                                                  f
#   1  lost    ?     Lead 01-01, Qualified 01-05, Proposal 01-10, LOST 01-20    2
#   2  lost    ?     Lead 01-01, Qualified 01-08, Proposal 01-15, LOST 01-27    2
#   3  lost    ?     Lead 01-01, Qualified 01-04, LOST 01-09                    1
#   4  won     3     Lead 01-01, Qualified 01-03, Proposal 01-06, Won 01-16     3
#   5  won     3     (none)                                                     3
#   6  open    0     (none), created 02-20                                      0


def lost_deals() -> list[Deal]:
    return [
        deal(
            1,
            LOST_DEAL,
            None,
            timeline=timeline(((1, 1), 0), ((1, 5), 1), ((1, 10), 2), ((1, 20), LOST)),
        ),
        deal(
            2,
            LOST_DEAL,
            None,
            timeline=timeline(((1, 1), 0), ((1, 8), 1), ((1, 15), 2), ((1, 27), LOST)),
        ),
        deal(3, LOST_DEAL, None, timeline=timeline(((1, 1), 0), ((1, 4), 1), ((1, 9), LOST))),
        deal(4, WON, 3, timeline=timeline(((1, 1), 0), ((1, 3), 1), ((1, 6), 2), ((1, 16), 3))),
        deal(5, WON, 3),
        deal(6, OPEN, 0, created=day(2, 20)),
    ]


NO_RATES = make_funnel(rates=(None, None, None))


def test_lost_deals_count_at_lead_without_timelines() -> None:
    # f = [0, 0, 0, 3, 3, 0]: reached_at [4, 0, 0, 2] -> reached [6, 2, 2, 2]
    report = build_report(without_timelines(lost_deals()), NO_RATES, AS_OF)
    assert column(report, "reached") == [6, 2, 2, 2]
    assert column(report, "lost") == [3, 0, 0, 0]
    assert report.lost_unknown_stage == 3
    # Where the 3 were lost is unknown: no stage's conversion is measured (counting them
    # at Lead would show every later stage at 100%), so no stage is ranked.
    assert column(report, "resolved_conversion") == [None] * 4
    assert report.bottlenecks == ()
    assert column(report, "median_days_before_loss") == [None] * 4


def test_lost_deals_count_where_their_timeline_lost_them() -> None:
    # f = [2, 2, 1, 3, 3, 0]: reached_at [1, 1, 2, 2] -> reached [6, 5, 4, 2]
    report = build_report(lost_deals(), NO_RATES, AS_OF)
    assert column(report, "reached") == [6, 5, 4, 2]
    assert column(report, "lost") == [0, 1, 2, 0]
    assert column(report, "current") == [1, 0, 0, 0]
    assert report.lost_unknown_stage == 0
    assert report.has_stage_dates is True
    # resolved: Lead 5/5 (none lost: no bottleneck), Qualified 4/5, Proposal 2/4;
    # ranked by lost deals: Proposal 2, Qualified 1.
    assert [(b.stage, b.lost, b.actual) for b in report.bottlenecks] == [
        ("Proposal", 2, F(1, 2)),
        ("Qualified", 1, F(4, 5)),
    ]


def test_days_before_loss_by_hand() -> None:
    report = build_report(lost_deals(), NO_RATES, AS_OF)
    # Proposal: row 1 01-10..01-20 = 10, row 2 01-15..01-27 = 12 -> median 11
    # Qualified: row 3 01-04..01-09 = 5
    assert column(report, "median_days_before_loss") == [None, 5, 11, None]
    # Days in stage, change to change: Lead [4, 7, 3, 2] -> (3 + 4) / 2;
    # Qualified [5, 7, 5, 3] -> 5; Proposal [10, 12, 10] -> 10
    assert column(report, "median_days_in_stage") == [3.5, 5, 10, None]


def test_days_before_loss_from_the_last_entry_or_to_the_close_date() -> None:
    deals = [
        # f = Proposal; back to Qualified, then lost: from the last entry into
        # Proposal, 01-05 .. 01-20 = 15.
        deal(
            1,
            LOST_DEAL,
            None,
            timeline=timeline(((1, 1), 0), ((1, 5), 2), ((1, 15), 1), ((1, 20), LOST)),
        ),
        # No LOST change: to the close date, 01-03 .. 01-13 = 10.
        deal(2, LOST_DEAL, None, closed=day(1, 13), timeline=timeline(((1, 1), 0), ((1, 3), 1))),
        # Neither a LOST change nor a close date: no end, left out.
        deal(3, LOST_DEAL, None, timeline=timeline(((1, 1), 0), ((1, 3), 1))),
        # Closed before its last change: negative, left out.
        deal(4, LOST_DEAL, None, closed=day(1, 2), timeline=timeline(((1, 1), 0), ((1, 3), 1))),
    ]
    report = build_report(deals, make_funnel(), AS_OF)
    assert column(report, "lost") == [0, 3, 1, 0]
    assert column(report, "median_days_before_loss") == [None, 10, 15, None]
    # Row 4's Qualified days (01-03 .. 01-02) are negative: counted once, left out.
    assert report.negative_durations == 1


# --- skipped stages ------------------------------------------------------------------------
#
#  row outcome stage history                                                f  skipped
#   1  open    2     timeline Lead 01-01, Proposal 01-05                    2  Qualified
#   2  won     3     timeline Lead 01-01, Won 01-20                         3  Qualified, Proposal
#   3  lost    ?     entered Lead 01-01, Proposal 01-11 (no timeline)       2  Qualified
#   4  lost    2     timeline LOST 01-09 only: names no stage               2  -
#   5  open    1     no history                                             1  -
#   6  won     3     timeline Qualified 01-02, Proposal 01-05, Won 01-09    3  - (its history
#                    starts at Qualified: it says nothing of Lead, which it may have passed)


def skipping_deals() -> list[Deal]:
    return [
        deal(1, OPEN, 2, timeline=timeline(((1, 1), 0), ((1, 5), 2))),
        deal(2, WON, 3, timeline=timeline(((1, 1), 0), ((1, 20), 3))),
        deal(3, LOST_DEAL, None, closed=day(1, 21), entered=[day(1, 1), None, day(1, 11), None]),
        deal(4, LOST_DEAL, 2, timeline=timeline(((1, 9), LOST))),
        deal(5, OPEN, 1),
        deal(6, WON, 3, timeline=timeline(((1, 2), 1), ((1, 5), 2), ((1, 9), 3))),
    ]


def test_skipped_stages_count_as_reached_and_as_skipped() -> None:
    report = build_report(skipping_deals(), make_funnel(), AS_OF)
    # f = [2, 3, 2, 2, 1, 3]: reached_at [0, 1, 3, 2] -> reached [6, 6, 5, 2]
    assert column(report, "reached") == [6, 6, 5, 2]
    # Lead: none; Qualified: rows 1, 2, 3; Proposal: row 2
    assert column(report, "skipped") == [0, 3, 1, 0]


def test_skipped_with_stage_dates_alone() -> None:
    # dated_deals (tests/test_report.py): only A (f = 2) lacks a date below its f, Qualified.
    report = build_report(dated_deals(), make_funnel(), AS_OF)
    assert column(report, "skipped") == [0, 1, 0, 0]
    assert column(report, "moved_back") == [0, 0, 0, 0]  # stage dates cannot tell


# --- moving back ---------------------------------------------------------------------------
#
#  row outcome stage timeline                                                       f
#   1  won     3     Lead 01-01, Qual 01-05, Prop 01-10, Qual 01-14, Prop 01-20,    3
#                    Won 01-30 (closed 01-30)
#   2  open    0     Lead 01-01, Prop 01-03, Lead 01-08                             2
#   3  open    0     Lead 01-01, Qual 01-02, Prop 01-04, Qual 01-06, Lead 01-09     2
#   4  lost    ?     Lead 01-01, Prop 01-02, Qual 01-03, Prop 01-04, Qual 01-05,    2
#                    LOST 01-06
#
# moved back from: row 1 Proposal; row 2 Proposal; row 3 Proposal and Qualified; row 4
# Proposal (twice, counted once).


def moving_deals() -> list[Deal]:
    return [
        deal(
            1,
            WON,
            3,
            closed=day(1, 30),
            timeline=timeline(
                ((1, 1), 0), ((1, 5), 1), ((1, 10), 2), ((1, 14), 1), ((1, 20), 2), ((1, 30), 3)
            ),
        ),
        deal(2, OPEN, 0, timeline=timeline(((1, 1), 0), ((1, 3), 2), ((1, 8), 0))),
        deal(
            3,
            OPEN,
            0,
            timeline=timeline(((1, 1), 0), ((1, 2), 1), ((1, 4), 2), ((1, 6), 1), ((1, 9), 0)),
        ),
        deal(
            4,
            LOST_DEAL,
            None,
            timeline=timeline(
                ((1, 1), 0), ((1, 2), 2), ((1, 3), 1), ((1, 4), 2), ((1, 5), 1), ((1, 6), LOST)
            ),
        ),
    ]


def test_moved_back_counts_deals_once_per_stage() -> None:
    report = build_report(moving_deals(), make_funnel(), AS_OF)
    assert column(report, "moved_back") == [0, 1, 4, 0]
    # Each deal counts once in reached: f = [3, 2, 2, 2] -> reached [4, 4, 4, 1].
    assert column(report, "reached") == [4, 4, 4, 1]
    # Open deals count at f, where they reached, though rows 2 and 3 are back in Lead.
    assert column(report, "current") == [0, 0, 2, 0]
    assert column(report, "lost") == [0, 0, 1, 0]
    assert column(report, "skipped") == [0, 1, 0, 0]  # row 2 jumped Lead -> Proposal
    assert column(report, "still_in_stage") == [2, 0, 0, 0]  # rows 2 and 3, in Lead again


def test_moved_back_from_the_won_stage_is_a_reopened_deal() -> None:
    # Won on 01-10, reopened into Proposal on 01-15, lost on 01-20: lost at Proposal (a
    # lost deal's f stops below Won), and Won counts one deal moved back from it.
    only = [
        deal(
            1,
            LOST_DEAL,
            None,
            timeline=timeline(((1, 1), 0), ((1, 10), 3), ((1, 15), 2), ((1, 20), LOST)),
        )
    ]
    report = build_report(only, make_funnel(), AS_OF)
    assert column(report, "lost") == [0, 0, 1, 0]
    assert column(report, "moved_back") == [0, 0, 0, 1]
    # Lead 01-01..01-10 = 9, Proposal 01-15..01-20 = 5; it never entered Qualified.
    assert column(report, "skipped") == [0, 1, 0, 0]
    assert column(report, "median_days_in_stage") == [9, None, 5, None]
    assert column(report, "median_days_before_loss") == [None, None, 5, None]


def test_days_in_stage_sum_the_visits() -> None:
    report = build_report(moving_deals()[:1], make_funnel(), AS_OF)
    # Row 1: Lead 01-01..01-05 = 4; Qualified (01-05..01-10) + (01-14..01-20) = 5 + 6 = 11;
    # Proposal (01-10..01-14) + (01-20..01-30) = 4 + 10 = 14.
    assert column(report, "median_days_in_stage") == [4, 11, 14, None]


def test_days_in_stage_quantiles_with_moves_back() -> None:
    report = build_report(moving_deals(), make_funnel(), AS_OF)
    lead, qualified, proposal, _ = report.stages
    # Lead: row 1 4; row 4 1; rows 2 and 3 are still in Lead (left out) -> [1, 4]
    assert (lead.median_days_in_stage, lead.still_in_stage) == (2.5, 2)
    # Qualified: row 1 11; row 3 (01-02..01-04) + (01-06..01-09) = 2 + 3 = 5;
    # row 4 (01-03..01-04) + (01-05..01-06) = 1 + 1 = 2 -> [2, 5, 11]
    # median 5; p75 position 2 x 0.75 = 1.5 -> 5 + 0.5 x 6 = 8; p90 1.8 -> 5 + 0.8 x 6 = 9.8
    assert qualified.median_days_in_stage == 5
    assert qualified.p75_days_in_stage == pytest.approx(8)
    assert qualified.p90_days_in_stage == pytest.approx(9.8)
    # Proposal: row 1 14; row 2 01-03..01-08 = 5; row 3 01-04..01-06 = 2;
    # row 4 (01-02..01-03) + (01-04..01-05) = 2 -> [2, 2, 5, 14]
    # median 3.5; p75 position 3 x 0.75 = 2.25 -> 5 + 0.25 x 9 = 7.25; p90 2.7 -> 11.3
    assert proposal.median_days_in_stage == 3.5
    assert proposal.p75_days_in_stage == pytest.approx(7.25)
    assert proposal.p90_days_in_stage == pytest.approx(11.3)
    # Row 4 was lost from Qualified but reached Proposal (f): from its last entry into
    # Proposal, 01-04, to LOST on 01-06 = 2.
    assert proposal.median_days_before_loss == 2


def test_still_in_stage_and_quantiles_over_deals() -> None:
    # Five deals entered Lead on 01-01 and Qualified after d = 2, 4, 6, 10, 20 days; all
    # still in Qualified.
    deals = [
        deal(row, OPEN, 1, timeline=((day(1, 1), 0), (day(1, 1) + dt.timedelta(days), 1)))
        for row, days in enumerate((2, 4, 6, 10, 20), start=1)
    ]
    lead, qualified, _, _ = build_report(deals, make_funnel(), AS_OF).stages
    # [2, 4, 6, 10, 20]: median 6; p75 position 4 x 0.75 = 3 -> 10; p90 3.6 -> 10 + 0.6 x 10
    assert lead.median_days_in_stage == 6
    assert lead.p75_days_in_stage == 10
    assert lead.p90_days_in_stage == pytest.approx(16)
    assert (lead.still_in_stage, qualified.still_in_stage) == (0, 5)
    assert qualified.median_days_in_stage is None


def test_closed_deal_ends_its_last_stage_at_the_close_date() -> None:
    deals = [
        # Lost without a LOST change: Lead 01-01..01-11 = 10, Qualified 01-11..01-31 = 20.
        deal(1, LOST_DEAL, None, closed=day(1, 31), timeline=timeline(((1, 1), 0), ((1, 11), 1))),
        # Won without a Won change: Proposal 01-05..01-25 = 20.
        deal(2, WON, 3, closed=day(1, 25), timeline=timeline(((1, 1), 0), ((1, 5), 2))),
        # Closed with no close date: its last stage has no end, left out (Lead 01-01..01-02 = 1).
        deal(3, WON, 3, timeline=timeline(((1, 1), 0), ((1, 2), 1))),
    ]
    report = build_report(deals, make_funnel(), AS_OF)
    # Lead [10, 4, 1] -> 4
    assert column(report, "median_days_in_stage") == [4, 20, 20, None]
    assert column(report, "still_in_stage") == [0, 0, 0, 0]


def test_stage_dates_give_p75_still_in_stage_and_days_before_loss() -> None:
    report = build_report(dated_deals(), make_funnel(), AS_OF)
    lead, qualified, proposal, _ = report.stages
    # Lead [2, 4, 10, 20] as in tests/test_report.py: p75 position 2.25 -> 10 + 0.25 x 10
    assert lead.p75_days_in_stage == pytest.approx(12.5)
    # C is open in Qualified, its latest dated stage; D open in Lead.
    assert column(report, "still_in_stage") == [1, 1, 0, 0]
    # A lost with f = Proposal, entered 01-11, closed 01-21: 10. E lost at Qualified,
    # entered 01-21 but closed 01-11: negative, left out.
    assert (qualified.median_days_before_loss, proposal.median_days_before_loss) == (None, 10)


def test_timeline_dates_win_and_entered_dates_fill_the_gaps() -> None:
    # Timeline Lead 01-01, Proposal 01-20; entered dates Lead 12-15, Qualified 01-10,
    # Proposal 01-25. The timeline names Lead and Proposal: its dates win; Qualified comes
    # from the entered dates -> Lead 01-01, Qualified 01-10, Proposal 01-20.
    entered = [dt.date(2023, 12, 15), day(1, 10), day(1, 25), None]
    only = [deal(1, OPEN, 2, entered=entered, timeline=timeline(((1, 1), 0), ((1, 20), 2)))]
    report = build_report(only, make_funnel(), AS_OF)
    # Lead 01-01..01-10 = 9, Qualified 01-10..01-20 = 10; in Proposal since 01-20
    assert column(report, "median_days_in_stage") == [9, 10, None, None]
    assert column(report, "still_in_stage") == [0, 0, 1, 0]
    assert column(report, "skipped") == [0, 0, 0, 0]
    # Stale from 01-20 (41 days to 03-01, above 14), not from 01-25 (36)
    assert [(s.stage, s.days) for s in report.stale] == [("Proposal", 41)]


# --- stale deals ---------------------------------------------------------------------------
#
#  row stage created     timeline                                    in stage now, since
#   1  1     2023-12-01  Lead 12-01, Qual 01-10, Prop 02-01, Qual 02-20  Qualified 02-20: 10 days
#   2  2     01-01       Lead 01-01, Prop 01-20                      Proposal 01-20: 41 days
#   3  0     01-01       Lead 01-01, Qual 01-05, Lead 02-01          Lead 02-01: 29 days


def stale_deals() -> list[Deal]:
    december = dt.date(2023, 12, 1)
    return [
        deal(
            1,
            OPEN,
            1,
            created=december,
            timeline=((december, 0), (day(1, 10), 1), (day(2, 1), 2), (day(2, 20), 1)),
        ),
        deal(2, OPEN, 2, created=day(1, 1), timeline=timeline(((1, 1), 0), ((1, 20), 2))),
        deal(
            3, OPEN, 0, created=day(1, 1), timeline=timeline(((1, 1), 0), ((1, 5), 1), ((2, 1), 0))
        ),
    ]


def test_stale_counts_days_since_the_last_change_into_the_current_stage() -> None:
    report = build_report(stale_deals(), make_funnel(), AS_OF)
    # Row 1: 10 <= 20, not stale. Row 2: 41 > 14. Row 3: in Lead again, 29 > 10, listed
    # at Lead though it counts as current at Qualified (its f).
    assert [(s.id, s.stage, s.days) for s in report.stale] == [
        ("D2", "Proposal", 41),
        ("D3", "Lead", 29),
    ]
    assert column(report, "current") == [0, 1, 2, 0]


def test_stale_without_timelines_counts_from_created() -> None:
    report = build_report(without_timelines(stale_deals()), make_funnel(), AS_OF)
    # From created: row 1 2023-12-01..03-01 = 31 + 31 + 29 = 91 > 20; row 2 60 > 14;
    # row 3 60 > 10.
    assert [(s.id, s.stage, s.days) for s in report.stale] == [
        ("D1", "Qualified", 91),
        ("D2", "Proposal", 60),
        ("D3", "Lead", 60),
    ]


def test_stale_falls_back_when_the_last_change_is_not_a_stage() -> None:
    # Open, but its last change is LOST (reopened without a change in the history):
    # stale as without a timeline, from created 01-01 at its stage, Qualified: 60 > 20.
    only = [deal(1, OPEN, 1, created=day(1, 1), timeline=timeline(((1, 1), 1), ((1, 15), LOST)))]
    assert [(s.stage, s.days) for s in build_report(only, make_funnel(), AS_OF).stale] == [
        ("Qualified", 60)
    ]


# --- the funnel as it stood ----------------------------------------------------------------

WON_DEAL_TIMELINE = timeline(((1, 1), 0), ((1, 5), 1), ((1, 10), 2), ((2, 1), 3))


def test_as_of_before_created_is_none() -> None:
    item = deal(1, OPEN, 0, created=day(2, 1))
    assert deal_as_of(item, day(1, 31)) is None
    assert deal_as_of(item, day(2, 1)) is item  # created that day: it stood as it is


def test_as_of_without_created_date_uses_the_first_change() -> None:
    item = deal(1, OPEN, 1, timeline=timeline(((1, 10), 0), ((1, 20), 1)))
    assert deal_as_of(item, day(1, 9)) is None
    as_of = deal_as_of(item, day(1, 10))
    assert as_of is not None
    assert (as_of.outcome, as_of.stage, as_of.timeline) == (OPEN, 0, timeline(((1, 10), 0)))


def test_as_of_open_deal_with_later_changes_is_in_its_stage_then() -> None:
    item = deal(
        1,
        OPEN,
        2,
        created=day(1, 1),
        entered=[day(1, 1), day(1, 10), day(2, 1), None],
        timeline=timeline(((1, 1), 0), ((1, 10), 1), ((2, 1), 2)),
    )
    as_of = deal_as_of(item, day(1, 20))
    assert as_of is not None
    assert (as_of.outcome, as_of.stage) == (OPEN, 1)
    assert as_of.timeline == timeline(((1, 1), 0), ((1, 10), 1))
    assert as_of.entered == [day(1, 1), day(1, 10), None, None]
    assert item.stage == 2  # the original is left alone


def test_as_of_won_after_the_day_is_open_in_its_stage_then() -> None:
    item = deal(1, WON, 3, created=day(1, 1), closed=day(2, 1), timeline=WON_DEAL_TIMELINE)
    as_of = deal_as_of(item, day(1, 15))
    assert as_of is not None
    assert (as_of.outcome, as_of.stage, as_of.closed) == (OPEN, 2, None)
    assert as_of.timeline == WON_DEAL_TIMELINE[:3]
    # On the day of the win it stood won.
    assert deal_as_of(item, day(2, 1)) is item


def test_as_of_lost_after_the_day_by_its_lost_change_alone() -> None:
    # No close date: the LOST change on 02-01 says when it closed.
    item = deal(1, LOST_DEAL, None, timeline=timeline(((1, 1), 0), ((1, 5), 1), ((2, 1), LOST)))
    as_of = deal_as_of(item, day(1, 20))
    assert as_of is not None
    assert (as_of.outcome, as_of.stage) == (OPEN, 1)
    assert as_of.timeline == timeline(((1, 1), 0), ((1, 5), 1))


def test_as_of_closed_after_the_day_by_its_close_date_alone() -> None:
    # No history: it was open then, at no known stage past the first.
    item = deal(1, LOST_DEAL, 2, created=day(1, 1), closed=day(2, 1))
    as_of = deal_as_of(item, day(1, 20))
    assert as_of is not None
    assert (as_of.outcome, as_of.stage, as_of.closed) == (OPEN, 0, None)
    # Stage dates: open in the latest dated stage on or before the day, later dates dropped.
    dated = replace(item, entered=[day(1, 1), day(1, 10), day(1, 25), None])
    as_of = deal_as_of(dated, day(1, 20))
    assert as_of is not None
    assert (as_of.outcome, as_of.stage, as_of.entered) == (
        OPEN,
        1,
        [day(1, 1), day(1, 10), None, None],
    )


def test_as_of_open_deal_with_a_later_close_date_keeps_its_stage() -> None:
    # An expected close date after the day is cleared; nothing else changed after it.
    item = deal(1, OPEN, 2, created=day(1, 1), closed=day(4, 1))
    as_of = deal_as_of(item, day(3, 1))
    assert as_of is not None
    assert (as_of.outcome, as_of.stage, as_of.closed) == (OPEN, 2, None)


def test_as_of_before_any_stage_change_is_at_the_first_stage() -> None:
    item = deal(
        1, WON, 3, created=day(1, 1), closed=day(2, 1), timeline=timeline(((1, 10), 1), ((2, 1), 3))
    )
    as_of = deal_as_of(item, day(1, 5))
    assert as_of is not None
    assert (as_of.outcome, as_of.stage, as_of.timeline) == (OPEN, 0, ())


def test_as_of_deal_closed_by_the_day_is_unchanged() -> None:
    item = deal(
        1, LOST_DEAL, None, closed=day(1, 9), timeline=timeline(((1, 1), 0), ((1, 9), LOST))
    )
    assert deal_as_of(item, day(1, 9)) is item
    assert deal_as_of(item, day(6, 1)) is item


def test_as_of_drops_later_dates_that_change_nothing() -> None:
    # A repeat of Lead on 01-20 and an entered date for Lead the timeline overrides: no
    # change after 01-10, so the deal stands as it is, less the dates after the day.
    item = deal(
        1,
        OPEN,
        1,
        entered=[day(1, 25), None, None, None],
        timeline=timeline(((1, 1), 0), ((1, 5), 1), ((1, 20), 1)),
    )
    as_of = deal_as_of(item, day(1, 10))
    assert as_of is not None
    assert (as_of.outcome, as_of.stage) == (OPEN, 1)
    assert as_of.timeline == timeline(((1, 1), 0), ((1, 5), 1))
    assert as_of.entered == [None, None, None, None]


def test_as_of_closed_deal_with_later_dates_that_change_nothing_stays_closed() -> None:
    # Won on 01-10; the history repeats Won on 01-20: no change after 01-15.
    item = deal(
        1, WON, 3, closed=day(1, 10), timeline=timeline(((1, 1), 0), ((1, 10), 3), ((1, 20), 3))
    )
    as_of = deal_as_of(item, day(1, 15))
    assert as_of is not None
    assert (as_of.outcome, as_of.stage, as_of.closed) == (WON, 3, day(1, 10))
    assert as_of.timeline == timeline(((1, 1), 0), ((1, 10), 3))


def test_report_as_it_stood() -> None:
    # lost_deals() as of 01-15:
    #   row 1: LOST on 01-20 is later -> open in Proposal (entered 01-10)
    #   row 2: Proposal entered 01-15 is kept (on the day); LOST 01-27 later -> open, Proposal
    #   row 3: lost on 01-09 -> unchanged, f = Qualified
    #   row 4: won on 01-16 -> open in Proposal (entered 01-06)
    #   row 5: won, no dates at all -> unchanged
    #   row 6: created 02-20 -> did not exist
    rebuilt = [deal_as_of(item, day(1, 15)) for item in lost_deals()]
    assert rebuilt[5] is None
    deals = [item for item in rebuilt if item is not None]
    report = build_report(deals, NO_RATES, day(1, 15))
    # f = [2, 2, 1, 2, 3]: reached_at [0, 1, 3, 1] -> reached [5, 5, 4, 1]
    assert column(report, "reached") == [5, 5, 4, 1]
    assert column(report, "current") == [0, 0, 3, 0]
    assert column(report, "lost") == [0, 1, 0, 0]
    assert (report.won, report.lost, report.open) == (1, 1, 3)
    # Still in Proposal as of 01-15: rows 1, 2 and 4.
    assert column(report, "still_in_stage") == [0, 0, 3, 0]


def test_empty_timeline_is_no_timeline() -> None:
    deals = [replace(item, timeline=()) for item in lost_deals()]
    assert build_report(deals, NO_RATES, AS_OF) == build_report(
        without_timelines(lost_deals()), NO_RATES, AS_OF
    )


# --- properties ------------------------------------------------------------------------------

START = dt.date(2023, 1, 1)


def on(offset: int) -> dt.date:
    return START + dt.timedelta(offset)


@st.composite
def funnels(draw: st.DrawFn) -> Funnel:
    size = draw(st.integers(3, 6))
    names = [f"S{index}" for index in range(size)]
    with_rates = draw(st.booleans())  # a funnel gives every rate or none
    rates = [f"{draw(st.integers(1, 100))}%" if with_rates else None for _ in names[:-1]]
    days = [draw(st.none() | st.integers(0, 60)) for _ in names[:-1]]
    return make_funnel(rates, days, names)


def offsets() -> st.SearchStrategy[int | None]:
    return st.none() | st.integers(0, 400)


@st.composite
def timelines(draw: st.DrawFn, stage_count: int) -> Timeline | None:
    """Changes on non-decreasing days, to any stage or LOST (repeats included)."""
    if draw(st.integers(0, 4)) == 0:
        return None
    steps = draw(
        st.lists(st.tuples(st.integers(0, 40), st.integers(LOST, stage_count - 1)), max_size=8)
    )
    start = draw(st.integers(0, 200))
    changes = []
    for gap, stage in steps:
        start += gap
        changes.append((on(start), stage))
    return tuple(changes)


@st.composite
def history_deals(draw: st.DrawFn, stage_count: int) -> list[Deal]:
    """Deals of any outcome, stage, dates and timeline, consistent or not."""
    last = stage_count - 1
    deals = []
    for row in range(draw(st.integers(0, 25))):
        outcome = draw(st.sampled_from(Outcome))
        index = draw(st.integers(-1, last - 1))
        stage: int | None = index
        if outcome is WON:
            stage = last
        elif index < 0:
            stage = None if outcome is LOST_DEAL else 0
        entered = None
        if draw(st.booleans()):
            entered = [
                on(offset) if offset is not None else None
                for offset in draw(st.lists(offsets(), min_size=stage_count, max_size=stage_count))
            ]
        created, closed = draw(offsets()), draw(offsets())
        deals.append(
            Deal(
                row=row,
                outcome=outcome,
                stage=stage,
                id=f"D{row}",
                currency="USD",
                created=on(created) if created is not None else None,
                closed=on(closed) if closed is not None else None,
                entered=entered,
                timeline=draw(timelines(stage_count)),
            )
        )
    return deals


@st.composite
def funnel_and_deals(draw: st.DrawFn) -> tuple[Funnel, list[Deal]]:
    funnel = draw(funnels())
    return funnel, draw(history_deals(len(funnel.stages)))


AS_OF_PROPERTY = on(500)


def latest_day(item: Deal) -> dt.date:
    days = [item.created, item.closed, *(item.entered or ())]
    days += [when for when, _ in item.timeline or ()]
    return max((when for when in days if when is not None), default=START)


def assert_identity(report: Report, deals: Sequence[Deal]) -> None:
    stages = report.stages
    for here, below in itertools.pairwise(stages):
        assert here.reached == below.reached + here.current + here.lost
        assert 0 <= here.skipped <= below.reached  # skipped by deals that got further
    assert stages[-1].reached == report.won
    assert stages[0].reached == len(deals)
    assert report.open == sum(1 for item in deals if item.outcome is OPEN)
    assert report.lost == sum(1 for item in deals if item.outcome is LOST_DEAL)
    # A deal that moved back from a stage reached it; not so the won stage, which a
    # deal reopened after its win left.
    assert all(stage.moved_back <= stage.reached for stage in stages[:-1])


@settings(max_examples=150)
@given(funnel_and_deals(), st.data())
def test_as_of_on_or_after_the_last_date_changes_nothing(
    case: tuple[Funnel, list[Deal]], data: st.DataObject
) -> None:
    funnel, deals = case
    rebuilt = []
    for item in deals:
        as_of = deal_as_of(item, latest_day(item) + dt.timedelta(data.draw(st.integers(0, 100))))
        assert as_of == item
        assert as_of is not None
        rebuilt.append(as_of)
    assert build_report(rebuilt, funnel, AS_OF_PROPERTY) == build_report(
        deals, funnel, AS_OF_PROPERTY
    )


@settings(max_examples=150)
@given(funnel_and_deals(), st.integers(0, 600))
def test_reached_identity_with_timelines_and_as_of(
    case: tuple[Funnel, list[Deal]], offset: int
) -> None:
    funnel, deals = case
    assert_identity(build_report(deals, funnel, AS_OF_PROPERTY), deals)
    # The funnel as it stood on a random day: the identity holds, and a rebuilt deal
    # holds no date after the day, so rebuilding it again changes nothing.
    as_of = on(offset)
    rebuilt = [item for item in (deal_as_of(item, as_of) for item in deals) if item is not None]
    assert_identity(build_report(rebuilt, funnel, as_of), rebuilt)
    for item in rebuilt:
        assert latest_day(item) <= as_of
        assert deal_as_of(item, as_of) is item


@settings(max_examples=150)
@given(funnel_and_deals(), st.data())
def test_merged_builders_equal_one_builder_with_timelines(
    case: tuple[Funnel, list[Deal]], data: st.DataObject
) -> None:
    funnel, deals = case
    split = data.draw(st.integers(0, len(deals)))
    first, second = new_builder(funnel, AS_OF_PROPERTY), new_builder(funnel, AS_OF_PROPERTY)
    for item in deals[:split]:
        first.add(item)
    for item in deals[split:]:
        second.add(item)
    first.merge(second)
    assert finish(first, funnel) == build_report(deals, funnel, AS_OF_PROPERTY)
