"""snapshots.py and render/trend.py: saving reports to SQLite, reading the trend back."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sqlite3
import sys
import textwrap
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelcli import snapshots
from funnelcli.errors import InputFileError, UsageError
from funnelcli.loading import load_funnel_file
from funnelcli.readers.export import ReadOptions, report_export
from funnelcli.render.json_report import report_to_dict
from funnelcli.render.trend import trend_csv, trend_json, trend_text
from funnelcli.results import SliceRequest
from funnelcli.snapshots import SnapshotError, load_trend, save_snapshot
from funnelcli.trend import Trend

from .conftest import ROOT, THEIRS, line_matching
from .processes import run

DB = "history.db"
Stage = tuple[str, int, int, int, float | None, float | None]
"""name, reached, current, lost, resolved_conversion, conversion_to_next"""


def _report(
    as_of: str,
    *,
    funnel: str = "Agency",
    win_rate: float | None = 0.25,
    won: int = 10,
    open_count: int = 20,
    stages: Sequence[Stage] = (
        ("Lead", 100, 20, 40, 0.5, 0.4),
        ("Proposal", 40, 10, 15, 0.5, 0.25),
        ("Won", 10, 0, 0, None, None),
    ),
) -> dict[str, Any]:
    """A report dict with the keys report_to_dict produces (those a snapshot keeps, and more)."""
    return {
        "schema_version": 1,
        "command": "report",
        "funnel": funnel,
        "funnel_source": "agency.yaml",
        "export": "deals.csv",
        "as_of": as_of,
        "currency": "USD",
        "stages": [
            {
                "name": name,
                "reached": reached,
                "current": current,
                "lost": lost,
                "conversion_to_next": to_next,
                "resolved_conversion": resolved,
                "cumulative_conversion": None,
                "planned_conversion": None,
                "open_value": 0.0,
                "median_days_in_stage": None,
                "p90_days_in_stage": None,
            }
            for name, reached, current, lost, resolved, to_next in stages
        ],
        "won": {"count": won, "value": 12500.5},
        "lost": {"count": 55, "value": 900.0, "unknown_stage": 0},
        "open": {"count": open_count, "value": 30000.25, "weighted_value": None},
        "win_rate": win_rate,
        "median_cycle_days": 41.5,
    }


WEEK_1 = _report("2025-01-06", win_rate=0.25, won=10, open_count=20)
WEEK_2 = _report(
    "2025-01-13",
    win_rate=0.3,
    won=12,
    open_count=25,
    stages=(
        ("Lead", 110, 25, 40, 0.55, 0.4),
        ("Proposal", 45, 12, 15, 0.625, 0.3),
        ("Won", 12, 0, 0, None, None),
    ),
)
WEEK_3 = _report(
    "2025-01-20",
    win_rate=0.375,
    won=15,
    open_count=30,
    stages=(
        ("Lead", 120, 30, 36, 0.6, 0.45),
        ("Proposal", 54, 14, 10, 0.75, 0.28),
        ("Won", 15, 0, 0, None, None),
    ),
)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Relative file names, so the messages below are the ones a user sees."""
    monkeypatch.chdir(tmp_path)
    yield


def _rows(sql: str, path: str = DB) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def _message(error: pytest.ExceptionInfo[Exception]) -> str:
    return str(error.value)


# --- saving -------------------------------------------------------------------------------


def test_save_returns_increasing_ids_and_stores_every_figure() -> None:
    taken = dt.datetime(2025, 1, 6, 7, 30, tzinfo=dt.UTC)
    assert save_snapshot(DB, WEEK_1, taken_at=taken) == 1
    assert save_snapshot(DB, WEEK_2, taken_at=taken) == 2
    heads = _rows(
        "SELECT id, taken_at, as_of, funnel, export, currency, win_rate, won, won_value, lost, "
        "open, open_value, median_cycle_days, schema_version FROM snapshots ORDER BY id"
    )
    taken_at = "2025-01-06T07:30:00+00:00"
    money = (12500.5, 55)  # won_value, lost
    tail = (30000.25, 41.5, 1)  # open_value, median_cycle_days, schema_version
    assert heads == [
        (1, taken_at, "2025-01-06", "Agency", "deals.csv", "USD", 0.25, 10, *money, 20, *tail),
        (2, taken_at, "2025-01-13", "Agency", "deals.csv", "USD", 0.3, 12, *money, 25, *tail),
    ]
    stages = _rows(
        "SELECT position, name, reached, current, lost, resolved_conversion, conversion_to_next "
        "FROM snapshot_stages WHERE snapshot_id = 2 ORDER BY position"
    )
    assert stages == [
        (0, "Lead", 110, 25, 40, 0.55, 0.4),
        (1, "Proposal", 45, 12, 15, 0.625, 0.3),
        (2, "Won", 12, 0, 0, None, None),
    ]
    assert _rows("PRAGMA user_version") == [(1,)]


