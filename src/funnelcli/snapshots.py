"""Report snapshots in an SQLite file, and the trend they draw: the history edge.

``funnel report deals.csv --save-snapshot history.db`` appends the report's key figures
to ``history.db``; ``funnel trend history.db`` reads them back as a
:class:`~funnelcli.trend.Trend` (trend.py draws it from the rows read here).

The file holds two tables, ``snapshots`` (one row per saved report) and
``snapshot_stages`` (one row per stage of it), and ``PRAGMA user_version`` says which
layout of them it is (:data:`DB_SCHEMA_VERSION`). The ``schema_version`` column is the
report JSON's own version, so a later reader knows what the figures meant.

The history is append-only. Saving the same ``as_of`` and funnel twice keeps both
snapshots: a rerun (after fixing the export, or the funnel file) is history too, and
the tool never deletes what a user saved. The trend shows both, in the order saved.

Every problem with the file is a :class:`SnapshotError`, one line naming the file and
the fix; ``sqlite3`` errors never reach the user as tracebacks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from funnelcli.errors import (
    EXIT_WRITE_FAILED,
    WRITE_FAILED_ERRNOS,
    InputFileError,
    UsageError,
    shown,
)
from funnelcli.trend import StoredSnapshot, Trend, TrendRow, build_trend

DB_SCHEMA_VERSION = 1
"""The tables' layout, kept in ``PRAGMA user_version``; bump it when a column changes."""

LOCK_TIMEOUT_SECONDS = 10.0
"""How long to wait for another program writing the same file (a cron job, say)."""

SAVE_FIX = "give a new file name or the file written by --save-snapshot"
READ_FIX = "give the file written by --save-snapshot"

_SNAPSHOT_COLUMNS = (
    ("id", "INTEGER PRIMARY KEY"),
    ("taken_at", "TEXT NOT NULL"),  # ISO timestamp, UTC: when the snapshot was saved
    ("as_of", "TEXT NOT NULL"),  # ISO date: the day the report is for
    ("funnel", "TEXT NOT NULL"),
    ("export", "TEXT"),
    ("currency", "TEXT"),  # what won_value and open_value are in; null when mixed
    ("win_rate", "REAL"),
    ("won", "INTEGER NOT NULL"),
    ("won_value", "REAL"),
    ("lost", "INTEGER NOT NULL"),
    ("open", "INTEGER NOT NULL"),
    ("open_value", "REAL"),
    ("median_cycle_days", "REAL"),
    ("schema_version", "INTEGER NOT NULL"),
)
_STAGE_COLUMNS = (
    ("snapshot_id", "INTEGER NOT NULL REFERENCES snapshots (id)"),
    ("position", "INTEGER NOT NULL"),
    ("name", "TEXT NOT NULL"),
    ("reached", "INTEGER NOT NULL"),
    ("current", "INTEGER NOT NULL"),
    ("lost", "INTEGER NOT NULL"),
    ("resolved_conversion", "REAL"),
    ("conversion_to_next", "REAL"),
)
_TABLES = {"snapshots": _SNAPSHOT_COLUMNS, "snapshot_stages": _STAGE_COLUMNS}


class SnapshotError(InputFileError):
    """A snapshot database cannot be read or written, or holds something else."""


class SnapshotWriteFailed(SnapshotError):
    """The snapshot did not get to the disk (full, an I/O error, a file over its size limit)."""

    exit_code = EXIT_WRITE_FAILED


_FULL_OR_IO = (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR)
"""SQLite's primary codes for a write the disk refused: exit 74, as for stdout and --output."""


def _write_failed(path: str, reason: str) -> SnapshotWriteFailed:
    return SnapshotWriteFailed(
        f"{path}: cannot be written ({reason}); no snapshot was saved; check the disk (space, quota) and run again"
    )


# --- what is stored -----------------------------------------------------------------------


@dataclass(frozen=True)
class _StageRow:
    name: str
    reached: int
    current: int
    lost: int
    resolved_conversion: float | None
    conversion_to_next: float | None


