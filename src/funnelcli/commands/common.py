"""What the commands share: their common options, errors to exit codes, parsing, output."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import StringIO
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from funnelcli.errors import (
    DefinitionError,
    FunnelError,
    InvalidValue,
    UsageError,
    print_error,
    print_warning,
    shown,
    stdout_failed,
)

if TYPE_CHECKING:
    from funnelcli.loading import LoadedFunnel
    from funnelcli.render.formats import Writer
    from funnelcli.results import ExportReport

T = TypeVar("T")


OPTIONS = {
    "target": "--target",
    "deal_value": "--deal-value",
    "booked": "--booked",
    "confidence": "--confidence",
    "deadline": "--by or --period",
}
"""The core's name for a value (an :class:`InvalidValue`'s field) -> the option that gives it.

The core names no option (see :mod:`funnelcli.errors`): its errors reach stderr worded
with these, ``--target must be above 0, got 0``. A field not here is named as the core
names it."""


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the project's errors into their lines on stderr and their exit codes."""
    try:
        yield
    except FunnelError as error:
        for warning in getattr(error, "warnings", ()):
            print_warning(warning, quiet=False)
        # A definition's problems are one line each; any other error is one line, even when
        # a value it quotes holds a line break (print_error escapes it).
        lines = error.problems if isinstance(error, DefinitionError) else [_worded(error)]
        for line in [line for line in lines if line] or [type(error).__doc__ or "error"]:
            print_error(line)
        raise typer.Exit(error.exit_code) from None


def _worded(error: FunnelError) -> str:
    """The error's line; a value the core refused is named by its option (:data:`OPTIONS`)."""
    if isinstance(error, InvalidValue):
        return error.worded(OPTIONS.get(error.field))
    return str(error)


def parse_option(option: str, text: str, parser: Callable[[str], T]) -> T:
    """``parser(text)``, its ValueError a usage error that names the option."""
    try:
        return parser(text)
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


# A pattern, not a compiled one: re compiles it on the first date (most runs have none).
_ISO_DAY = r"^\d{4}-\d{2}-\d{2}$"
FIRST_YEAR, LAST_YEAR = 1900, 2199
"""Dates on the command line stay in these years, as export dates do: a plan or report
about year 1 is a typo, and dates near the calendar's ends overflow date arithmetic."""


def parse_date(text: str) -> dt.date:
    value = text.strip()
    if not re.match(_ISO_DAY, value):
        raise ValueError(f"'{text}' is not a date; use YYYY-MM-DD like 2027-03-31")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{text}' is not a real date: {_why_not_a_date(value)}") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"'{text}': the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return day


def _why_not_a_date(value: str) -> str:
    import calendar  # lazy: `funnel plan --format json` imports no calendar (test_startup)

    year, month, day = (int(part) for part in value.split("-"))
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    days = calendar.monthrange(max(year, 1), month)[1]
    return (
        f"{calendar.month_name[month]} {year} has {days} days"
        if not 1 <= day <= days
        else "check it"
    )


def print_warnings(loaded: LoadedFunnel, quiet: bool) -> None:
    for warning in loaded.warnings:
        print_warning(warning, quiet)


def report_skips(
    result: ExportReport,
    loaded: LoadedFunnel,
    *,
    quiet: bool,
    as_errors: bool,
    date_format: str | None = None,
) -> None:
    """One line per skip reason on stderr: count, first rows and values, and the fix
    (``date_format``: the --date-format given, which the fix for unreadable dates names)."""
    from funnelcli.readers.row_account import WORDED_EXAMPLES
    from funnelcli.results import SKIP_REASONS, skip_examples

    account = result.account
    source = result.table.source
    where = loaded.funnel.file_label
    for reason, count in account.skipped.most_common():
        examples = skip_examples(account.examples[reason], worded=reason in WORDED_EXAMPLES)
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


def report_notes(result: ExportReport, quiet: bool) -> None:
    """The notes of a read on stderr: what the export could not say, and how it was counted."""
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


def choose_format(requested: str | None, output: str | None) -> str:
    from funnelcli.render.output import choose_format as choose

    return choose(requested, output)


def write_output(
    writer: Writer,
    made: Any,
    output: str | None,
    no_color: bool,
    protected: tuple[str, ...],
    then: Callable[[], object] | None = None,
) -> None:
    """What a format's writer (render.formats) made, to the terminal, stdout or --output.

    ``then`` runs once the output is written, see :func:`emit`.
    """
    if writer.makes == "renderable":
        render(made, output, no_color, protected, then)
    elif writer.makes == "bytes":
        emit_bytes(made, output, protected, then)
    else:
        emit(made, output, protected, then)


def emit_bytes(
    data: bytes,
    output: str | None,
    protected: tuple[str, ...],
    then: Callable[[], object] | None = None,
) -> None:
    """A binary file (XLSX): to --output, or to stdout only when it is not a terminal.

    ``then`` runs once the output is written, see :func:`emit`.
    """
    if output is not None:
        from funnelcli.render.output import atomic_write

        atomic_write(output, data, protected=protected, before_replace=then)
        return
    if sys.stdout.isatty():
        raise UsageError("--format xlsx writes a binary file; pass --output report.xlsx")

    _to_stdout(data, then)


def check_output(output: str | None, protected: tuple[str, ...], option: str = "--output") -> None:
    """Refuse an --output (or --save-snapshot) that would replace an input, before any work."""
    if output is None:
        return
    from funnelcli.render.output import refuse_inputs

    refuse_inputs(output, protected, option)