def test_taken_at_defaults_to_now_in_utc() -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    save_snapshot(DB, WEEK_1)
    after = dt.datetime.now(dt.UTC)
    [(taken_at,)] = _rows("SELECT taken_at FROM snapshots")
    assert taken_at.endswith("+00:00")
    assert before <= dt.datetime.fromisoformat(taken_at) <= after


def test_null_figures_are_stored_as_null() -> None:
    report = _report("2025-01-06", win_rate=None)
    report["won"]["value"] = None
    report["median_cycle_days"] = None
    save_snapshot(DB, report)
    assert _rows("SELECT win_rate, won_value, median_cycle_days FROM snapshots") == [
        (None, None, None)
    ]
    assert load_trend(DB).rows[0].win_rate is None


def test_the_same_day_saved_twice_keeps_both_in_the_order_saved() -> None:
    """Reruns are history too: nothing a user saved is replaced."""
    rerun = _report("2025-01-06", win_rate=0.5, won=11)
    save_snapshot(DB, WEEK_1)
    save_snapshot(DB, rerun)
    trend = load_trend(DB)
    assert [(row.snapshot_id, row.as_of, row.win_rate, row.won) for row in trend.rows] == [
        (1, dt.date(2025, 1, 6), 0.25, 10),
        (2, dt.date(2025, 1, 6), 0.5, 11),
    ]


def test_saving_into_an_empty_file_creates_the_tables() -> None:
    Path(DB).write_bytes(b"")
    assert save_snapshot(DB, WEEK_1) == 1
    assert load_trend(DB).rows[0].won == 10


# --- the trend ----------------------------------------------------------------------------


def test_trend_holds_every_saved_number_ordered_by_as_of() -> None:
    for report in (WEEK_3, WEEK_1, WEEK_2):  # saved out of order: the trend sorts by as_of
        save_snapshot(DB, report)
    trend = load_trend(DB)
    assert trend.funnel == "Agency"
    assert trend.source == DB
    assert trend.stages == ("Lead", "Proposal")  # Won converts to nothing: no column
    assert [row.snapshot_id for row in trend.rows] == [2, 3, 1]
    for row, report in zip(trend.rows, (WEEK_1, WEEK_2, WEEK_3), strict=True):
        assert row.as_of.isoformat() == report["as_of"]
        assert row.win_rate == report["win_rate"]
        assert row.won == report["won"]["count"]
        assert row.open == report["open"]["count"]
        assert row.conversions == tuple(
            stage["resolved_conversion"] for stage in report["stages"][:2]
        )


def test_change_is_first_to_last_in_percentage_points() -> None:
    for report in (WEEK_1, WEEK_2, WEEK_3):
        save_snapshot(DB, report)
    trend = load_trend(DB)
    # Lead 50% -> 60% is +10 points; Proposal 50% -> 75% is +25; win rate 25% -> 37.5%.
    assert [(c.name, c.first, c.last, c.points) for c in trend.changes] == [
        ("Lead", 0.5, 0.6, 10.0),
        ("Proposal", 0.5, 0.75, 25.0),
    ]
    assert trend.win_rate_change.points == 12.5


def test_last_keeps_the_newest_snapshots_and_changes_over_them() -> None:
    for report in (WEEK_1, WEEK_2, WEEK_3):
        save_snapshot(DB, report)
    trend = load_trend(DB, last=2)
    assert [row.as_of.isoformat() for row in trend.rows] == ["2025-01-13", "2025-01-20"]
    # Lead 55% -> 60%: +5 points; Proposal 62.5% -> 75%: +12.5.
    assert [c.points for c in trend.changes] == [5.0, 12.5]
    assert load_trend(DB, last=10).rows == load_trend(DB).rows