@dataclass(frozen=True)
class _Snapshot:
    as_of: str
    funnel: str
    export: str | None
    currency: str | None
    win_rate: float | None
    won: int
    won_value: float | None
    lost: int
    open: int
    open_value: float | None
    median_cycle_days: float | None
    schema_version: int
    stages: tuple[_StageRow, ...]


def _snapshot_from_report(report: Mapping[str, Any]) -> _Snapshot:
    """The figures kept from a report JSON dict (``report_to_dict``); a missing key is a bug."""
    return _Snapshot(
        as_of=dt.date.fromisoformat(report["as_of"]).isoformat(),
        funnel=str(report["funnel"]),
        export=report.get("export"),
        currency=report.get("currency"),
        win_rate=_real(report["win_rate"]),
        won=int(report["won"]["count"]),
        won_value=_real(report["won"]["value"]),
        lost=int(report["lost"]["count"]),
        open=int(report["open"]["count"]),
        open_value=_real(report["open"]["value"]),
        median_cycle_days=_real(report["median_cycle_days"]),
        schema_version=int(report["schema_version"]),
        stages=tuple(
            _StageRow(
                name=str(stage["name"]),
                reached=int(stage["reached"]),
                current=int(stage["current"]),
                lost=int(stage["lost"]),
                resolved_conversion=_real(stage["resolved_conversion"]),
                conversion_to_next=_real(stage["conversion_to_next"]),
            )
            for stage in report["stages"]
        ),
    )


def _real(value: Any) -> float | None:
    return None if value is None else float(value)


# --- saving -------------------------------------------------------------------------------


def save_snapshot(
    db_path: str, report_dict: dict[str, Any], *, taken_at: dt.datetime | None = None
) -> int:
    """Append one snapshot of a report (its JSON dict) to ``db_path``; return its id.

    Everything is one transaction: a crash or an error leaves the file as it was. A new
    file is made whole beside the target and linked into place, so it appears with its
    first snapshot or not at all, and nothing is ever deleted at the path: a file another
    run created meanwhile (two cron jobs) is appended to, never removed. Reruns for the
    same day are kept, see the module docstring.
    """
    snapshot = _snapshot_from_report(report_dict)
    moment = (taken_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    stamp = moment.isoformat(timespec="seconds")
    _check_save_path(db_path)
    if not Path(db_path).exists():
        created = _save_as_new_file(db_path, snapshot, stamp)
        if created is not None:
            return created
    return _append(db_path, snapshot, stamp)


def check_snapshot_target(db_path: str) -> None:
    """Refuse a path :func:`save_snapshot` would refuse, before the report is written.

    A report goes out first and its snapshot is saved after (stdout cannot be taken
    back, and a report that could not be written saves none): a wrong folder, a folder,
    or a file that is not a snapshot database must fail before any output. A file busy
    with another writer is left for the save to wait for.
    """
    _check_save_path(db_path)
    if not Path(db_path).is_file():
        return
    # Read and write, as the save opens it: SQLite may have a crashed save to undo first.
    uri = f"file:{_uri_path(db_path)}?mode=rw"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=LOCK_SLICE_SECONDS, isolation_level=None)
    except sqlite3.Error as error:
        raise _file_error(db_path, error, SAVE_FIX) from None
    try:
        _schema_state(db, db_path, SAVE_FIX)
    except sqlite3.DatabaseError as error:
        if not _busy(error):  # busy: the save waits for it
            raise _file_error(db_path, error, SAVE_FIX) from None
    finally:
        db.close()


def _append(db_path: str, snapshot: _Snapshot, stamp: str) -> int:
    # Slices of the lock wait, so a Ctrl-C or SIGTERM acts between them (see _locked).
    with _connection(
        db_path, f"file:{_uri_path(db_path)}?mode=rwc", SAVE_FIX, LOCK_SLICE_SECONDS
    ) as db:
        # The write lock first, so no one changes the tables between the check and the insert.
        _locked(db, "BEGIN IMMEDIATE")
        try:
            if _schema_state(db, db_path, SAVE_FIX) == "empty":
                _create_tables(db)
            snapshot_id = _insert(db, snapshot, stamp)
            _locked(db, "COMMIT")  # waits for readers to finish
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    return snapshot_id


