"""The face: parse options, load, call the core, render, map errors to exit codes.

Exit codes: 0 success; 1 an alert fired (reserved); 2 a usage or input error;
130 interrupted. A user error is one line on stderr, never a traceback.
"""

# No `from __future__ import annotations` here: typer reads these signatures at start-up,
# and string annotations would cost it an eval per parameter (about 7 ms).
import datetime as dt
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

from funnelcli import __version__
from funnelcli.errors import (
    EXIT_ALERT,
    EXIT_BUG,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    FunnelError,
    UsageError,
    shown,
)
from funnelcli.loading import LoadedFunnel, load_funnel_file, resolve_funnel

T = TypeVar("T")


class _OneLineErrors(TyperGroup):
    """Usage errors as one line (``funnel plan: error: ...``) instead of a boxed panel."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
            if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C into a bare exit code
                _error("interrupted")
        except typer.Abort:
            _error("interrupted")
            code = EXIT_INTERRUPTED
        except typer.exceptions.TyperException as error:
            context = getattr(error, "ctx", None)
            path = context.command_path if context is not None else "funnel"
            message = error.format_message() if hasattr(error, "format_message") else str(error)
            sys.stderr.write(f"error: {message.rstrip('.')}; see '{path} --help'\n")
            code = getattr(error, "exit_code", EXIT_USAGE)
        except KeyboardInterrupt:
            _error("interrupted")
            code = EXIT_INTERRUPTED
        except Exception as bug:  # a real bug: say so in one line first, then the traceback
            import traceback

            _error(
                f"internal error (a bug in funnel {__version__}): {type(bug).__name__}: {bug}; "
                "please report it with the command line; details follow"
            )
            traceback.print_exc()
            code = EXIT_BUG
        if not standalone_mode:
            return code
        sys.exit(code or 0)


app = typer.Typer(
    cls=_OneLineErrors,
    help="Plan a sales funnel backwards from a revenue target, and report on CRM exports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")


def _warn(message: str, quiet: bool) -> None:
    if not quiet:
        sys.stderr.write(f"warning: {message}\n")


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the project's errors into their lines on stderr and their exit codes."""
    try:
        yield
    except FunnelError as error:
        for warning in getattr(error, "warnings", ()):
            _warn(warning, quiet=False)
        for line in str(error).splitlines() or [type(error).__doc__ or "error"]:
            _error(line)
        raise typer.Exit(error.exit_code) from None


def _version(value: bool) -> None:
    if value:
        print(f"funnel {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Plan a sales funnel backwards from a revenue target, and report on CRM exports.

    Start with 'funnel plan --target 1.2M' (the built-in B2B funnel), or write
    your own funnel with 'funnel init' and check it with 'funnel validate'.
    """


def _parse(option: str, text: str, parser: Callable[[str], T]) -> T:
    try:
        return parser(text)
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIRST_YEAR, LAST_YEAR = 1900, 2199
"""Dates on the command line stay in these years, as export dates do: a plan or report
about year 1 is a typo, and dates near the calendar's ends overflow date arithmetic."""


def _parse_date(text: str) -> dt.date:
    value = text.strip()
    if not _ISO_DAY.match(value):
        raise ValueError(f"'{text}' is not a date; use YYYY-MM-DD like 2027-03-31")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{text}' is not a real date: {_why_not_a_date(value)}") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"'{text}': the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return day


def _why_not_a_date(value: str) -> str:
    import calendar

    year, month, day = (int(part) for part in value.split("-"))
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    days = calendar.monthrange(max(year, 1), month)[1]
    return (
        f"{calendar.month_name[month]} {year} has {days} days"
        if not 1 <= day <= days
        else "check it"
    )


def _check_year(option: str, text: str, day: dt.date) -> None:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise UsageError(
            f"{option}: '{text}': the year must be between {FIRST_YEAR} and {LAST_YEAR}"
        )


def _check_date_format(text: str) -> str:
    """A --date-format must be a strptime format with date directives that round-trips."""
    if "%" not in text:
        raise ValueError(f"'{text}' has no % directive; use a format like %d/%m/%Y or %m/%d/%Y")
    sample = dt.date(2001, 12, 31)
    try:
        if dt.datetime.strptime(sample.strftime(text), text).date() != sample:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"'{text}' cannot read back a date (it needs %d, %m and %Y or %y); use a format like %d/%m/%Y"
        ) from None
    return text