def test_stages_follow_the_latest_snapshot_and_line_up_by_name() -> None:
    save_snapshot(DB, WEEK_1)
    renamed = _report(
        "2025-01-13",
        stages=(
            ("Lead", 100, 20, 40, 0.5, 0.4),
            ("Demo", 40, 10, 10, 0.6, 0.5),
            ("Proposal", 20, 5, 5, 0.625, 0.5),
            ("Won", 10, 0, 0, None, None),
        ),
    )
    save_snapshot(DB, renamed)
    trend = load_trend(DB)
    assert trend.stages == ("Lead", "Demo", "Proposal")
    assert [row.conversions for row in trend.rows] == [(0.5, None, 0.5), (0.5, 0.6, 0.625)]
    assert [(c.name, c.first, c.last, c.points) for c in trend.changes] == [
        ("Lead", 0.5, 0.5, 0.0),
        ("Demo", None, 0.6, None),  # no first figure: no change to show
        ("Proposal", 0.5, 0.625, 12.5),
    ]


def test_funnel_chooses_among_several_ignoring_case() -> None:
    save_snapshot(DB, WEEK_1)
    save_snapshot(DB, _report("2025-01-08", funnel="SaaS", won=99))
    save_snapshot(DB, WEEK_2)
    saas = load_trend(DB, funnel="saas")
    assert saas.funnel == "SaaS"
    assert [row.won for row in saas.rows] == [99]
    assert [row.won for row in load_trend(DB, funnel="Agency").rows] == [10, 12]


def test_maven_reports_round_trip(tmp_path: Path) -> None:
    funnel = load_funnel_file(str(ROOT / "sample_funnels" / "maven_crm.yaml")).funnel
    reports = []
    for day in (dt.date(2017, 3, 31), dt.date(2017, 12, 31)):
        result = report_export(
            str(ROOT / "examples" / "maven_pipeline.csv"),
            funnel,
            as_of=day,
            options=ReadOptions(),
            request=SliceRequest(until=day),  # deals created by then: the pipeline that day
        )
        reports.append(report_to_dict(result, "maven_crm.yaml", "maven_pipeline.csv"))
        save_snapshot(DB, reports[-1])
    trend = load_trend(DB)
    assert trend.funnel == "Maven CRM pipeline"
    assert trend.stages == ("Prospecting", "Engaging")
    for row, report in zip(trend.rows, reports, strict=True):
        assert row.as_of.isoformat() == report["as_of"]
        assert (row.win_rate, row.won, row.open) == (
            report["win_rate"],
            report["won"]["count"],
            report["open"]["count"],
        )
        assert row.conversions == tuple(s["resolved_conversion"] for s in report["stages"][:2])
    first, last = (report["stages"][1]["resolved_conversion"] for report in reports)
    assert trend.changes[1].points == float((Decimal(repr(last)) - Decimal(repr(first))) * 100)
    assert trend.changes[0].points == 0.0  # every deal leaves Prospecting forward


@settings(max_examples=30)
@given(rates=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=5))
def test_rates_come_back_bit_for_bit(rates: list[float]) -> None:
    path = "property.db"
    if os.path.exists(path):
        os.unlink(path)
    for week, rate in enumerate(rates):
        stages = (("Lead", 10, 0, 0, rate, rate), ("Won", 5, 0, 0, None, None))
        save_snapshot(path, _report(f"2025-02-{week + 1:02d}", win_rate=rate, stages=stages))
    trend = load_trend(path)
    assert [row.conversions for row in trend.rows] == [(rate,) for rate in rates]
    assert [row.win_rate for row in trend.rows] == rates
    points = trend.changes[0].points
    assert points is not None
    assert abs(points - (rates[-1] - rates[0]) * 100) < 1e-9


# --- one transaction ----------------------------------------------------------------------


def test_an_error_mid_save_leaves_the_file_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    save_snapshot(DB, WEEK_1)
    before = Path(DB).read_bytes()

    def fail(*args: object) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(snapshots, "_insert_stages", fail)
    with pytest.raises(RuntimeError):
        save_snapshot(DB, WEEK_2)
    assert Path(DB).read_bytes() == before
    assert _rows("SELECT COUNT(*) FROM snapshots") == [(1,)]


def test_an_error_saving_to_a_new_file_leaves_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(snapshots, "_insert_stages", fail)
    with pytest.raises(RuntimeError):
        save_snapshot(DB, WEEK_1)
    assert os.listdir(".") == []