LOCK_SLICE_SECONDS = 0.1
"""SQLite waits for a lock inside C, where Python's signal handlers cannot run: it waits
this long at a time, and :func:`_locked` tries again until :data:`LOCK_TIMEOUT_SECONDS`."""


def _locked(db: sqlite3.Connection, statement: str) -> None:
    """``statement``, retried while another connection holds the lock, up to the timeout."""
    import time

    deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
    while True:
        try:
            db.execute(statement)
            return
        except sqlite3.OperationalError as error:
            if not _busy(error) or time.monotonic() >= deadline:
                raise


def _busy(error: sqlite3.Error) -> bool:
    """Whether another connection holds the lock (SQLITE_BUSY and its extended codes)."""
    return getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


def _save_as_new_file(db_path: str, snapshot: _Snapshot, stamp: str) -> int | None:
    """A new database with this one snapshot, linked in at ``db_path``; its snapshot's id.

    None when the path exists by then (another run made it: append to that one) or the
    file system has no hard links (then the file is made in place, see :func:`_append`).
    """
    import os
    import tempfile

    target = Path(db_path)
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as error:
        if error.errno in WRITE_FAILED_ERRNOS:
            raise _write_failed(db_path, str(error.strerror)) from None
        if isinstance(error, FileNotFoundError) and target.parent.is_dir():  # /proc
            raise SnapshotError(
                f"{db_path}: the folder {target.parent} is not writable (the system makes no "
                "new files there); choose a file and folder you can write to"
            ) from None
        raise SnapshotError(
            f"{db_path}: cannot be written ({error.strerror}); choose a file and folder you can write to"
        ) from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(handle, 0o666 & ~umask)  # as SQLite makes files, not mkstemp's 0600
        os.close(handle)
        with _connection(db_path, f"file:{_uri_path(temporary)}?mode=rw", SAVE_FIX) as db:
            db.execute("BEGIN IMMEDIATE")
            _create_tables(db)
            snapshot_id = _insert(db, snapshot, stamp)
            db.execute("COMMIT")
        try:
            os.link(temporary, target)
        except FileExistsError:
            return None
        except OSError:
            if target.exists():
                raise
            return None
        return snapshot_id
    finally:
        for leftover in (temporary, temporary + "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(leftover)


def _check_save_path(path: str) -> None:
    target = Path(path)
    if target.is_dir():
        raise SnapshotError(
            f"{path}: is a folder; give a file name like {path.rstrip('/')}/history.db"
        )
    folder = target.parent
    if folder.exists() and not folder.is_dir():
        raise SnapshotError(f"{path}: {folder} is a file, not a folder; check the path")
    if not folder.is_dir():
        raise SnapshotError(f"{path}: the folder {folder} does not exist; create it first")


def _create_tables(db: sqlite3.Connection) -> None:
    for table, columns in _TABLES.items():
        listed = ", ".join(f'"{name}" {kind}' for name, kind in columns)
        key = ', PRIMARY KEY ("snapshot_id", "position")' if table == "snapshot_stages" else ""
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} ({listed}{key})")
    db.execute("CREATE INDEX IF NOT EXISTS snapshots_by_funnel ON snapshots (funnel, as_of, id)")
    db.execute(f"PRAGMA user_version = {DB_SCHEMA_VERSION}")


def _insert(db: sqlite3.Connection, snapshot: _Snapshot, taken_at: str) -> int:
    names = [name for name, _ in _SNAPSHOT_COLUMNS[1:]]
    values = (
        taken_at,
        snapshot.as_of,
        snapshot.funnel,
        snapshot.export,
        snapshot.currency,
        snapshot.win_rate,
        snapshot.won,
        snapshot.won_value,
        snapshot.lost,
        snapshot.open,
        snapshot.open_value,
        snapshot.median_cycle_days,
        snapshot.schema_version,
    )
    cursor = db.execute(_insert_sql("snapshots", names), values)
    snapshot_id = cursor.lastrowid
    assert snapshot_id is not None
    _insert_stages(db, snapshot_id, snapshot.stages)
    return snapshot_id