def _positive_amount(text: str) -> Decimal:
    from funnelcli.values import parse_amount

    amount = parse_amount(text)
    if amount <= 0:
        raise ValueError(f"must be above 0, got {text}")
    return amount


def _confidence_level(text: str) -> Fraction:
    from funnelcli.values import parse_rate

    level = parse_rate(text)
    if not 0 < level < 1:
        raise ValueError(f"must be a probability above 0 and below 1 (like 0.9 or 90%), got {text}")
    return level


def _print_warnings(loaded: LoadedFunnel, quiet: bool) -> None:
    for warning in loaded.warnings:
        _warn(warning, quiet)


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

            from funnelcli.render.terminal import make_console

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


def _html(renderable: Any, title: str) -> str:
    from funnelcli.render.html import to_html

    return to_html(renderable, title)


def _emit_bytes(data: bytes, output: str | None, protected: tuple[str, ...]) -> None:
    """A binary file (XLSX): to --output, or to stdout only when it is not a terminal."""
    if output is not None:
        from funnelcli.render.output import atomic_write

        atomic_write(output, data, protected=protected)
        return
    if sys.stdout.isatty():
        raise UsageError("--format xlsx writes a binary file; pass --output report.xlsx")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)


def _check_output(output: str | None, protected: tuple[str, ...], option: str = "--output") -> None:
    """Refuse an --output (or --save-snapshot) that would replace an input, before any work."""
    if output is None:
        return
    from funnelcli.render.output import refuse_inputs

    refuse_inputs(output, protected, option)


def _emit(text: str, output: str | None, protected: tuple[str, ...] = ()) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    from funnelcli.render.output import atomic_write

    atomic_write(output, text, protected=protected)


FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="table, json, csv or markdown. Default: table, or what --output's extension names.",
        show_default=False,
    ),
]
OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="Write to this file (atomically) instead of stdout.",
        show_default=False,
    ),
]
NoColorOption = Annotated[bool, typer.Option("--no-color", help="No colour, even on a terminal.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Do not print warnings.")]