def test_a_crash_mid_save_leaves_the_file_as_it_was() -> None:
    """The process dies between the snapshot row and its stages: SQLite's journal undoes it."""
    save_snapshot(DB, WEEK_1)
    script = textwrap.dedent(
        """
        import json, os, sys
        from funnelcli import snapshots

        def die(*args):
            os._exit(9)

        snapshots._insert_stages = die
        snapshots.save_snapshot(sys.argv[1], json.loads(sys.argv[2]))
        """
    )
    done = run([sys.executable, "-c", script, DB, json.dumps(WEEK_2)])
    assert done.returncode == 9, done.stderr
    assert [row.won for row in load_trend(DB).rows] == [10]
    assert _rows("SELECT COUNT(*) FROM snapshot_stages") == [(3,)]
    assert save_snapshot(DB, WEEK_2) == 2


# --- errors, word for word ----------------------------------------------------------------


def test_errors_are_input_file_errors() -> None:
    assert issubclass(SnapshotError, InputFileError)


def test_trend_of_a_missing_file_creates_nothing() -> None:
    with pytest.raises(SnapshotError) as error:
        load_trend(DB)
    assert _message(error) == (
        "history.db: no such file; check the path, or start one with "
        "'funnel report EXPORT --save-snapshot history.db'"
    )
    assert not Path(DB).exists()


def test_a_text_file_is_not_a_snapshot_database() -> None:
    text = "as_of,win_rate\n2025-01-06,0.25\n"
    Path(DB).write_text(text)
    with pytest.raises(SnapshotError) as error:
        load_trend(DB)
    # sqlite's reason in the brackets: any; the project's words around it: exact.
    expected = line_matching(
        "history.db: not a snapshot database (",
        THEIRS,
        "); give the file written by --save-snapshot",
    )
    assert expected.fullmatch(_message(error))
    with pytest.raises(SnapshotError) as error:
        save_snapshot(DB, WEEK_1)
    expected = line_matching(
        "history.db: not a snapshot database (",
        THEIRS,
        "); give a new file name or the file written by --save-snapshot",
    )
    assert expected.fullmatch(_message(error))
    assert Path(DB).read_text() == text


def test_another_programs_database_is_left_alone() -> None:
    with sqlite3.connect(DB) as db:
        db.execute("CREATE TABLE users (name TEXT)")
    db.close()
    with pytest.raises(SnapshotError) as error:
        load_trend(DB)
    assert _message(error) == (
        "history.db: not a snapshot database (no snapshots table); "
        "give the file written by --save-snapshot"
    )
    with pytest.raises(SnapshotError) as error:
        save_snapshot(DB, WEEK_1)
    assert _message(error) == (
        "history.db: not a snapshot database (no snapshots table); "
        "give a new file name or the file written by --save-snapshot"
    )
    assert _rows("SELECT name FROM sqlite_master") == [("users",)]


def test_an_empty_database_has_no_tables_to_read() -> None:
    Path(DB).write_bytes(b"")
    with pytest.raises(SnapshotError) as error:
        load_trend(DB)
    assert _message(error) == (
        "history.db: not a snapshot database (no snapshots table); "
        "give the file written by --save-snapshot"
    )


def test_a_missing_stages_table_or_column_is_named() -> None:
    save_snapshot(DB, WEEK_1)
    with sqlite3.connect(DB) as db:
        db.execute("ALTER TABLE snapshots DROP COLUMN win_rate")
    db.close()
    with pytest.raises(SnapshotError) as error:
        load_trend(DB)
    assert _message(error) == (
        "history.db: not a snapshot database (table snapshots has no column win_rate); "
        "give the file written by --save-snapshot"
    )
    with sqlite3.connect(DB) as db:
        db.execute("DROP TABLE snapshot_stages")
    db.close()
    with pytest.raises(SnapshotError) as error:
        save_snapshot(DB, WEEK_2)
    assert _message(error) == (
        "history.db: not a snapshot database (table snapshots has no column win_rate); "
        "give a new file name or the file written by --save-snapshot"
    )


def test_no_stages_table_is_named() -> None:
    save_snapshot(DB, WEEK_1)
    with sqlite3.connect(DB) as db:
        db.execute("DROP TABLE snapshot_stages")
    db.close()
    with pytest.raises(SnapshotError) as error:
        load_trend(DB)
    assert _message(error) == (
        "history.db: not a snapshot database (no snapshot_stages table); "
        "give the file written by --save-snapshot"
    )