def _insert_stages(db: sqlite3.Connection, snapshot_id: int, stages: Sequence[_StageRow]) -> None:
    db.executemany(
        _insert_sql("snapshot_stages", [name for name, _ in _STAGE_COLUMNS]),
        [
            (
                snapshot_id,
                position,
                stage.name,
                stage.reached,
                stage.current,
                stage.lost,
                stage.resolved_conversion,
                stage.conversion_to_next,
            )
            for position, stage in enumerate(stages)
        ],
    )


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    listed = ", ".join(f'"{name}"' for name in columns)
    return f"INSERT INTO {table} ({listed}) VALUES ({', '.join('?' * len(columns))})"


# --- loading ------------------------------------------------------------------------------


def load_trend(db_path: str, funnel: str | None = None, last: int | None = None) -> Trend:
    """The snapshots of one funnel in ``db_path``, oldest first; only the ``last`` N if given.

    ``funnel`` may be left out when the file holds one funnel; it matches ignoring case.
    """
    if last is not None and last < 1:
        raise UsageError(f"--last {last}: give a number of snapshots, 1 or more")
    _check_read_path(db_path)
    # No transaction needed: snapshots are only ever added, each with its stages at once.
    with _connection(db_path, f"file:{_uri_path(db_path)}?mode=rw", READ_FIX) as db:
        _schema_state(db, db_path, READ_FIX, reading=True)
        name = _choose_funnel(_funnel_counts(db), funnel, db_path)
        stored = _stored_rows(db, name, last)
    return build_trend(db_path, name, stored)


def _check_read_path(path: str) -> None:
    target = Path(path)
    if target.is_dir():
        raise SnapshotError(f"{path}: is a folder, not a snapshot database; {READ_FIX}")
    if not target.exists():
        raise SnapshotError(
            f"{path}: no such file; check the path, or start one with "
            f"'funnel report EXPORT --save-snapshot {path}'"
        )


def _funnel_counts(db: sqlite3.Connection) -> dict[str, int]:
    rows = db.execute("SELECT funnel, COUNT(*) FROM snapshots GROUP BY funnel ORDER BY funnel")
    return {str(name): int(count) for name, count in rows}


def _choose_funnel(counts: Mapping[str, int], wanted: str | None, path: str) -> str:
    listed = ", ".join(f"{shown(name, 40)} ({count:,})" for name, count in counts.items())
    if not counts:
        raise SnapshotError(
            f"{path}: holds no snapshots yet; save one with "
            f"'funnel report EXPORT --save-snapshot {path}'"
        )
    if wanted is None:
        if len(counts) == 1:
            return next(iter(counts))
        raise SnapshotError(
            f"{path}: holds {len(counts)} funnels; choose one with --name NAME; "
            f"the funnels are: {listed}"
        )
    if wanted in counts:
        return wanted
    matches = [name for name in counts if name.casefold() == wanted.strip().casefold()]
    if len(matches) == 1:
        return matches[0]
    raise SnapshotError(
        f"{path}: --name {shown(wanted, 40)}: no such funnel; the funnels are: {listed}"
    )


def _stored_rows(db: sqlite3.Connection, funnel: str, last: int | None) -> list[StoredSnapshot]:
    # The newest ``last`` first (-1: no limit), turned back into oldest first.
    heads = db.execute(
        "SELECT id, taken_at, as_of, win_rate, won, open FROM snapshots WHERE funnel = ? "
        "ORDER BY as_of DESC, id DESC LIMIT ?",
        (funnel, -1 if last is None else last),
    ).fetchall()
    heads.reverse()
    stages = _stages_by_snapshot(db, funnel, [int(head[0]) for head in heads])
    return [
        StoredSnapshot(
            TrendRow(
                snapshot_id=int(snapshot_id),
                taken_at=str(taken_at),
                as_of=dt.date.fromisoformat(as_of),
                win_rate=win_rate,
                won=int(won),
                open=int(open_count),
                conversions=(),
            ),
            stages=tuple(stages.get(int(snapshot_id), ())),
        )
        for snapshot_id, taken_at, as_of, win_rate, won, open_count in heads
    ]


