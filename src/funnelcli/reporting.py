"""The report use case: an export (and its stage history) -> an :class:`ExportReport`.

A run of ``funnel report``, step by step (:func:`run_report`): the history file read, the
export read (readers/export.py), the history joined and the report as of --compare-to,
the --strict refusal, the alerts judged. Before it, the funnel it uses
(:func:`resolve_funnel_for_export`: the command says the funnel file's warnings before it
parses the rest of its options); after it, the hook that saves the report to a snapshot
file once the output is written (:func:`snapshot_saver`).

The command parses the options, prints and renders; this module prints nothing. What a
step has to say on the way (history rows skipped, deals without history) goes to the
``warn`` it is given, as it happens, so that the lines on stderr keep their order.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from funnelcli.alerts import AlertRules, evaluate
from funnelcli.errors import UsageError, shown
from funnelcli.loading import LoadedFunnel, has_funnel_file, resolve_funnel
from funnelcli.readers.export import ReadOptions, report_export
from funnelcli.results import (
    HISTORY_SKIP_REASONS,
    SKIP_REASONS,
    ExportReport,
    HistorySummary,
    SliceRequest,
    skip_examples,
)

if TYPE_CHECKING:  # the history reader is imported by a run with --history only
    from funnelcli.readers.history import HistoryIndex

Warn = Callable[[str], None]
"""Where a step's warnings go: one line each, printed by the command."""

Progress = Callable[[int, int], None]
"""``progress(rows_done, rows_expected)``: see :func:`~funnelcli.readers.export.report_export`."""

ProgressDisplay = Callable[[], AbstractContextManager[Progress | None]]
"""Opens the command's progress display around the export's read (None: no display)."""

SHARED_NAMES_SHOWN = 3


def resolve_funnel_for_export(
    path: str | None,
    export: str,
    options: ReadOptions,
    history: str | None = None,
    cwd: Path | None = None,
    *,
    pipeline: str | None = None,
    refuse_mixed: bool = False,
) -> LoadedFunnel:
    """The funnel a command reading ``export`` uses (see loading.py's docstring); with no
    funnel file, ``pipeline`` and ``refuse_mixed`` go to
    :func:`funnelcli.readers.evidence.export_funnel`."""
    if has_funnel_file(path, cwd):
        return resolve_funnel(path, cwd)
    from funnelcli.readers.evidence import export_funnel  # lazy: no funnel file only; inference

    return LoadedFunnel(
        export_funnel(export, options, history, pipeline=pipeline, refuse_mixed=refuse_mixed),
        [],
    )


class ReportRequest(NamedTuple):
    """A ``funnel report`` run, its options parsed and its funnel chosen.

    A named tuple, not a dataclass, for start-up: see loading.LoadedFunnel."""

    export: str
    loaded: LoadedFunnel
    as_of: dt.date
    options: ReadOptions
    slices: SliceRequest = SliceRequest()
    stale_days: int | None = None
    history: str | None = None  # a stage-history file
    compare_to: dt.date | None = None  # with history: the report as of this date too
    rules: AlertRules = AlertRules()  # the command line's, added to the funnel file's
    strict: bool = False  # a skipped row (of the export or the history) is an error


def run_report(
    run: ReportRequest, *, warn: Warn, progress: ProgressDisplay | None = None
) -> ExportReport:
    """Read, join the history, compare, refuse skips with --strict, judge the alerts.

    The skipped rows and notes of the export are the command's to say, after this returns
    (commands/common.py: report_skips, report_notes), and so are the alerts that fired.
    """
    timelines = (
        _read_history(run.history, run.loaded, run.options, warn, run.strict)
        if run.history
        else None
    )
    with progress() if progress is not None else contextlib.nullcontext(None) as shown_to:
        result = report_export(
            run.export,
            run.loaded.funnel,
            as_of=run.as_of,
            options=run.options,
            stale_days=run.stale_days,
            request=run.slices,
            progress=shown_to,
            history=timelines,
        )
    if timelines is not None:
        result = _with_history(result, timelines, run, warn)
    if run.strict and result.account.skipped_total:
        raise UsageError(_strict_line(result, run.export))
    return _with_alerts(result, run.loaded, run.rules, run.stale_days)


def snapshot_saver(
    path: str, result: ExportReport, funnel_source: str, export: str
) -> Callable[[], object]:
    """What saves ``result`` to the snapshot file ``path``, run once the output is written.

    Saved once the output is written (an --output file: before it replaces the previous
    one): an output that fails saves no snapshot, and a snapshot that cannot be saved
    leaves no output file. A wrong file fails here, before any output.
    """
    from funnelcli.render.json_report import report_to_dict
    from funnelcli.snapshots import check_snapshot_target, save_snapshot

    check_snapshot_target(path)
    return functools.partial(save_snapshot, path, report_to_dict(result, funnel_source, export))


