"""``funnel report``: stage counts, conversion, cycle time and the bottleneck of an export.

Also the lines on stderr about what an export could not say (skipped rows, notes), which
``funnel plan --rates-from`` prints too.
"""

# No `from __future__ import annotations`: typer reads report's signature (see cli.py).
import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from funnelcli.commands.common import (
    DateFormatOption,
    DecimalOption,
    EncodingOption,
    FormatOption,
    FunnelOption,
    NoColorOption,
    OutputOption,
    QuietOption,
    SheetOption,
    check_date_format,
    check_output,
    choose_format,
    decimal_separator,
    parse_date,
    parse_option,
    print_warnings,
    user_errors,
    write_output,
)
from funnelcli.errors import (
    EXIT_ALERT,
    UsageError,
    one_line,
    print_error,
    print_warning,
    shown,
)

if TYPE_CHECKING:  # what a run needs is imported in the functions: --help needs none of it
    from funnelcli.loading import LoadedFunnel


def report(
    export: Annotated[
        str,
        typer.Argument(metavar="EXPORT", help="The deals export: CSV or XLSX.", show_default=False),
    ],
    funnel: FunnelOption = None,
    sheet: SheetOption = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="The day the report is for, YYYY-MM-DD. Default: today. Without --history it "
            "changes only the ages of open deals (stale deals), not the counts; with --history "
            "the funnel is rebuilt as it stood that day.",
            show_default=False,
        ),
    ] = None,
    date_format: DateFormatOption = None,
    encoding: EncodingOption = None,
    decimal: DecimalOption = None,
    stale_days: Annotated[
        int | None,
        typer.Option(
            metavar="DAYS",
            help="Open deals older than this in their stage are stale (default: 2 x the stage's days).",
            show_default=False,
            min=0,
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 2 if any row is skipped.")] = False,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="COLUMN",
            help="Compare segments side by side: any column (owner, pipeline, region, source...).",
            show_default=False,
        ),
    ] = None,
    max_segments: Annotated[
        int | None,
        typer.Option(
            help="With --by: show the N segments with the most deals (default 50) and fold "
            "the rest into one (others) row; 0 shows every segment.",
            show_default=False,
            min=0,
        ),
    ] = None,
    pipeline: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Report only this pipeline (exports with several).",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Only deals created on or after this date, YYYY-MM-DD.",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Only deals created on or before this date, YYYY-MM-DD.",
            show_default=False,
        ),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            metavar="COLUMN=VALUE",
            help="Only rows where COLUMN=VALUE (ignoring case); repeat to combine.",
            show_default=False,
        ),
    ] = None,
    cohort: Annotated[
        str | None,
        typer.Option(
            metavar="month|quarter",
            help="Group deals by created month or quarter.",
            show_default=False,
        ),
    ] = None,
    fail_below: Annotated[
        list[str] | None,
        typer.Option(
            metavar="STAGE=RATE",
            help="Alert (exit 1) when STAGE's resolved conversion is below RATE: Demo=35%. Repeatable.",
            show_default=False,
        ),
    ] = None,
    fail_on_bottleneck: Annotated[
        bool,
        typer.Option(
            "--fail-on-bottleneck",
            help="Alert when a stage converts below plan beyond sampling noise (90% interval).",
        ),
    ] = False,
    max_stale: Annotated[
        int | None,
        typer.Option(
            metavar="N", help="Alert when more than N deals are stale.", show_default=False
        ),
    ] = None,
    min_win_rate: Annotated[
        str | None,
        typer.Option(
            metavar="RATE",
            help="Alert when the win rate is below RATE: 20% or 0.2.",
            show_default=False,
        ),
    ] = None,
    max_skipped: Annotated[
        str | None,
        typer.Option(
            metavar="PERCENT",
            help="Alert when more than PERCENT of the rows read are skipped: 10% or 0.1.",
            show_default=False,
        ),
    ] = None,
    save_snapshot: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="Append this report's figures to a SQLite history file (see 'funnel trend').",
            show_default=False,
        ),
    ] = None,
    history: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="A stage-history file (Salesforce Opportunity History, Zoho, HubSpot, generic): "
            "true time in stage, where lost deals died, the funnel as it stood on --as-of.",
            show_default=False,
        ),
    ] = None,
    compare_to: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="With --history: the report as of this date beside --as-of, with the change.",
            show_default=False,
        ),
    ] = None,
    output_format: FormatOption = None,
    output: OutputOption = None,
    no_color: NoColorOption = False,
    quiet: QuietOption = False,
) -> None:
    """Stage counts, conversion, cycle time, values and the bottleneck of a CRM export.

    Example: funnel report examples/maven_pipeline.csv --funnel sample_funnels/maven_crm.yaml
    """
    with user_errors():
        from funnelcli.loading import resolve_funnel_for_export
        from funnelcli.readers.export import ReadOptions, report_export
        from funnelcli.readers.sources import refuse_one_stream_twice

        refuse_one_stream_twice(export, history)
        chosen_format = choose_format(output_format, output)
        day = parse_option("--as-of", as_of, parse_date) if as_of is not None else dt.date.today()
        protected = tuple(path for path in (export, funnel, save_snapshot, history) if path)
        check_output(output, protected)
        if save_snapshot is not None:
            check_output(
                save_snapshot,
                tuple(path for path in (export, funnel, history) if path),
                "--save-snapshot",
            )
        if date_format is not None:
            parse_option("--date-format", date_format, check_date_format)
        if sheet is not None and not export.lower().endswith((".xlsx", ".xlsm")):
            print_warning(
                f"{export}: not a workbook; --sheet {sheet} applies to XLSX files and is ignored",
                quiet,
            )
        cli_rules = _cli_rules(
            fail_below or [], fail_on_bottleneck, max_stale, min_win_rate, max_skipped
        )
        options = ReadOptions(
            sheet=sheet,
            encoding=encoding,
            date_format=date_format,
            decimal=decimal_separator(decimal),
        )
        loaded = resolve_funnel_for_export(
            funnel, export, options, history, pipeline=pipeline, refuse_mixed=True
        )
        print_warnings(loaded, quiet)
        _check_rule_stages(cli_rules, loaded)
        request = _slice_request(by, pipeline, since, until, where or [], cohort, max_segments)
        then = (
            parse_option("--compare-to", compare_to, parse_date) if compare_to is not None else None
        )
        if then is not None and then >= day:
            raise UsageError(
                f"--compare-to {compare_to} is not before --as-of {day.isoformat()}; compare with an earlier date"
            )
        if then is not None and history is None:
            raise UsageError(
                "--compare-to needs --history: a deals export alone cannot say where deals stood on a past date"
            )
        timelines = _read_history(history, loaded, options, quiet, strict) if history else None
        with _progress_display(quiet) as progress:
            result = report_export(
                export,
                loaded.funnel,
                as_of=day,
                options=options,
                stale_days=stale_days,
                request=request,
                progress=progress,
                history=timelines,
            )
        if timelines is not None:
            result = _with_history(
                result, timelines, then, export, loaded, options, stale_days, request, quiet
            )
        if strict and result.account.skipped_total:
            raise UsageError(_strict_line(result, export))
        report_skips(result, loaded, quiet=quiet, as_errors=False, date_format=options.date_format)
        if result.account.skipped_total and not result.account.used:
            raise UsageError(_nothing_used_line(result, loaded))
        report_notes(result, quiet)
        result = _with_alerts(result, loaded, cli_rules, stale_days, quiet)
        source = loaded.funnel.source
        snapshot = None
        if save_snapshot:
            # Saved once the output is written (an --output file: before it replaces the
            # previous one): an output that fails saves no snapshot, and a snapshot that
            # cannot be saved leaves no output file.
            import functools

            from funnelcli.render.json_report import report_to_dict
            from funnelcli.snapshots import check_snapshot_target
            from funnelcli.snapshots import save_snapshot as save

            check_snapshot_target(save_snapshot)  # a wrong file fails before any output
            snapshot = functools.partial(
                save, save_snapshot, report_to_dict(result, source, export)
            )
        from funnelcli.render.formats import REPORT_FORMATS

        writer = REPORT_FORMATS[chosen_format]
        made = writer.write(result, source, export)
        write_output(writer, made, output, no_color, protected, snapshot)
        if result.alerts is not None and result.alerts.fired:
            raise typer.Exit(EXIT_ALERT)