def emit(
    text: str,
    output: str | None,
    protected: tuple[str, ...] = (),
    then: Callable[[], object] | None = None,
) -> None:
    """Text to --output (atomically) or to stdout.

    ``then`` runs once the output is written: after stdout is flushed, or once a file's
    temporary copy is on disk and before it replaces the file. A failed write never runs
    it, and if it fails the file is left as it was (a report saves its snapshot so).
    """
    if output is None:
        _to_stdout(text, then)
        return
    from funnelcli.render.output import atomic_write

    atomic_write(output, text, protected=protected, before_replace=then)


def _to_stdout(data: str | bytes, then: Callable[[], object] | None) -> None:
    """All of ``data`` to stdout, then ``then``; a closed or failed stdout is one error line.

    Written through the binary buffer in a loop: a buffered write into a pipe whose reader
    left may take part of the data and return its count, and the text layer would drop the
    rest in silence. The next write fails, as it should.
    """
    payload = (
        data
        if isinstance(data, bytes)
        else data.encode(sys.stdout.encoding, sys.stdout.errors or "strict")
    )
    try:
        sys.stdout.flush()
        remaining = memoryview(payload)
        while remaining:
            remaining = remaining[sys.stdout.buffer.write(remaining) :]
        sys.stdout.buffer.flush()
    except OSError as error:
        raise stdout_failed(error) from None
    if then is not None:
        then()


def render(
    renderable: Any,
    output: str | None,
    no_color: bool,
    protected: tuple[str, ...],
    then: Callable[[], object] | None = None,
) -> None:
    """A Rich renderable to the terminal, or as plain text to --output.

    Width: on stdout, Rich's rule: ``COLUMNS`` when set, else the width of the terminal
    the command runs in (any of stdin, stdout, stderr), else 80; so a pipe or a cron job
    with ``COLUMNS=80`` gets the 80-column layout. To a file: ``COLUMNS`` when set, else
    :data:`FILE_COLUMNS` (README: Output formats)."""
    from funnelcli.render.console import Printable, make_console

    renderable = Printable(renderable)  # no control character from a CRM value reaches a screen
    if output is None:
        console = make_console(no_color=no_color)
        with console.capture() as captured:  # as it would print, written as emit writes
            console.print(renderable)
        _to_stdout(captured.get(), then)
        return
    from rich.console import Console

    buffer = StringIO()
    Console(
        file=buffer,
        width=_file_columns(),
        no_color=True,
        highlight=False,
        markup=False,
        emoji=False,
    ).print(renderable)
    emit(buffer.getvalue(), output, protected, then)


FILE_COLUMNS = 100
"""The width of a table written to a file (--output FILE.txt) when COLUMNS is not set."""


def _file_columns() -> int:
    """``COLUMNS`` when it is a positive whole number (as Rich reads it), else 100."""
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else FILE_COLUMNS


FORMAT_NAMES = ("table", "json", "csv", "markdown", "xlsx", "html")
"""render.output.FORMATS, written out: importing it would slow --help (a test holds them equal)."""


def complete_from(names: tuple[str, ...]) -> Callable[[str], list[str]]:
    """A completion callback (typer's ``autocompletion``): the ``names`` that start as typed.

    It runs only when the shell asks funnel for completions: a normal run never calls it.
    """

    def starting_with(incomplete: str) -> list[str]:
        return [name for name in names if name.startswith(incomplete)]

    return starting_with


FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        autocompletion=complete_from(FORMAT_NAMES),
        # The list is render.output.FORMATS, written out: importing it would slow --help
        # (tests/commands/test_cli_defects.py holds them equal).
        help="table, json, csv, markdown, xlsx or html. Default: table, or what --output's "
        "extension names (.json, .csv, .md, .xlsx, .html).",
        show_default=False,
    ),
]
OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write to this file (atomically) instead of stdout.",
        show_default=False,
    ),
]
NoColorOption = Annotated[bool, typer.Option("--no-color", help="No colour, even on a terminal.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Do not print warnings.")]
FunnelOption = Annotated[
    str | None,
    typer.Option(
        "--funnel",
        "-F",
        metavar="FILE",
        help="Funnel YAML file. Default: ./funnel.yaml, else the built-in B2B funnel.",
        show_default=False,
    ),
]
SheetOption = Annotated[
    str | None,
    typer.Option(
        metavar="SHEET",
        help="XLSX: the sheet to read (default: the active sheet if visible, else the first visible one).",
        show_default=False,
    ),
]
EncodingOption = Annotated[
    str | None,
    typer.Option(
        metavar="ENCODING",
        help="CSV: the encoding, when detection gets it wrong (e.g. cp1252).",
        show_default=False,
    ),
]
DecimalOption = Annotated[
    str | None,
    typer.Option(
        "--decimal",
        metavar="comma|point",
        help="The amount column's decimal separator, when its cells leave it open "
        "(2.500 alone: 2500 with comma, 2.5 with point).",
        show_default=False,
    ),
]


DateFormatOption = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        metavar="PATTERN",
        help="How the export writes dates, when its day/month order is ambiguous: %d/%m/%Y.",
        show_default=False,
    ),
]


def check_date_format(text: str) -> str:
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


def decimal_separator(text: str | None) -> str | None:
    """--decimal's value, checked: "comma", "point" or None (read from the cells)."""
    if text is None:
        return None
    chosen = text.strip().casefold()
    if chosen not in ("comma", "point"):
        raise UsageError(f"--decimal {text}: use --decimal comma or --decimal point")
    return chosen
