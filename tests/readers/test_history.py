"""readers/history.py: each CRM's stage-history shape read into timelines written by hand.

The inputs are in tests/data/history/ (built from /work/shared/CRM_EXPORTS.md); the
generic XLSX is built here. Stage indexes: see each *_funnel.yaml beside the files.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelcli.deal_records import LOST
from funnelcli.definition import Funnel, Stage
from funnelcli.errors import DefinitionError, ExportError
from funnelcli.loading import load_funnel_file
from funnelcli.readers.deals import TimelineSource
from funnelcli.readers.history import (
    HistoryIndex,
    deal_id_key,
    read_history,
)
from funnelcli.readers.history_columns import HistoryColumns

from ..conftest import DATA, THEIRS, line_matching

HISTORY = DATA / "history"
D = dt.date


def _funnel(name: str) -> Funnel:
    return load_funnel_file(str(HISTORY / f"{name}_funnel.yaml")).funnel


def _read(crm: str) -> HistoryIndex:
    return read_history(str(HISTORY / f"{crm}_history.csv"), _funnel(crm))


def _check_balance(index: HistoryIndex) -> None:
    account = index.account
    assert account.read == account.used + account.skipped_total
    assert account.events == sum(len(events) for events in _timelines(index).values())


def _timelines(index: HistoryIndex) -> dict[str, list[tuple[dt.date, int]]]:
    return index.by_id if index.columns.deal_id is not None else index.by_name


# --- Salesforce: Opportunity History report, cp1252, day-first dates, footer rows ---------

SALESFORCE_BY_ID = {
    "006Hs00001AcmeA": [(D(2025, 3, 3), 0), (D(2025, 3, 10), 1)],
    "006Hs00001AcmeB": [(D(2025, 4, 4), 0)],
    # The Qualification row dated 31/02/2025 is skipped.
    "006Hs00001DmPap": [(D(2025, 10, 20), 0), (D(2025, 11, 14), 4)],
    # Rows out of order in the file; Qualification skipped, then back to it (a backwards move).
    "006Hs00001GlbxP": [
        (D(2025, 7, 14), 0),
        (D(2025, 7, 21), 2),
        (D(2025, 7, 28), 1),
        (D(2025, 9, 1), 4),
    ],
    # "Id. Decision Makers" is no stage of the funnel: that row is skipped.
    "006Hs00001InExp": [(D(2025, 3, 3), 0), (D(2025, 4, 28), 4)],
    "006Hs00001Orphn": [(D(2025, 2, 1), 0)],
    # The Qualification -> Qualification row (an amount edit) adds no event.
    "006Hs00001SgRnw": [
        (D(2025, 6, 2), 0),
        (D(2025, 6, 16), 1),
        (D(2025, 7, 3), 2),
        (D(2025, 8, 1), 3),
        (D(2025, 9, 16), 4),
    ],
    "006Hs00001UmPil": [(D(2025, 5, 5), 0), (D(2025, 5, 12), 1), (D(2025, 6, 20), LOST)],
}


def test_salesforce_history_timelines() -> None:
    index = _read("salesforce")
    assert index.dialect == "Salesforce"
    assert index.columns == HistoryColumns(
        deal_id=0, deal_name=1, stage=3, changed=7, from_stage=2, duration_days=None
    )
    assert index.by_id == SALESFORCE_BY_ID
    names = {
        "dunder mifflin - paper": "006Hs00001DmPap",
        "globex - platform": "006Hs00001GlbxP",
        "initech - expansion": "006Hs00001InExp",
        "orphan - deleted": "006Hs00001Orphn",
        "société générale - renewal": "006Hs00001SgRnw",  # cp1252 é read right
        "umbrella - pilot": "006Hs00001UmPil",
    }
    assert index.by_name == {name: SALESFORCE_BY_ID[key] for name, key in names.items()}
    # Two opportunity ids share the name "Acme - Renewal".
    assert index.ambiguous_names == {"acme - renewal"}


def test_salesforce_history_accounting() -> None:
    index = _read("salesforce")
    account = index.account
    assert (account.read, account.used, account.skipped_total) == (23, 21, 2)
    assert account.skipped == Counter({"unreadable_date": 1, "unknown_stage_label": 1})
    assert account.examples == {
        "unreadable_date": [
            (6, "31/02/2025 in 'Last Modified' (impossible date: February 2025 has 28 days)")
        ],
        "unknown_stage_label": [(13, "Id. Decision Makers")],
    }
    assert account.unknown_labels == Counter({"Id. Decision Makers": 1})
    assert (account.unchanged, account.events, account.deals) == (1, 20, 8)
    # The blank line and the three footer rows are not data rows.
    assert (account.stats.blank_rows, account.stats.footer_rows) == (1, 3)
    assert account.stats.footer_text == "Total"
    _check_balance(index)


def test_salesforce_join_by_id_name_and_unmatched() -> None:
    index = _read("salesforce")
    # The deals export writes 18-character ids; the history has Globex's 15-character one.
    assert index.timeline_for("006Hs00001GlbxPQAR", None) == tuple(
        SALESFORCE_BY_ID["006Hs00001GlbxP"]
    )
    assert index.timeline_for(" 006Hs00001SgRnwQAB ", "whatever") == tuple(
        SALESFORCE_BY_ID["006Hs00001SgRnw"]
    )
    # Without an id, by name, ignoring case and spacing.
    assert index.timeline_for(None, "  UMBRELLA -   pilot ") == tuple(
        SALESFORCE_BY_ID["006Hs00001UmPil"]
    )
    # An id the history lacks gets nothing, not the history of a namesake.
    assert index.timeline_for("006Hs00001ZzzzzQAA", "Initech - Expansion") is None
    # By id, the two Acme deals are told apart; by name they cannot be.
    assert index.timeline_for("006Hs00001AcmeAQAB", "Acme - Renewal") == tuple(
        SALESFORCE_BY_ID["006Hs00001AcmeA"]
    )
    assert index.timeline_for(None, "Acme - Renewal") is None
    assert index.account.ambiguous_lookups == 1
    assert index.timeline_for(None, None) is None
    # Matched: Globex, Société, Umbrella, Acme A. Not: Acme B, Dunder, Initech, Orphan.
    assert index.unmatched() == (1 + 2 + 2 + 1, 4)
    assert (index.account.unmatched_rows, index.account.unmatched_deals) == (6, 4)
    for deal_id in ("006Hs00001AcmeBQAC", "006Hs00001DmPapQAB", "006Hs00001InExpQAB"):
        assert index.timeline_for(deal_id, None) is not None
    # The deal the deals export does not have stays unmatched, and is counted.
    assert index.unmatched() == (1, 1)


def test_an_index_is_a_timeline_source() -> None:
    source: TimelineSource = _read("salesforce")
    assert source.timeline_for("006Hs00001OrphnQAX", None) == ((D(2025, 2, 1), 0),)


# --- Zoho: stage history file, by name only ------------------------------------------------

ZOHO_BY_NAME = {
    # Newest row first in the file, as Zoho lists it; Needs Analysis skipped.
    "zylker - annual plan": [
        (D(2024, 7, 1), 0),
        (D(2024, 8, 8), 2),
        (D(2024, 8, 20), 3),
        (D(2024, 8, 30), 4),
    ],
    # Value Proposition is an alias of Needs Analysis: no change. Two moves on 19 August,
    # put in order by their times; the second is backwards.
    "acme - upgrade": [(D(2024, 8, 5), 1), (D(2024, 8, 19), 2), (D(2024, 8, 19), 1)],
    # "Closed-Lost to Competition" is the lost label "Closed Lost to Competition".
    "globex - support": [(D(2024, 9, 2), 0), (D(2024, 10, 2), LOST)],
    "initech - pilot": [(D(2024, 10, 21), 0), (D(2024, 11, 20), 4)],
    "hooli - search": [(D(2024, 9, 15), 1)],
    "orphan deal": [(D(2024, 6, 1), 0)],
}


def test_zoho_history_rows_are_stages_entered_at_their_modified_time() -> None:
    index = _read("zoho")
    assert index.dialect == "Zoho"
    # Stage is the stage; Moved To (the next one) is recorded but never read as the stage.
    assert index.columns == HistoryColumns(
        deal_id=None, deal_name=0, stage=1, changed=9, duration_days=2, moved_to=4
    )
    assert index.by_id == {}
    assert index.by_name == ZOHO_BY_NAME
    assert index.ambiguous_names == set()
    account = index.account
    assert (account.read, account.used, account.unchanged, account.deals) == (16, 14, 1, 6)
    assert account.examples == {
        "unknown_stage_label": [(13, "Contract Review")],
        "unreadable_date": [
            (16, "2024-13-01 10:00:00 in 'Modified Time' (impossible date: no month 13)")
        ],
    }
    _check_balance(index)


def test_zoho_join_by_name_and_a_name_two_deals_ask_for() -> None:
    index = _read("zoho")
    zylker = tuple(ZOHO_BY_NAME["zylker - annual plan"])
    # The deals export has ids the history lacks: the name joins them.
    assert index.timeline_for("4876876000000567001", "Zylker - Annual plan") == zylker
    assert index.timeline_for("4876876000000567001", "zylker - annual plan") == zylker
    # Another deal of the export with the same name: which history is whose is unknown.
    assert index.timeline_for("4876876000000567999", "Zylker - Annual plan") is None
    assert index.ambiguous_names == {"zylker - annual plan"}
    assert index.timeline_for("4876876000000567001", "Zylker - Annual plan") is None
    assert index.account.ambiguous_lookups == 2
    index.mark_ambiguous(" Acme - UPGRADE")
    assert index.timeline_for(None, "Acme - Upgrade") is None
    assert index.account.ambiguous_lookups == 3
    # Zylker matched once. Rows used: Acme, Globex, Initech, Hooli, Orphan.
    assert index.unmatched() == (4 + 2 + 2 + 1 + 1, 5)


# --- HubSpot: dealstage property history, newest first, internal values ---------------------

HUBSPOT_BY_ID = {
    "1001": [(D(2024, 8, 1), 0), (D(2024, 8, 20), 2), (D(2024, 8, 27), 3)],
    # Two moves on 10 September, newest first in the file: the times order them.
    "1002": [(D(2024, 8, 28), 0), (D(2024, 9, 2), 1), (D(2024, 9, 10), 2), (D(2024, 9, 10), 1)],
    # 2024-09-30T23:30:00-05:00 is 30 September as written, not 1 October in UTC.
    "1003": [(D(2024, 9, 1), 0), (D(2024, 9, 30), LOST)],
    "1004": [(D(2024, 10, 1), 0)],  # 87654321, another pipeline's stage id: skipped
    "1005": [(D(2024, 10, 3), 0)],  # 2024-10-40: skipped
    "1006": [(D(2024, 7, 1), 0)],  # a label, not an internal value
}


def test_hubspot_property_history() -> None:
    index = _read("hubspot")
    assert index.dialect == "HubSpot"
    assert index.columns == HistoryColumns(deal_id=0, deal_name=None, stage=1, changed=2)
    assert index.by_id == HUBSPOT_BY_ID
    assert index.by_name == {}
    account = index.account
    assert (account.read, account.used, account.unchanged) == (14, 12, 0)
    assert account.examples == {
        "unknown_stage_label": [(11, "87654321")],
        "unreadable_date": [
            (
                13,
                "2024-10-40T10:00:00.000Z in 'timestamp' "
                "(impossible date: October 2024 has 31 days)",
            )
        ],
    }
    _check_balance(index)
    assert index.timeline_for("1002", "Some name") == tuple(HUBSPOT_BY_ID["1002"])
    assert index.timeline_for(None, "Some name") is None  # no names in the file
    # Rows used (skipped rows belong to no timeline): 1001, 1003, 1004, 1005, 1006.
    assert index.unmatched() == (3 + 2 + 1 + 1 + 1, 5)


# --- generic XLSX, built here --------------------------------------------------------------


@pytest.fixture
def generic_xlsx(tmp_path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "History"
    rows: list[tuple[object, object, object]] = [
        ("deal_id", "stage", "entered_at"),
        (101, "Lead", dt.datetime(2025, 1, 6, 9, 0)),  # row 2
        (101, "Demo", dt.datetime(2025, 1, 13, 14, 30)),
        (101, "Won", dt.datetime(2025, 2, 3)),
        (102, "Lead", dt.datetime(2025, 1, 8)),  # row 5
        (102, "Proposal", dt.datetime(2025, 1, 20)),  # Demo skipped
        (102, "Demo", dt.datetime(2025, 1, 27)),  # backwards
        (102, "lost", dt.datetime(2025, 2, 10)),  # the lost label, other case
        (103, "Lead", dt.datetime(2025, 1, 10)),  # row 9
        (103, "Pilot", dt.datetime(2025, 1, 15)),  # unknown label
        (103, "Demo", "sometime in March"),  # unreadable date
        (104, "Lead", dt.datetime(2025, 3, 1)),  # a deal the deals export lacks
        (None, "Demo", dt.datetime(2025, 1, 14)),  # row 13: no deal
        (105, None, dt.datetime(2025, 1, 14)),  # no stage
        (105, "Lead", None),  # no date
        (105.0, "Lead", "2025-01-09"),  # row 16: a float id and a text date
    ]
    for row in rows:
        sheet.append(row)
    path = tmp_path / "generic_history.xlsx"
    book.save(path)
    return path


GENERIC_BY_ID = {
    "101": [(D(2025, 1, 6), 0), (D(2025, 1, 13), 1), (D(2025, 2, 3), 3)],
    "102": [(D(2025, 1, 8), 0), (D(2025, 1, 20), 2), (D(2025, 1, 27), 1), (D(2025, 2, 10), LOST)],
    "103": [(D(2025, 1, 10), 0)],
    "104": [(D(2025, 3, 1), 0)],
    "105": [(D(2025, 1, 9), 0)],
}


def test_generic_xlsx_history(generic_xlsx: Path) -> None:
    index = read_history(str(generic_xlsx), _funnel("generic"), sheet="history")
    assert index.dialect == "generic"
    assert index.columns == HistoryColumns(deal_id=0, deal_name=None, stage=1, changed=2)
    assert index.by_id == GENERIC_BY_ID
    account = index.account
    assert (account.read, account.used, account.skipped_total) == (15, 10, 5)
    assert account.skipped == Counter(
        {
            "unknown_stage_label": 1,
            "unreadable_date": 1,
            "missing_deal": 1,
            "missing_stage": 1,
            "missing_date": 1,
        }
    )
    assert account.examples == {
        "unknown_stage_label": [(10, "Pilot")],
        "unreadable_date": [(11, "sometime in March in 'entered_at' (not a recognised date)")],
        "missing_deal": [(13, "Demo, 2025-01-14 00:00:00")],
        "missing_stage": [(14, "")],
        "missing_date": [(15, "")],
    }
    _check_balance(index)
    for deal_id in ("101", "102", "103", "105"):
        assert index.timeline_for(deal_id, None) == tuple(GENERIC_BY_ID[deal_id])
    assert index.unmatched() == (1, 1)


# --- order, dates, columns -----------------------------------------------------------------


def test_same_day_changes_without_times_follow_the_files_direction() -> None:
    index = read_history(str(HISTORY / "newest_first.csv"), _funnel("generic"))
    # The file lists each deal newest first, so on one day the lower row came first.
    assert index.by_id == {
        "7": [(D(2025, 1, 20), 0), (D(2025, 2, 3), 1), (D(2025, 2, 3), 2)],
        "8": [(D(2025, 2, 10), 0), (D(2025, 2, 10), 1)],
    }


def test_same_day_changes_keep_file_order_in_an_oldest_first_file(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text(
        "deal_id,stage,date\n7,Lead,2025-01-20\n7,Demo,2025-02-03\n7,Proposal,2025-02-03\n",
        encoding="utf-8",
    )
    index = read_history(str(path), _funnel("generic"))
    assert index.by_id == {"7": [(D(2025, 1, 20), 0), (D(2025, 2, 3), 1), (D(2025, 2, 3), 2)]}


def test_undecided_slash_dates_are_refused() -> None:
    path = str(HISTORY / "ambiguous_dates.csv")
    with pytest.raises(ExportError) as error:
        read_history(path, _funnel("generic"))
    assert str(error.value) == (
        f"{path}: column 'date': dates like 03/04/2025 could be day or month first and no "
        "value decides; pass --date-format %d/%m/%Y or %m/%d/%Y"
    )


def test_date_format_settles_slash_dates() -> None:
    path = str(HISTORY / "ambiguous_dates.csv")
    index = read_history(path, _funnel("generic"), date_format="%d/%m/%Y")
    assert index.by_id == {"7": [(D(2025, 4, 3), 0), (D(2025, 6, 5), 1)]}
    index = read_history(path, _funnel("generic"), date_format="%m/%d/%Y")
    assert index.by_id == {"7": [(D(2025, 3, 4), 0), (D(2025, 5, 6), 1)]}


def test_columns_override_names_the_columns() -> None:
    index = read_history(
        str(HISTORY / "renamed_columns.csv"),
        _funnel("generic"),
        columns_override={"deal_id": "opp", "stage": "Phase", "changed": "WHEN"},
    )
    assert index.columns == HistoryColumns(deal_id=0, deal_name=None, stage=1, changed=2)
    assert index.by_id == {"7": [(D(2025, 1, 20), 0), (D(2025, 2, 3), 1)]}


def test_columns_override_wins_over_known_headers(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text(
        "deal_id,stage,date,corrected date\n7,Lead,2025-01-20,2025-01-19\n", encoding="utf-8"
    )
    index = read_history(
        str(path), _funnel("generic"), columns_override={"changed": "corrected date"}
    )
    assert index.by_id == {"7": [(D(2025, 1, 19), 0)]}


def test_a_file_without_history_columns_is_refused() -> None:
    funnel = _funnel("generic")
    path = str(HISTORY / "renamed_columns.csv")
    with pytest.raises(ExportError) as error:
        read_history(path, funnel)
    assert str(error.value) == (
        f"{path}: not a stage history: found no stage column, no change date column and no "
        "deal id or name column (its columns are: Opp, Phase, When); name them in "
        f"{funnel.source} under history_columns:, like history_columns: "
        "{deal_id: Opportunity ID, stage: To Stage, changed: Last Modified}"
    )


def test_a_deals_export_is_not_a_history() -> None:
    path = str(HISTORY / "not_history.csv")
    with pytest.raises(ExportError) as error:
        read_history(path, Funnel("Default", (Stage("Lead"), Stage("Won")), is_default=True))
    assert str(error.value) == (
        f"{path}: not a stage history: found no change date column (its columns are: "
        "Opportunity Name, Stage, Amount, Close Date); name it in funnel.yaml under "
        "history_columns:, like history_columns: "
        "{deal_id: Opportunity ID, stage: To Stage, changed: Last Modified}"
    )


def test_a_wrong_columns_override_lists_every_problem() -> None:
    funnel = _funnel("generic")
    path = str(HISTORY / "renamed_columns.csv")
    with pytest.raises(DefinitionError) as error:
        read_history(path, funnel, columns_override={"deal": "Opp", "stage": "Status"})
    assert error.value.problems == [
        f"{funnel.source}: history_columns.deal: unknown field; the fields are: deal_id, "
        "deal_name, stage, changed, from_stage, duration_days, moved_to",
        f"{funnel.source}: history_columns.stage: no column 'Status' in {path}; "
        "its columns are: Opp, Phase, When",
    ]


def test_a_missing_file_is_one_line() -> None:
    path = str(HISTORY / "no_such_file.csv")
    with pytest.raises(ExportError) as error:
        read_history(path, _funnel("generic"))
    expected = line_matching(f"{path}: cannot read the file (", THEIRS, "); check the path")
    assert expected.fullmatch(str(error.value))  # the OS's reason: any


def test_salesforce_ids_are_keyed_by_their_15_character_form() -> None:
    assert deal_id_key("006Hs00001SgRnwQAB") == "006Hs00001SgRnw"
    assert deal_id_key(" 006Hs00001SgRnw ") == "006Hs00001SgRnw"
    assert deal_id_key("4876876000000567001") == "4876876000000567001"  # Zoho: as is
    assert deal_id_key("H01") == "H01"


# --- property: a timeline is the deal's rows by day, without repeats -----------------------

_STAGE_OF = {"Lead": 0, "Demo": 1, "Proposal": 2, "Won": 3, "Lost": LOST}
_ROWS = st.lists(
    st.tuples(
        st.sampled_from(("1", "2", "3")),
        st.sampled_from(tuple(_STAGE_OF)),
        st.dates(min_value=D(2025, 1, 1), max_value=D(2025, 3, 31)),
    ),
    max_size=30,
    unique_by=lambda row: (row[0], row[2]),  # one change a day: no ties to break
)


@settings(max_examples=60)
@given(rows=_ROWS)
def test_timelines_are_each_deals_rows_by_day_without_repeats(
    rows: list[tuple[str, str, dt.date]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.csv"
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(("deal_id", "stage", "date"))
            writer.writerows((deal, stage, day.isoformat()) for deal, stage, day in rows)
        index = read_history(str(path), _funnel("generic"))
    expected: dict[str, list[tuple[dt.date, int]]] = {}
    for deal, stage, day in sorted(rows, key=lambda row: row[2]):
        events = expected.setdefault(deal, [])
        if not events or events[-1][1] != _STAGE_OF[stage]:
            events.append((day, _STAGE_OF[stage]))
    assert index.by_id == expected
    assert index.account.read == index.account.used == len(rows)
    assert index.account.events == sum(len(events) for events in expected.values())


@pytest.mark.parametrize("first", ["401", "402"])
def test_a_name_two_deals_of_the_export_share_joins_neither_in_either_order(first: str) -> None:
    # Columns: id 0, name 1. Two deals named Zylker (ids 401, 402), in either order; one
    # Acme; a Globex row without an id (a deal of its own) and another Globex with one.
    second = "402" if first == "401" else "401"
    rows = [
        (first, "Zylker - Annual plan"),
        ("403", "Acme - Upgrade"),
        (second, "ZYLKER -  annual plan"),
        ("", "Globex - Support"),
        ("404", "Globex - Support"),
        ("405", "Not in the history"),
        ("405", "Not in the history"),
    ]
    index = _read("zoho")
    index.refuse_shared_names(rows, 0, 1)
    for deal_id in (first, second):
        assert index.timeline_for(deal_id, "Zylker - Annual plan") is None
    assert index.timeline_for("", "Globex - Support") is None
    assert index.timeline_for("403", "Acme - Upgrade") == tuple(ZOHO_BY_NAME["acme - upgrade"])
    # Zylker 2 + Globex 2 deals; the name the history lacks is not counted.
    assert index.account.shared_name_deals == 4
    assert index.account.shared_names == ["Zylker - Annual plan", "Globex - Support"]
    assert index.account.ambiguous_lookups == 4  # by deal, not by lookup
    # Once per index: a second read of the export (--compare-to) counts nothing again.
    index.refuse_shared_names(rows, 0, 1)
    assert index.timeline_for(first, "Zylker - Annual plan") is None
    assert index.account.ambiguous_lookups == 4


def test_rows_of_one_deal_id_are_one_deal() -> None:
    index = _read("zoho")
    index.refuse_shared_names([("401", "Acme - Upgrade"), ("401", "Acme - Upgrade")], 0, 1)
    assert index.account.shared_name_deals == 0
    assert index.timeline_for("401", "Acme - Upgrade") == tuple(ZOHO_BY_NAME["acme - upgrade"])