@app.command()
def plan(
    funnel: Annotated[
        str | None,
        typer.Argument(
            help="Funnel YAML file. Default: ./funnel.yaml, else the built-in B2B funnel.",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str,
        typer.Option(
            help="Revenue to book: 1200000, 1,200,000, 1.2M, 250k or $1.2M.", show_default=False
        ),
    ] = "",
    deal_value: Annotated[
        str | None,
        typer.Option(
            help="Average won deal value (overrides average_deal_value: in the YAML).",
            show_default=False,
        ),
    ] = None,
    confidence: Annotated[
        str | None,
        typer.Option(
            help="Also plan to reach the target with this probability: 0.9 or 90%.",
            show_default=False,
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by", help="Deadline YYYY-MM-DD: pace the leads to close by then.", show_default=False
        ),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            help="Period to book in: 2027-Q1, 2027-03 or 2027 (its end is the deadline).",
            show_default=False,
        ),
    ] = None,
    per: Annotated[str, typer.Option(help="Pacing buckets: month or week.")] = "month",
    as_of: Annotated[
        str | None,
        typer.Option(
            help="The day the plan starts, YYYY-MM-DD. Default: today.", show_default=False
        ),
    ] = None,
    cost_per_lead: Annotated[
        str | None,
        typer.Option(
            help="Spend per lead (overrides cost_per_lead: in the YAML).", show_default=False
        ),
    ] = None,
    rates_from: Annotated[
        str | None,
        typer.Option(
            help="Plan with this export's measured conversion rates and average won value.",
            show_default=False,
        ),
    ] = None,
    credit_pipeline: Annotated[
        str | None,
        typer.Option(
            help="Credit this export's open deals first (expected wins), plan new leads for the gap; "
            "its measured rates are used.",
            show_default=False,
        ),
    ] = None,
    booked: Annotated[
        str | None,
        typer.Option(
            help="Revenue already booked toward the target (with --credit-pipeline).",
            show_default=False,
        ),
    ] = None,
    output_format: FormatOption = None,
    output: OutputOption = None,
    no_color: NoColorOption = False,
    quiet: QuietOption = False,
) -> None:
    """How many deals and leads per stage you need to book a revenue target.

    Example: funnel plan sample_funnels/b2b_saas.yaml --target 1.2M --deal-value 24k --confidence 90%
    """
    with _user_errors():
        from funnelcli.plan import PacingRequest, make_plan, parse_period

        if not target:
            raise UsageError("--target is required: the revenue to book, like --target 1.2M")
        target_amount = _parse("--target", target, _positive_amount)
        deal_amount = (
            _parse("--deal-value", deal_value, _positive_amount) if deal_value is not None else None
        )
        cost = (
            _parse("--cost-per-lead", cost_per_lead, _positive_amount)
            if cost_per_lead is not None
            else None
        )
        level = (
            _parse("--confidence", confidence, _confidence_level)
            if confidence is not None
            else None
        )
        chosen_format = _choose_format(output_format, output)
        if per not in ("month", "week"):
            raise UsageError(f"--per: '{per}' is not a pacing bucket; use month or week")
        if by is not None and period is not None:
            raise UsageError("--by and --period both give a deadline; pass one of them")
        today = _parse("--as-of", as_of, _parse_date) if as_of is not None else dt.date.today()
        pacing = None
        if by is not None:
            pacing = PacingRequest(deadline=_parse("--by", by, _parse_date), as_of=today, per=per)
        elif period is not None:
            first, last = _parse("--period", period, parse_period)
            _check_year("--period", period, first)
            pacing = PacingRequest(deadline=last, as_of=today, period_start=first, per=per)
        loaded = resolve_funnel(funnel)
        _print_warnings(loaded, quiet)
        if rates_from and credit_pipeline and Path(rates_from) != Path(credit_pipeline):
            raise UsageError(
                "--credit-pipeline measures its rates from its own export; "
                "give --rates-from the same file or leave it out"
            )
        booked_amount = (
            _parse("--booked", booked, _parse_amount_or_zero) if booked is not None else None
        )
        if booked_amount is not None and not credit_pipeline:
            raise UsageError("--booked goes with --credit-pipeline")
        history = credit_pipeline or rates_from
        context = None
        if history:
            result, context = _plan_from_history(
                loaded,
                history,
                target_amount,
                credit=bool(credit_pipeline),
                deal_value=deal_amount,
                booked=booked_amount,
                confidence=level,
                cost=cost,
                pacing=pacing,
                today=today,
                quiet=quiet,
            )
        else:
            result = make_plan(
                loaded.funnel,
                target_amount,
                deal_value=deal_amount,
                confidence=level,
                cost_per_lead=cost,
                pacing=pacing,
            )
        source = loaded.funnel.source
        protected = tuple(path for path in (funnel, rates_from, credit_pipeline) if path)
        if chosen_format == "table":
            _render(_plan_renderable(result, source, context), output, no_color, protected)
        elif chosen_format == "xlsx":
            from funnelcli.render.xlsx import plan_xlsx

            _emit_bytes(plan_xlsx(result, source, context), output, protected)
        elif chosen_format == "html":
            _emit(
                _html(_plan_renderable(result, source, context), f"Plan: {result.funnel}"),
                output,
                protected,
            )
        else:
            _emit(_plan_text(result, source, chosen_format, context), output, protected)


def _choose_format(requested: str | None, output: str | None) -> str:
    from funnelcli.render.output import choose_format

    return choose_format(requested, output)


def _plan_text(result: Any, source: str, chosen_format: str, context: Any = None) -> str:
    from funnelcli.render import plan_files

    if chosen_format == "json":
        return plan_files.plan_json(result, source, context)
    if chosen_format == "csv":
        return plan_files.plan_csv(result)
    return plan_files.plan_markdown(result, source, context)