def test_a_newer_layout_is_refused() -> None:
    save_snapshot(DB, WEEK_1)
    with sqlite3.connect(DB) as db:
        db.execute("PRAGMA user_version = 2")
    db.close()
    expected = (
        "history.db: written by a newer funnel (snapshot schema 2, this one reads up to 1); "
        "upgrade funnelcli to use it"
    )
    with pytest.raises(SnapshotError) as error:
        load_trend(DB)
    assert _message(error) == expected
    with pytest.raises(SnapshotError) as error:
        save_snapshot(DB, WEEK_2)
    assert _message(error) == expected


def test_tables_without_snapshots() -> None:
    save_snapshot(DB, WEEK_1)
    with sqlite3.connect(DB) as db:
        db.execute("DELETE FROM snapshot_stages")
        db.execute("DELETE FROM snapshots")
    db.close()
    with pytest.raises(SnapshotError) as error:
        load_trend(DB)
    assert _message(error) == (
        "history.db: holds no snapshots yet; save one with "
        "'funnel report EXPORT --save-snapshot history.db'"
    )


def test_several_funnels_need_one_chosen() -> None:
    save_snapshot(DB, WEEK_1)
    save_snapshot(DB, WEEK_2)
    save_snapshot(DB, _report("2025-01-08", funnel="SaaS"))
    with pytest.raises(SnapshotError) as error:
        load_trend(DB)
    assert _message(error) == (
        "history.db: holds 2 funnels; choose one with --name NAME; "
        "the funnels are: Agency (2), SaaS (1)"
    )
    with pytest.raises(SnapshotError) as error:
        load_trend(DB, funnel="Retail")
    assert _message(error) == (
        "history.db: --name Retail: no such funnel; the funnels are: Agency (2), SaaS (1)"
    )


def test_last_must_be_positive() -> None:
    save_snapshot(DB, WEEK_1)
    with pytest.raises(UsageError) as error:
        load_trend(DB, last=0)
    assert _message(error) == "--last 0: give a number of snapshots, 1 or more"


def test_folders_are_not_snapshot_files() -> None:
    Path("history").mkdir()
    with pytest.raises(SnapshotError) as error:
        load_trend("history")
    assert _message(error) == (
        "history: is a folder, not a snapshot database; give the file written by --save-snapshot"
    )
    with pytest.raises(SnapshotError) as error:
        save_snapshot("history", WEEK_1)
    assert _message(error) == "history: is a folder; give a file name like history/history.db"


def test_save_into_a_missing_folder() -> None:
    with pytest.raises(SnapshotError) as error:
        save_snapshot("missing/history.db", WEEK_1)
    assert _message(error) == (
        "missing/history.db: the folder missing does not exist; create it first"
    )
    assert not Path("missing").exists()


def test_save_into_a_read_only_file(monkeypatch: pytest.MonkeyPatch) -> None:
    save_snapshot(DB, WEEK_1)
    Path(DB).chmod(0o444)
    with monkeypatch.context() as patch, pytest.raises(SnapshotError) as error:
        if os.geteuid() == 0:  # root writes past a file's permissions: SQLite is told instead
            patch.setattr(sqlite3, "connect", _opened_read_only(sqlite3.connect))
        save_snapshot(DB, WEEK_2)
    expected = line_matching(
        "history.db: cannot be written (", THEIRS, "); choose a file and folder you can write to"
    )
    assert expected.fullmatch(_message(error))  # sqlite's reason: any
    assert [row.won for row in load_trend(DB).rows] == [10]  # reading still works


def _opened_read_only(connect: Any) -> Any:
    """``sqlite3.connect`` that opens a read-write URI read-only, as for a read-only file."""

    def read_only(database: str, *args: Any, **options: Any) -> sqlite3.Connection:
        return connect(database.replace("mode=rwc", "mode=ro"), *args, **options)

    return read_only