def _strict_line(result: ExportReport, export: str) -> str:
    """--strict: every skip in one line, the reasons with their first row."""
    account = result.account
    reasons = "; ".join(
        f"{SKIP_REASONS.get(reason, reason)} {count:,} (first: row {account.examples[reason][0][0]})"
        for reason, count in account.skipped.most_common()
    )
    return (
        f"{export}: --strict: {account.skipped_total:,} of {account.read:,} rows skipped: {reasons}; "
        "fix them or run without --strict"
    )


def _read_history(
    path: str, loaded: LoadedFunnel, options: ReadOptions, warn: Warn, strict: bool
) -> HistoryIndex:
    """Read --history; its skipped rows are reported like the export's (errors with --strict)."""
    from funnelcli.readers.history import read_history

    found = read_history(
        path,
        loaded.funnel,
        encoding=options.encoding,
        date_format=options.date_format,
        columns_override=dict(loaded.funnel.history_columns) or None,
    )
    account = found.account
    where = loaded.funnel.file_label
    for reason, count in account.skipped.most_common():
        examples = skip_examples(account.examples[reason])
        line = f"{path}: {count:,} history row{'s' if count > 1 else ''} skipped, {HISTORY_SKIP_REASONS.get(reason, reason)}: {examples}"
        if reason == "unknown_stage_label":
            line += f"; add the labels to a stage's aliases: in {where}"
        if strict:
            raise UsageError(line + "; --strict refuses skipped rows")
        warn(line)
    return found


def _with_history(
    result: ExportReport, timelines: HistoryIndex, run: ReportRequest, warn: Warn
) -> ExportReport:
    """Attach what the history held (and the report as of --compare-to); say what did not join."""
    export = run.export
    compare = None
    if run.compare_to is not None:
        compare = report_export(
            export,
            run.loaded.funnel,
            as_of=run.compare_to,
            options=run.options,
            stale_days=run.stale_days,
            request=run.slices,
            history=timelines,
        )
    rows, deals = timelines.unmatched()
    if rows:
        history_rows = "history row" if rows == 1 else "history rows"
        match = "matches" if rows == 1 else "match"
        left = "it is" if rows == 1 else "they are"
        deal_word = "deal" if deals == 1 else "deals"
        warn(
            f"{timelines.source}: {rows:,} {history_rows} ({deals:,} {deal_word}) {match} no deal in "
            f"{export}; {left} left out"
        )
    shared = timelines.account.shared_name_deals
    if shared:
        every = timelines.account.shared_names
        names = ", ".join(shown(name) for name in every[:SHARED_NAMES_SHOWN])
        more = ", ..." if len(every) > SHARED_NAMES_SHOWN else ""
        held = timelines.account.shared_name_rows
        rows_held = (
            f" ({held:,} row{'s' if held != 1 else ''} of {timelines.source})" if held else ""
        )
        warn(
            f"{export}: {shared:,} deals share a name with another deal ({names}{more}): their "
            f"stage history{rows_held} is not used; add a deal id column to both files"
        )
    # The deals that share a name were just said: the rest have no history of their own.
    without = max(result.account.without_history - shared, 0)
    if without:
        other = "other " if shared else ""
        has = "deal has no history" if without == 1 else "deals have no history"
        their = "its stage dates come" if without == 1 else "their stage dates come"
        warn(
            f"{export}: {without:,} {other}{has} in {timelines.source}; {their} from the export "
            "alone"
        )
    summary = HistorySummary(timelines.source, timelines.dialect, timelines.account)
    return dataclasses.replace(result, history=summary, compare=compare)


def _with_alerts(
    result: ExportReport, loaded: LoadedFunnel, cli_rules: AlertRules, stale_days: int | None
) -> ExportReport:
    """Evaluate the file's alerts: and the command line's (the command says which fired)."""
    rules = (loaded.alerts or AlertRules()).merged_with(cli_rules)
    if rules.empty:
        return result
    stale_checked = stale_days is not None or any(
        stage.days is not None for stage in loaded.funnel.stages
    )
    try:
        rows = (result.account.read, result.account.skipped_total)
        outcome = evaluate(rules, result.report, stale_checked=stale_checked, rows=rows)
    except ValueError as error:
        raise UsageError(str(error)) from None
    return dataclasses.replace(result, alerts=outcome)
