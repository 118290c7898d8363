"""``funnel report``: stage counts, conversion, cycle time and the bottleneck of an export.

The options parsed (the alert options too), one call to the report use case
(reporting.py), what the read could not say on stderr, the output rendered, the exit code.
"""

# No `from __future__ import annotations`: typer reads report's signature (see cli.py).
import datetime as dt
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

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
    report_notes,
    report_skips,
    user_errors,
    write_output,
)
from funnelcli.errors import EXIT_ALERT, UsageError, one_line, print_warning, shown

if TYPE_CHECKING:  # what a run needs is imported in the functions: --help needs none of it
    from collections.abc import Sequence
    from fractions import Fraction

    from rich.progress import Progress, TaskID

    from funnelcli.alerts import AlertResult, AlertRules
    from funnelcli.loading import LoadedFunnel
    from funnelcli.results import ExportReport, SliceRequest


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
        # lazy, here and below: `funnel report --help` imports no reader (test_startup)
        from funnelcli.readers.export import ReadOptions
        from funnelcli.readers.sources import refuse_one_stream_twice
        from funnelcli.reporting import ReportRequest, resolve_funnel_for_export, run_report

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
        # The funnel first: its file's warnings come before any complaint about the options.
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
        run = ReportRequest(
            export,
            loaded,
            day,
            options,
            request,
            stale_days=stale_days,
            history=history,
            compare_to=then,
            rules=cli_rules,
            strict=strict,
        )
        result = run_report(
            run,
            warn=lambda line: print_warning(line, quiet),
            progress=lambda: _progress_display(quiet),
        )
        report_skips(result, loaded, quiet=quiet, as_errors=False, date_format=options.date_format)
        if result.account.skipped_total and not result.account.used:
            raise UsageError(_nothing_used_line(result, loaded))
        report_notes(result, quiet)
        if result.alerts is not None:
            _tell_alerts(result.alerts, quiet)
        source = loaded.funnel.source
        snapshot = None
        if save_snapshot:
            from funnelcli.reporting import snapshot_saver

            snapshot = snapshot_saver(save_snapshot, result, source, export)
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
    started = time.monotonic()
    shown: list[tuple[Progress, TaskID]] = []

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


def _nothing_used_line(result: "ExportReport", loaded: "LoadedFunnel") -> str:
    """Every row read was skipped: a report of zeros would be read as a real one.

    The fix named depends on why: labels the funnel does not know (the usual first-run
    case, an export whose pipeline is not the funnel's) are fixed by a funnel written
    from the export; anything else by the reasons the warnings above give.
    """
    from funnelcli.results import SKIP_REASONS

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


def _check_rule_stages(rules: "AlertRules", loaded: "LoadedFunnel") -> None:
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


def _tell_alerts(outcome: "AlertResult", quiet: bool) -> None:
    """The alerts that could not be judged (warnings), then those that fired, on stderr."""
    for note in outcome.not_judged:
        print_warning(note, quiet)
    for alert in outcome.fired:
        sys.stderr.write(f"alert: {one_line(alert.message)}\n")


# --- the alert options --------------------------------------------------------------------

FAIL_BELOW_FORM = "STAGE=RATE like Demo=35% or Demo=0.35"


def _cli_rules(
    fail_below: list[str],
    fail_on_bottleneck: bool,
    max_stale: int | None,
    min_win_rate: str | None,
    max_skipped: str | None,
) -> "AlertRules":
    try:
        return rules_from_cli(fail_below, fail_on_bottleneck, max_stale, min_win_rate, max_skipped)
    except ValueError as error:
        raise UsageError(str(error)) from None


def parse_fail_below(text: str) -> tuple[str, "Fraction"]:
    """``"Demo=35%"`` -> ``("Demo", Fraction(7, 20))``. Raises ValueError naming the form."""
    from funnelcli.values import check_rate, parse_rate

    # The rate never holds "=", so the last one splits even a stage name that has one.
    stage, equals, rate_text = text.rpartition("=")
    stage = stage.strip()
    if not equals or not stage or not rate_text.strip():
        raise ValueError(f"expected {FAIL_BELOW_FORM}, got '{shown(text)}'")
    try:
        rate = parse_rate(rate_text)
        check_rate(rate, rate_text.strip())
    except ValueError as error:
        raise ValueError(f"{shown(stage)}: {error}") from None
    return stage, rate


def rules_from_cli(
    fail_below: "Sequence[str]",
    fail_on_bottleneck: bool,
    max_stale: int | None,
    min_win_rate: str | None,
    max_skipped: str | None = None,
) -> "AlertRules":
    """Rules from the report command's options. Raises ValueError starting with the option."""
    from funnelcli.alerts import AlertRules
    from funnelcli.definition import label_key

    thresholds: dict[str, Fraction] = {}
    written: dict[str, str] = {}  # label key -> the --fail-below text that set it
    for text in fail_below:
        try:
            stage, rate = parse_fail_below(text)
        except ValueError as error:
            raise ValueError(f"--fail-below: {error}") from None
        key = label_key(stage)
        if key in written:
            raise ValueError(
                f"--fail-below: stage '{shown(stage)}' is given twice ({shown(written[key])} "
                f"and {shown(text)}); give each stage once"
            )
        written[key] = text
        thresholds[stage] = rate
    if max_stale is not None and max_stale < 0:
        raise ValueError(f"--max-stale: must be 0 or more, got {max_stale}")
    win_rate = _rate_option(min_win_rate, "--min-win-rate")
    skipped_share = _rate_option(max_skipped, "--max-skipped")
    return AlertRules(thresholds, fail_on_bottleneck, max_stale, win_rate, skipped_share)


def _rate_option(text: str | None, option: str) -> "Fraction | None":
    """A rate option's value (None when not given), checked as the YAML's rates are; its
    problem raised at once, starting with the option."""
    from funnelcli.values import check_rate, parse_rate

    if text is None:
        return None
    try:
        rate = parse_rate(text)
        check_rate(rate, text)
    except ValueError as error:
        raise ValueError(f"{option}: {error}") from None
    return rate


def _slice_request(
    by: str | None,
    pipeline: str | None,
    since: str | None,
    until: str | None,
    where: list[str],
    cohort: str | None,
    max_segments: int | None = None,
) -> "SliceRequest":
    import dataclasses

    from funnelcli.results import SliceRequest

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