def _parse_amount_or_zero(text: str) -> Decimal:
    from funnelcli.values import parse_amount

    amount = parse_amount(text)
    if amount < 0:
        raise ValueError(f"must be 0 or more, got {text}")
    return amount


def _plan_from_history(
    loaded: LoadedFunnel,
    export: str,
    target: Decimal,
    *,
    credit: bool,
    deal_value: Decimal | None,
    booked: Decimal | None,
    confidence: Fraction | None,
    cost: Decimal | None,
    pacing: Any,
    today: dt.date,
    quiet: bool,
) -> tuple[Any, Any]:
    """A plan with the export's measured rates, crediting its open deals when asked."""
    from funnelcli.history_plan import measured_funnel, plan_from_history
    from funnelcli.plan import covered_plan, make_plan
    from funnelcli.readers.export import ReadOptions, report_export
    from funnelcli.render.plan_files import PlanContext

    read = report_export(export, loaded.funnel, as_of=today, options=ReadOptions())
    # What the export could not say is said as in 'funnel report': rows skipped, lost
    # deals without a stage (which make the measured rates lean on the first stage).
    _report_skips(read, loaded, quiet=quiet, as_errors=False)
    _report_notes(read, quiet)
    report = read.report
    if not credit:
        measured, notes = measured_funnel(loaded.funnel, report, deal_value=deal_value)
        plan = make_plan(measured, target, confidence=confidence, cost_per_lead=cost, pacing=pacing)
        return plan, PlanContext(rates_from=export, notes=tuple(notes))
    history = plan_from_history(
        loaded.funnel,
        report,
        target,
        deal_value=deal_value,
        booked=booked or Decimal(0),
        confidence=confidence,
        cost_per_lead=cost,
        pacing=pacing,
    )
    # Covered: the plan is for the gap, as when there is one: no revenue, no deals.
    plan = history.plan or covered_plan(history.funnel, Decimal(0), history.credit.deal_value)
    context = PlanContext(
        rates_from=export, notes=history.notes, credit=history.credit, credit_from=export
    )
    return plan, context


def _plan_renderable(result: Any, source: str, context: Any = None) -> Any:
    from funnelcli.render.terminal import plan_renderable

    return plan_renderable(result, source, context)


def _render(
    renderable: Any, output: str | None, no_color: bool, protected: tuple[str, ...]
) -> None:
    """A Rich renderable to the terminal, or as plain text (100 columns) to --output."""
    from funnelcli.render.terminal import make_console

    if output is None:
        make_console(no_color=no_color).print(renderable)
        return
    from io import StringIO

    from rich.console import Console

    buffer = StringIO()
    Console(
        file=buffer, width=100, no_color=True, highlight=False, markup=False, emoji=False
    ).print(renderable)
    _emit(buffer.getvalue(), output, protected)


FunnelOption = Annotated[
    str | None,
    typer.Option(
        "--funnel",
        "-F",
        help="Funnel YAML file. Default: ./funnel.yaml, else the built-in B2B funnel.",
        show_default=False,
    ),
]
SheetOption = Annotated[
    str | None,
    typer.Option(help="XLSX: the sheet to read (default: the first).", show_default=False),
]
EncodingOption = Annotated[
    str | None,
    typer.Option(
        help="CSV: the encoding, when detection gets it wrong (e.g. cp1252).", show_default=False
    ),
]