def _stages_by_snapshot(
    db: sqlite3.Connection, funnel: str, ids: Sequence[int]
) -> dict[int, list[tuple[str, float | None]]]:
    stages: dict[int, list[tuple[str, float | None]]] = {snapshot_id: [] for snapshot_id in ids}
    rows = db.execute(
        "SELECT stage.snapshot_id, stage.name, stage.resolved_conversion "
        "FROM snapshot_stages AS stage JOIN snapshots ON snapshots.id = stage.snapshot_id "
        "WHERE snapshots.funnel = ? ORDER BY stage.snapshot_id, stage.position",
        (funnel,),
    )
    for snapshot_id, name, rate in rows:
        if snapshot_id in stages:
            stages[snapshot_id].append((str(name), rate))
    return stages


# --- the file -----------------------------------------------------------------------------


@contextlib.contextmanager
def _connection(
    path: str, uri: str, fix: str, lock_wait: float | None = None
) -> Iterator[sqlite3.Connection]:
    """An open database, closed afterwards; sqlite3's errors become :class:`SnapshotError`.

    The caller manages transactions itself (``isolation_level=None``): Python's implicit
    ones would commit the CREATE TABLE statements apart from the inserts. ``lock_wait``
    is how long one statement waits for a lock (default: :data:`LOCK_TIMEOUT_SECONDS`).
    """
    wait = LOCK_TIMEOUT_SECONDS if lock_wait is None else lock_wait
    try:
        db = sqlite3.connect(uri, uri=True, timeout=wait, isolation_level=None)
    except sqlite3.Error as error:
        raise _file_error(path, error, fix) from None
    try:
        yield db
    except sqlite3.DatabaseError as error:
        raise _file_error(path, error, fix) from None
    finally:
        db.close()


def _uri_path(path: str) -> str:
    """The path for an SQLite URI: ``?`` and ``#`` in a file name must not end it."""
    return Path(path).absolute().as_uri().removeprefix("file://")


def _file_error(path: str, error: sqlite3.Error, fix: str) -> SnapshotError:
    reason = str(error)
    if "not a database" in reason:
        return SnapshotError(f"{path}: not a snapshot database ({reason}); {fix}")
    if "locked" in reason or "busy" in reason:
        return SnapshotError(
            f"{path}: in use by another program ({reason}); try again when it has finished"
        )
    if fix == SAVE_FIX and getattr(error, "sqlite_errorcode", 0) & 0xFF in _FULL_OR_IO:
        return _write_failed(path, reason)
    if fix == SAVE_FIX:
        return SnapshotError(
            f"{path}: cannot be written ({reason}); choose a file and folder you can write to"
        )
    return SnapshotError(
        f"{path}: cannot be read ({reason}); check the path and the file's permissions"
    )


def _schema_state(db: sqlite3.Connection, path: str, fix: str, *, reading: bool = False) -> str:
    """``"ours"`` for a snapshot database, ``"empty"`` for a database with no tables.

    Anything else (another program's tables, a newer layout, a missing column) is an error:
    saving must not add tables to someone else's database.
    """
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > DB_SCHEMA_VERSION:
        raise SnapshotError(
            f"{path}: written by a newer funnel (snapshot schema {version}, this one reads "
            f"up to {DB_SCHEMA_VERSION}); upgrade funnelcli to use it"
        )
    tables = {
        str(row[0])
        for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not str(row[0]).startswith("sqlite_")
    }
    if not tables and not reading:
        return "empty"
    for table, columns in _TABLES.items():
        if table not in tables:
            raise SnapshotError(f"{path}: not a snapshot database (no {table} table); {fix}")
        present = {str(row[1]) for row in db.execute(f"PRAGMA table_info({table})")}
        missing = [name for name, _ in columns if name not in present]
        if missing:
            raise SnapshotError(
                f"{path}: not a snapshot database (table {table} has no column {missing[0]}); {fix}"
            )
    return "ours"