PROGRESS_AFTER_SECONDS = 1.0


@contextmanager
def _progress_display(quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for a read that takes more than a second, on a terminal only.

    Yields the callback the reader calls, or None (no cost at all) when stderr is not a
    terminal, NO_COLOR-style quiet is asked, or the output is for a script.
    """
    if quiet or not sys.stderr.isatty():
        yield None
        return
    import time

    started = time.monotonic()
    shown: list[Any] = []

    def update(done: int, expected: int) -> None:
        if not shown:
            if time.monotonic() - started < PROGRESS_AFTER_SECONDS:
                return
            from rich.progress import Progress

            from funnelcli.render.console import make_console

            display = Progress(console=make_console(stderr=True), transient=True)
            display.start()
            shown.append((display, display.add_task("Reading", total=expected or None)))
        display, task = shown[0]
        display.update(task, completed=done, total=max(expected, done) if expected else None)

    try:
        yield update
    finally:
        if shown:
            shown[0][0].stop()


def _skip_examples(examples: list[tuple[int, str]], *, worded: bool = False) -> str:
    """The first skipped rows of a reason, as the skip warnings show them; ``worded``:
    the examples quote their cells themselves (readers/deals.py, WORDED_EXAMPLES)."""
    return ", ".join(
        f"row {row} {value}" if worded else f"row {row} '{value}'" if value else f"row {row}"
        for row, value in examples
    )


def _strict_line(result: Any, export: str) -> str:
    """--strict: every skip in one line, the reasons with their first row."""
    from funnelcli.readers.deals import SKIP_REASONS

    account = result.account
    reasons = "; ".join(
        f"{SKIP_REASONS.get(reason, reason)} {count:,} (first: row {account.examples[reason][0][0]})"
        for reason, count in account.skipped.most_common()
    )
    return (
        f"{export}: --strict: {account.skipped_total:,} of {account.read:,} rows skipped: {reasons}; "
        "fix them or run without --strict"
    )


def _nothing_used_line(result: Any, loaded: "LoadedFunnel") -> str:
    """Every row read was skipped: a report of zeros would be read as a real one.

    The fix named depends on why: labels the funnel does not know (the usual first-run
    case, an export whose pipeline is not the funnel's) are fixed by a funnel written
    from the export; anything else by the reasons the warnings above give.
    """
    from funnelcli.readers.deals import SKIP_REASONS

    account = result.account
    source = result.table.source
    reasons = ", ".join(
        f"{SKIP_REASONS.get(reason, reason)} {count:,}"
        for reason, count in account.skipped.most_common()
    )
    line = f"{source}: no row could be used: all {account.skipped_total:,} rows read were skipped ({reasons})"
    if account.unknown_labels:
        labels = ", ".join(
            f"'{shown(label)}'" for label, _ in account.unknown_labels.most_common(5)
        )
        where = loaded.funnel.file_label
        return (
            f"{line}; the funnel {loaded.funnel.name!r} knows none of the labels {labels}: "
            f"write funnel.yaml from the export with `funnel init --from {source}`, check its "
            f"stages and run again, or add the labels to a stage's aliases: in {where}"
        )
    return f"{line}; the warnings above give the first rows of each reason"


def _check_rule_stages(rules: Any, loaded: "LoadedFunnel") -> None:
    """--fail-below must name a stage that converts (not the won stage), as the user typed it."""
    from funnelcli.definition import label_key

    stages = loaded.funnel.stages[:-1]
    keys = {label_key(stage.name) for stage in stages}
    for name, rate in rules.fail_below.items():
        if label_key(name) not in keys:
            names = ", ".join(stage.name for stage in stages)
            from funnelcli.values import format_rate

            raise UsageError(
                f"--fail-below {name}={format_rate(rate)}: no stage named '{name}' that converts; "
                f"the stages are: {names}"
            )


def _read_history(
    path: str, loaded: "LoadedFunnel", options: Any, quiet: bool, strict: bool
) -> Any:
    """Read --history; its skipped rows are reported like the export's (errors with --strict)."""
    from funnelcli.readers.history import HISTORY_SKIP_REASONS, read_history

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
        examples = _skip_examples(account.examples[reason])
        line = f"{path}: {count:,} history row{'s' if count > 1 else ''} skipped, {HISTORY_SKIP_REASONS.get(reason, reason)}: {examples}"
        if reason == "unknown_stage_label":
            line += f"; add the labels to a stage's aliases: in {where}"
        if strict:
            raise UsageError(line + "; --strict refuses skipped rows")
        print_warning(line, quiet)
    return found


def _with_history(
    result: Any,
    timelines: Any,
    then: dt.date | None,
    export: str,
    loaded: "LoadedFunnel",
    options: Any,
    stale_days: int | None,
    request: Any,
    quiet: bool,
) -> Any:
    """Attach what the history held (and the report as of --compare-to); say what did not join."""
    import dataclasses

    from funnelcli.readers.export import HistorySummary, report_export

    compare = None
    if then is not None:
        compare = report_export(
            export,
            loaded.funnel,
            as_of=then,
            options=options,
            stale_days=stale_days,
            request=request,
            history=timelines,
        )
    rows, deals = timelines.unmatched()
    if rows:
        history_rows = "history row" if rows == 1 else "history rows"
        match = "matches" if rows == 1 else "match"
        left = "it is" if rows == 1 else "they are"
        deal_word = "deal" if deals == 1 else "deals"
        print_warning(
            f"{timelines.source}: {rows:,} {history_rows} ({deals:,} {deal_word}) {match} no deal in "
            f"{export}; {left} left out",
            quiet,
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
        print_warning(
            f"{export}: {shared:,} deals share a name with another deal ({names}{more}): their "
            f"stage history{rows_held} is not used; add a deal id column to both files",
            quiet,
        )
    # The deals that share a name were just said: the rest have no history of their own.
    without = max(result.account.without_history - shared, 0)
    if without:
        other = "other " if shared else ""
        has = "deal has no history" if without == 1 else "deals have no history"
        their = "its stage dates come" if without == 1 else "their stage dates come"
        print_warning(
            f"{export}: {without:,} {other}{has} in {timelines.source}; {their} from the export "
            "alone",
            quiet,
        )
    summary = HistorySummary(timelines.source, timelines.dialect, timelines.account)
    return dataclasses.replace(result, history=summary, compare=compare)


SHARED_NAMES_SHOWN = 3


def _cli_rules(
    fail_below: list[str],
    fail_on_bottleneck: bool,
    max_stale: int | None,
    min_win_rate: str | None,
    max_skipped: str | None,
) -> Any:
    from funnelcli.alerts import rules_from_cli

    try:
        return rules_from_cli(fail_below, fail_on_bottleneck, max_stale, min_win_rate, max_skipped)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _with_alerts(
    result: Any, loaded: "LoadedFunnel", cli_rules: Any, stale_days: int | None, quiet: bool
) -> Any:
    """Evaluate the file's alerts: and the command line's; fired alerts go to stderr too."""
    import dataclasses

    from funnelcli.alerts import AlertRules, evaluate

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
    for note in outcome.not_judged:
        print_warning(note, quiet)
    for alert in outcome.fired:
        sys.stderr.write(f"alert: {one_line(alert.message)}\n")
    return dataclasses.replace(result, alerts=outcome)


def _slice_request(
    by: str | None,
    pipeline: str | None,
    since: str | None,
    until: str | None,
    where: list[str],
    cohort: str | None,
    max_segments: int | None = None,
) -> Any:
    import dataclasses

    from funnelcli.readers.export import SliceRequest

    if cohort is not None and cohort not in ("month", "quarter"):
        raise UsageError(f"--cohort: '{cohort}' is not a period; use month or quarter")
    pairs = []
    for condition in where:
        column, equals, value = condition.partition("=")
        if not equals or not column.strip():
            raise UsageError(
                f"--where: '{condition}' is not COLUMN=VALUE, like --where region=EMEA"
            )
        pairs.append((column.strip(), value))
    first = parse_option("--since", since, parse_date) if since is not None else None
    last = parse_option("--until", until, parse_date) if until is not None else None
    if first and last and first > last:
        raise UsageError(f"--since {since} is after --until {until}; swap them")
    request = SliceRequest(
        by=by, cohort=cohort, since=first, until=last, where=tuple(pairs), pipeline=pipeline
    )
    if max_segments is None:
        return request
    if by is None:
        raise UsageError("--max-segments applies to --by; name the column, like --by owner")
    return dataclasses.replace(request, max_segments=max_segments)


def report_skips(
    result: Any,
    loaded: "LoadedFunnel",
    *,
    quiet: bool,
    as_errors: bool,
    date_format: str | None = None,
) -> None:
    """One line per skip reason on stderr: count, first rows and values, and the fix
    (``date_format``: the --date-format given, which the fix for unreadable dates names)."""
    from funnelcli.readers.deals import SKIP_REASONS, WORDED_EXAMPLES

    account = result.account
    source = result.table.source
    where = loaded.funnel.file_label
    for reason, count in account.skipped.most_common():
        examples = _skip_examples(account.examples[reason], worded=reason in WORDED_EXAMPLES)
        line = f"{source}: {count:,} row{'s' if count > 1 else ''} skipped, {SKIP_REASONS[reason]}: {examples}"
        if reason == "unknown_stage_label":
            labels = ", ".join(
                f"'{shown(label)}' ({n:,})" for label, n in account.unknown_labels.most_common(5)
            )
            if loaded.funnel.evidence is not None:
                # A funnel built from the export: the evidence says they are no stage.
                line += (
                    f"; labels {labels}: not stages of the funnel built from "
                    f"{loaded.funnel.evidence}; to count them, write the funnel with "
                    f"`funnel init --from {source}` and add them to a stage's aliases."
                )
            else:
                line += f"; labels {labels}: add them to a stage's aliases: in {where}"
        elif reason == "unreadable_date" and date_format is None:
            line += "; pass --date-format if the dates are in one format"
        elif reason == "unreadable_date":
            line += f"; check that --date-format {date_format} is how these cells write dates"
        (print_error if as_errors else lambda text: print_warning(text, quiet))(line)


def report_notes(result: Any, quiet: bool) -> None:
    report = result.report
    source = result.table.source
    if result.table.encoding_note:
        print_warning(result.table.encoding_note, quiet)
    for note in result.table.notes:
        print_warning(note, quiet)
    if report.negative_durations:
        count = report.negative_durations
        durations = "duration is" if count == 1 else "durations are"
        print_warning(
            f"{source}: {count:,} {durations} negative (a date before the one it follows, first at row "
            f"{report.negative_first_row}); counted, and left out of the medians",
            quiet,
        )
    if len(report.money) > 1:
        codes = ", ".join(figures.currency for figures in report.money)
        print_warning(
            f"{source}: amounts in {codes} are not summed together; add fx: rates to the funnel file "
            "to convert them into one currency",
            quiet,
        )
    if result.mixed_pipelines:
        listed = ", ".join(
            f"{name} ({count:,})" for name, count in result.account.pipelines.most_common(5)
        )
        print_warning(
            f"{source}: the export holds several pipelines ({listed}) and they are reported together; "
            "pass --pipeline NAME for one, or --by pipeline to compare them",
            quiet,
        )
    if report.lost_unknown_stage:
        count = report.lost_unknown_stage
        deals = (
            "lost deal does not say at which stage it was"
            if count == 1
            else "lost deals do not say at which stage they were"
        )
        they = "it counts" if count == 1 else "they count"
        print_warning(f"{source}: {count:,} {deals} lost; {they} as lost at the first stage", quiet)