@app.command()
def report(
    export: Annotated[
        str, typer.Argument(help="The deals export: CSV or XLSX.", show_default=False)
    ],
    funnel: FunnelOption = None,
    sheet: SheetOption = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="The day the report is for, YYYY-MM-DD (stale deals). Default: today.",
            show_default=False,
        ),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            help="How the export writes dates, when its day/month order is ambiguous: %d/%m/%Y.",
            show_default=False,
        ),
    ] = None,
    encoding: EncodingOption = None,
    stale_days: Annotated[
        int | None,
        typer.Option(
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
            help="Compare segments side by side: any column (owner, pipeline, region, source...).",
            show_default=False,
        ),
    ] = None,
    pipeline: Annotated[
        str | None,
        typer.Option(help="Report only this pipeline (exports with several).", show_default=False),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Only deals created on or after this date, YYYY-MM-DD.", show_default=False
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            help="Only deals created on or before this date, YYYY-MM-DD.", show_default=False
        ),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            help="Only rows where COLUMN=VALUE (ignoring case); repeat to combine.",
            show_default=False,
        ),
    ] = None,
    cohort: Annotated[
        str | None,
        typer.Option(help="Group deals by created month or quarter.", show_default=False),
    ] = None,
    fail_below: Annotated[
        list[str] | None,
        typer.Option(
            help="Alert (exit 1) when STAGE's resolved conversion is below RATE: Demo=35%. Repeatable.",
            show_default=False,
        ),
    ] = None,
    fail_on_bottleneck: Annotated[
        bool, typer.Option("--fail-on-bottleneck", help="Alert when a stage converts below plan.")
    ] = False,
    max_stale: Annotated[
        int | None,
        typer.Option(help="Alert when more than N deals are stale.", show_default=False),
    ] = None,
    min_win_rate: Annotated[
        str | None,
        typer.Option(help="Alert when the win rate is below RATE: 20% or 0.2.", show_default=False),
    ] = None,
    save_snapshot: Annotated[
        str | None,
        typer.Option(
            help="Append this report's figures to a SQLite history file (see 'funnel trend').",
            show_default=False,
        ),
    ] = None,
    history: Annotated[
        str | None,
        typer.Option(
            help="A stage-history file (Salesforce Opportunity History, Zoho, HubSpot, generic): "
            "true time in stage, where lost deals died, the funnel as it stood on --as-of.",
            show_default=False,
        ),
    ] = None,
    compare_to: Annotated[
        str | None,
        typer.Option(
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
    with _user_errors():
        from funnelcli.readers.export import ReadOptions, report_export

        chosen_format = _choose_format(output_format, output)
        day = _parse("--as-of", as_of, _parse_date) if as_of is not None else dt.date.today()
        loaded = resolve_funnel(funnel)
        _print_warnings(loaded, quiet)
        protected = tuple(path for path in (export, funnel, save_snapshot, history) if path)
        _check_output(output, protected)
        if save_snapshot is not None:
            _check_output(
                save_snapshot,
                tuple(path for path in (export, funnel, history) if path),
                "--save-snapshot",
            )
        if date_format is not None:
            _parse("--date-format", date_format, _check_date_format)
        if sheet is not None and not export.lower().endswith((".xlsx", ".xlsm")):
            _warn(
                f"{export}: not a workbook; --sheet {sheet} applies to XLSX files and is ignored",
                quiet,
            )
        cli_rules = _cli_rules(fail_below or [], fail_on_bottleneck, max_stale, min_win_rate)
        _check_rule_stages(cli_rules, loaded)
        options = ReadOptions(sheet=sheet, encoding=encoding, date_format=date_format)
        request = _slice_request(by, pipeline, since, until, where or [], cohort)
        then = _parse("--compare-to", compare_to, _parse_date) if compare_to is not None else None
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
        _report_skips(result, loaded, quiet=quiet, as_errors=False)
        _report_notes(result, quiet)
        result = _with_alerts(result, loaded, cli_rules, stale_days, quiet)
        source = loaded.funnel.source
        if save_snapshot:
            # Before the output: a snapshot that cannot be saved fails the run with no output.
            from funnelcli.render.report_files import report_to_dict
            from funnelcli.snapshots import save_snapshot as save

            save(save_snapshot, report_to_dict(result, source, export))
        if chosen_format == "table":
            _render(_report_renderable(result, source, export), output, no_color, protected)
        elif chosen_format == "xlsx":
            from funnelcli.render.xlsx import report_xlsx

            _emit_bytes(report_xlsx(result, source, export), output, protected)
        elif chosen_format == "html":
            title = f"Funnel report: {result.report.funnel}"
            _emit(_html(_report_renderable(result, source, export), title), output, protected)
        else:
            _emit(_report_text(result, source, export, chosen_format), output, protected)
        if result.alerts is not None and result.alerts.fired:
            raise typer.Exit(EXIT_ALERT)


def _skip_examples(examples: list[tuple[int, str]]) -> str:
    """The first skipped rows of a reason, as the skip warnings show them."""
    return ", ".join(f"row {row} '{value}'" if value else f"row {row}" for row, value in examples)


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


def _check_rule_stages(rules: Any, loaded: LoadedFunnel) -> None:
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


def _read_history(path: str, loaded: LoadedFunnel, options: Any, quiet: bool, strict: bool) -> Any:
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
    where = "funnel.yaml" if loaded.funnel.is_default else loaded.funnel.source
    for reason, count in account.skipped.most_common():
        examples = _skip_examples(account.examples[reason])
        line = f"{path}: {count:,} history row{'s' if count > 1 else ''} skipped, {HISTORY_SKIP_REASONS.get(reason, reason)}: {examples}"
        if reason == "unknown_stage_label":
            line += f"; add the labels to a stage's aliases: in {where}"
        if strict:
            raise UsageError(line + "; --strict refuses skipped rows")
        _warn(line, quiet)
    return found


def _with_history(
    result: Any,
    timelines: Any,
    then: dt.date | None,
    export: str,
    loaded: LoadedFunnel,
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
        _warn(
            f"{timelines.source}: {rows:,} {history_rows} ({deals:,} {deal_word}) {match} no deal in "
            f"{export}; {left} left out",
            quiet,
        )
    without = result.account.without_history
    if without:
        has = "deal has no history" if without == 1 else "deals have no history"
        their = "its stage dates come" if without == 1 else "their stage dates come"
        _warn(
            f"{export}: {without:,} {has} in {timelines.source}; {their} from the export alone",
            quiet,
        )
    summary = HistorySummary(timelines.source, timelines.dialect, timelines.account)
    return dataclasses.replace(result, history=summary, compare=compare)


def _cli_rules(
    fail_below: list[str], fail_on_bottleneck: bool, max_stale: int | None, min_win_rate: str | None
) -> Any:
    from funnelcli.alerts import rules_from_cli

    try:
        return rules_from_cli(fail_below, fail_on_bottleneck, max_stale, min_win_rate)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _with_alerts(
    result: Any, loaded: LoadedFunnel, cli_rules: Any, stale_days: int | None, quiet: bool
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
        outcome = evaluate(rules, result.report, stale_checked=stale_checked)
    except ValueError as error:
        raise UsageError(str(error)) from None
    for note in outcome.not_judged:
        _warn(note, quiet)
    for alert in outcome.fired:
        sys.stderr.write(f"alert: {alert.message}\n")
    return dataclasses.replace(result, alerts=outcome)


def _slice_request(
    by: str | None,
    pipeline: str | None,
    since: str | None,
    until: str | None,
    where: list[str],
    cohort: str | None,
) -> Any:
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
    first = _parse("--since", since, _parse_date) if since is not None else None
    last = _parse("--until", until, _parse_date) if until is not None else None
    if first and last and first > last:
        raise UsageError(f"--since {since} is after --until {until}; swap them")
    return SliceRequest(
        by=by, cohort=cohort, since=first, until=last, where=tuple(pairs), pipeline=pipeline
    )


def _report_skips(result: Any, loaded: LoadedFunnel, *, quiet: bool, as_errors: bool) -> None:
    """One line per skip reason on stderr: count, first rows and values, and the fix."""
    from funnelcli.readers.deals import SKIP_REASONS

    account = result.account
    source = result.table.source
    where = "funnel.yaml" if loaded.funnel.is_default else loaded.funnel.source
    for reason, count in account.skipped.most_common():
        examples = _skip_examples(account.examples[reason])
        line = f"{source}: {count:,} row{'s' if count > 1 else ''} skipped, {SKIP_REASONS[reason]}: {examples}"
        if reason == "unknown_stage_label":
            labels = ", ".join(
                f"'{shown(label)}' ({n:,})" for label, n in account.unknown_labels.most_common(5)
            )
            line += f"; labels {labels}: add them to a stage's aliases: in {where}"
        elif reason == "unreadable_date":
            line += "; pass --date-format if the dates are in one format"
        (_error if as_errors else lambda text: _warn(text, quiet))(line)


def _report_notes(result: Any, quiet: bool) -> None:
    report = result.report
    source = result.table.source
    if result.table.encoding_note:
        _warn(result.table.encoding_note, quiet)
    if report.negative_durations:
        count = report.negative_durations
        durations = "duration is" if count == 1 else "durations are"
        _warn(
            f"{source}: {count:,} {durations} negative (a date before the one it follows, first at row "
            f"{report.negative_first_row}); counted, and left out of the medians",
            quiet,
        )
    if len(report.money) > 1:
        codes = ", ".join(figures.currency for figures in report.money)
        _warn(
            f"{source}: amounts in {codes} are not summed together; add fx: rates to the funnel file "
            "to convert them into one currency",
            quiet,
        )
    if result.mixed_pipelines:
        listed = ", ".join(
            f"{name} ({count:,})" for name, count in result.account.pipelines.most_common(5)
        )
        _warn(
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
        _warn(f"{source}: {count:,} {deals} lost; {they} as lost at the first stage", quiet)


def _report_renderable(result: Any, source: str, export: str) -> Any:
    from funnelcli.render.report_terminal import report_renderable

    return report_renderable(result, source, export)


def _report_text(result: Any, source: str, export: str, chosen_format: str) -> str:
    from funnelcli.render import report_files

    if chosen_format == "json":
        return report_files.report_json(result, source, export)
    if chosen_format == "csv":
        return report_files.report_csv(result, source, export)
    return report_files.report_markdown(result, source, export)


@app.command()
def inspect(
    export: Annotated[
        str, typer.Argument(help="The deals export: CSV or XLSX.", show_default=False)
    ],
    funnel: FunnelOption = None,
    sheet: SheetOption = None,
    encoding: EncodingOption = None,
    history: Annotated[
        str | None,
        typer.Option(
            help="Also show what is found in this stage-history file.", show_default=False
        ),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """What the reader finds in an export: header, columns, CRM, stage labels and where they map.

    Example: funnel inspect deals.csv --funnel funnel.yaml
    """
    with _user_errors():
        from funnelcli.readers.export import ReadOptions
        from funnelcli.readers.inspect import inspect_export
        from funnelcli.render.inspect_text import inspection_text

        loaded = resolve_funnel(funnel)
        _print_warnings(loaded, quiet)
        options = ReadOptions(sheet=sheet, encoding=encoding)
        found = inspect_export(export, loaded.funnel, options)
        sys.stdout.write(inspection_text(found, loaded.funnel))
        if history:
            from funnelcli.readers.history import read_history
            from funnelcli.render.inspect_text import history_text

            timelines = read_history(
                history,
                loaded.funnel,
                encoding=encoding,
                columns_override=dict(loaded.funnel.history_columns) or None,
            )
            sys.stdout.write(history_text(timelines))


@app.command()
def trend(
    database: Annotated[
        str,
        typer.Argument(
            help="The history file written by report --save-snapshot.", show_default=False
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="The funnel to show, when the file holds several.", show_default=False
        ),
    ] = None,
    last: Annotated[
        int | None, typer.Option(help="Only the newest N snapshots.", show_default=False)
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="table, json or csv.", show_default=False),
    ] = None,
    output: OutputOption = None,
) -> None:
    """Conversion per stage and win rate across the snapshots a cron job saved.

    Example: funnel trend history.db --last 12
    """
    with _user_errors():
        from funnelcli.render import trend as trend_render
        from funnelcli.snapshots import load_trend

        chosen = output_format or _choose_format(None, output)
        if chosen not in ("table", "json", "csv"):
            raise UsageError(f"--format: '{chosen}' is not a trend format; use table, json or csv")
        found = load_trend(database, funnel=name, last=last)
        if chosen == "json":
            text = trend_render.trend_json(found)
        elif chosen == "csv":
            text = trend_render.trend_csv(found)
        else:
            text = trend_render.trend_text(found)
        _emit(text, output, (database,))


@app.command()
def validate(
    funnel: Annotated[
        str, typer.Argument(help="The funnel YAML file to check.", show_default=False)
    ],
    quiet: QuietOption = False,
) -> None:
    """Check a funnel file: every problem at once, one line each with its key path.

    Example: funnel validate sample_funnels/b2b_saas.yaml
    """
    with _user_errors():
        loaded = load_funnel_file(funnel)
        _print_warnings(loaded, quiet)
        print(describe_funnel(loaded, funnel))


def describe_funnel(loaded: LoadedFunnel, path: str) -> str:
    """The one-line summary ``validate`` prints for a valid file."""
    from funnelcli.plan import cumulative_rates
    from funnelcli.values import format_rate

    definition = loaded.funnel
    stages = definition.stages
    summary = f"{path}: OK: '{definition.name}', {len(stages)} stages ({stages[0].name} -> {stages[-1].name})"
    if definition.has_rates:
        rates = [stage.conversion for stage in stages[:-1] if stage.conversion is not None]
        summary += f", {format_rate(cumulative_rates(rates)[0], 2)} from first stage to won"
    else:
        summary += ", no conversion rates (report only)"
    if loaded.warnings:
        summary += f", {len(loaded.warnings)} warning{'s' if len(loaded.warnings) > 1 else ''}"
    return summary


@app.command()
def init(
    path: Annotated[str, typer.Argument(help="Where to write the funnel file.")] = "funnel.yaml",
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the file if it exists.")
    ] = False,
    from_export: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Take stages, aliases, columns and measured rates from this export.",
            show_default=False,
        ),
    ] = None,
    sheet: SheetOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Write a commented starter funnel file to edit, or one measured from an export.

    Example: funnel init my_funnel.yaml --from deals.csv
    """
    with _user_errors():
        target = Path(path)
        if target.exists() and not force:
            raise UsageError(f"{path}: already exists; pass --force to overwrite it")
        from funnelcli.render.output import atomic_write

        if from_export:
            text = _starter_from_export(from_export, sheet, encoding)
            atomic_write(path, text, protected=(from_export,), label="")
            print(
                f"Wrote {path} from {from_export}. Check the stage order, then run 'funnel report {from_export} --funnel {path}'."
            )
            return
        from importlib import resources

        template = resources.files("funnelcli").joinpath("templates/funnel.yaml").read_text("utf-8")
        atomic_write(path, template, label="")
        print(f"Wrote {path}. Edit the stages and rates, then run 'funnel validate {path}'.")


def _starter_from_export(export: str, sheet: str | None, encoding: str | None) -> str:
    """Inspect the export, order its stages, measure their rates, write the YAML."""
    from funnelcli.definition import build_funnel, default_funnel
    from funnelcli.readers.export import ReadOptions, report_export
    from funnelcli.readers.inspect import inspect_export, order_stages
    from funnelcli.render.starter import starter_data, starter_yaml

    options = ReadOptions(sheet=sheet, encoding=encoding)
    found = inspect_export(export, default_funnel(), options)
    if found.columns.get("stage") is None:
        raise UsageError(
            f"{export}: no stage column found; name it with columns: {{stage: ...}} in a funnel file"
        )
    order = order_stages(found)
    if not order.stages:
        raise UsageError(f"{export}: no open stage labels found to build a funnel from")
    columns = {name: found.columns.headers[index] for name, index in found.columns.fields.items()}
    currency = found.currencies.most_common(1)[0][0] if found.currencies else "USD"
    data = starter_data(
        Path(export).stem, currency, order.stages, order.won or "Won", order.lost, columns
    )
    measured_funnel = build_funnel(data, f"{export} (measured)").funnel
    result = report_export(export, measured_funnel, as_of=dt.date.today(), options=options)
    measured = [
        (stage.resolved_conversion, stage.reached - stage.current) for stage in result.report.stages
    ]
    return starter_yaml(
        export=export, today=dt.date.today(), how=order.how, data=data, measured=measured
    )


class _Terminated(BaseException):
    """SIGTERM, raised where the program is so that writes unwind (no half files)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def main() -> None:
    """The console script: ``funnel``."""
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app(prog_name="funnel")
    except _Terminated:
        _error("terminated")
        sys.exit(EXIT_TERMINATED)