def test_a_file_another_program_is_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    save_snapshot(DB, WEEK_1)
    monkeypatch.setattr(snapshots, "LOCK_TIMEOUT_SECONDS", 0.05)
    other = sqlite3.connect(DB, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(SnapshotError) as error:
            save_snapshot(DB, WEEK_2)
    finally:
        other.close()
    expected = line_matching(
        "history.db: in use by another program (", THEIRS, "); try again when it has finished"
    )
    assert expected.fullmatch(_message(error))  # sqlite's reason: any
    assert save_snapshot(DB, WEEK_2) == 2


# --- rendering ----------------------------------------------------------------------------


def _three_weeks() -> Trend:
    for report in (WEEK_1, WEEK_2, WEEK_3):
        save_snapshot(DB, report)
    return load_trend(DB)


def test_trend_text() -> None:
    assert trend_text(_three_weeks()) == (
        "Agency: 3 snapshots in history.db, resolved conversion per stage\n"
        "\n"
        "As of       Win rate  Won  Open      Lead  Proposal\n"
        "2025-01-06       25%   10    20       50%       50%\n"
        "2025-01-13       30%   12    25       55%     62.5%\n"
        "2025-01-20     37.5%   15    30       60%       75%\n"
        "change      +12.5 pp             +10.0 pp  +25.0 pp\n"
    )


def test_trend_text_shows_unknowns_and_falls() -> None:
    save_snapshot(DB, _report("2025-01-06", win_rate=None))
    save_snapshot(
        DB,
        _report(
            "2025-01-13",
            stages=(("Lead", 10, 0, 0, 0.45, 0.4), ("Won", 4, 0, 0, None, None)),
        ),
    )
    assert trend_text(load_trend(DB)).splitlines()[2:] == [
        "As of       Win rate  Won  Open     Lead",
        "2025-01-06         –   10    20      50%",
        "2025-01-13       25%   10    20      45%",
        "change             –             -5.0 pp",
    ]


def test_trend_json() -> None:
    assert json.loads(trend_json(_three_weeks())) == {
        "schema_version": 1,
        "command": "trend",
        "funnel": "Agency",
        "snapshots": [
            {
                "as_of": report["as_of"],
                "win_rate": report["win_rate"],
                "won": report["won"]["count"],
                "open": report["open"]["count"],
                "stages": [
                    {"name": stage["name"], "resolved_conversion": stage["resolved_conversion"]}
                    for stage in report["stages"][:2]
                ],
            }
            for report in (WEEK_1, WEEK_2, WEEK_3)
        ],
        "change": [
            {"stage": "Lead", "from": 0.5, "to": 0.6, "points": 10.0},
            {"stage": "Proposal", "from": 0.5, "to": 0.75, "points": 25.0},
        ],
    }


def test_trend_csv() -> None:
    assert trend_csv(_three_weeks()) == (
        "as_of,win_rate,won,open,stage,resolved_conversion\n"
        "2025-01-06,0.25,10,20,Lead,0.5\n"
        "2025-01-06,0.25,10,20,Proposal,0.5\n"
        "2025-01-13,0.3,12,25,Lead,0.55\n"
        "2025-01-13,0.3,12,25,Proposal,0.625\n"
        "2025-01-20,0.375,15,30,Lead,0.6\n"
        "2025-01-20,0.375,15,30,Proposal,0.75\n"
    )


def test_trend_csv_neutralises_stage_names_and_blanks_unknowns() -> None:
    stages: tuple[Stage, ...] = (("=Lead", 10, 0, 0, None, None), ("Won", 0, 0, 0, None, None))
    save_snapshot(DB, _report("2025-01-06", win_rate=None, stages=stages))
    rows = list(csv.reader(io.StringIO(trend_csv(load_trend(DB)))))
    assert rows[1] == ["2025-01-06", "", "10", "20", "'=Lead", ""]


def test_report_saves_snapshots_and_trend_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the command line: two saved reports, then the trend of their figures."""
    from typer.testing import CliRunner

    from funnelcli.cli import app

    from .conftest import ROOT

    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    database = str(tmp_path / "history.db")
    maven = ["report", "examples/maven_pipeline.csv", "--funnel", "sample_funnels/maven_crm.yaml"]
    expected = []
    for day in ("2017-06-30", "2017-12-31"):
        args = [*maven, "--as-of", day, "--until", day, "--save-snapshot", database, "-f", "json"]
        result = runner.invoke(app, args, prog_name="funnel")
        assert result.exit_code == 0, result.stderr
        expected.append(json.loads(result.stdout))
    trend = runner.invoke(app, ["trend", database, "-f", "json"], prog_name="funnel")
    assert trend.exit_code == 0, trend.stderr
    data = json.loads(trend.stdout)
    assert [row["as_of"] for row in data["snapshots"]] == ["2017-06-30", "2017-12-31"]
    assert [row["win_rate"] for row in data["snapshots"]] == [r["win_rate"] for r in expected]
    engaging = [row["stages"][1]["resolved_conversion"] for row in data["snapshots"]]
    assert engaging == [r["stages"][1]["resolved_conversion"] for r in expected]
