"""``funnel init``: a commented starter funnel file, or one measured from an export."""

# No `from __future__ import annotations`: typer reads the signature (see cli.py).
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from funnelcli.commands.common import (
    DateFormatOption,
    DecimalOption,
    EncodingOption,
    SheetOption,
    check_date_format,
    decimal_separator,
    parse_option,
    user_errors,
)
from funnelcli.errors import UsageError, print_warning

if TYPE_CHECKING:
    from funnelcli.readers.export import ReadOptions


def init(
    path: Annotated[
        str, typer.Argument(metavar="FILE", help="Where to write the funnel file.")
    ] = "funnel.yaml",
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the file if it exists.")
    ] = False,
    from_export: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="EXPORT",
            help="Take stages, aliases, columns and measured rates from this export.",
            show_default=False,
        ),
    ] = None,
    history: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="With --from: a stage-history file whose sequences order the stages.",
            show_default=False,
        ),
    ] = None,
    sheet: SheetOption = None,
    encoding: EncodingOption = None,
    decimal: DecimalOption = None,
    date_format: DateFormatOption = None,
) -> None:
    """Write a commented starter funnel file to edit, or one measured from an export.

    Example: funnel init my_funnel.yaml --from deals.csv
    """
    with user_errors():
        target = Path(path)
        if target.exists() and not force:
            raise UsageError(f"{path}: already exists; pass --force to overwrite it")
        # lazy, here and below: `funnel init --help` imports the command alone (test_startup)
        from funnelcli.render.output import atomic_write

        if history and not from_export:
            raise UsageError("--history goes with --from: the export whose funnel it orders")
        if date_format is not None and not from_export:
            raise UsageError("--date-format goes with --from: the export whose dates it reads")
        if date_format is not None:
            parse_option("--date-format", date_format, check_date_format)
        if from_export:
            from funnelcli.readers.export import ReadOptions

            options = ReadOptions(
                sheet=sheet,
                encoding=encoding,
                date_format=date_format,
                decimal=decimal_separator(decimal),
            )
            text = _starter_from_export(from_export, options, history)
            atomic_write(
                path,
                text,
                protected=tuple(p for p in (from_export, history) if p),
                label="",
            )
            history_option = f" --history {history}" if history else ""
            print(
                f"Wrote {path} from {from_export}. Check the stage order, then run 'funnel report {from_export} --funnel {path}{history_option}'."
            )
            return
        from importlib import resources

        template = resources.files("funnelcli").joinpath("templates/funnel.yaml").read_text("utf-8")
        atomic_write(path, template, label="")
        print(f"Wrote {path}. Edit the stages and rates, then run 'funnel validate {path}'.")


def _starter_from_export(export: str, options: "ReadOptions", history: str | None) -> str:
    """The funnel the no-file report uses, with the rates measured on the export."""
    from funnelcli.readers.evidence import (
        funnel_name,
        funnel_of,
        gather_evidence,
        infer_or_refuse,
        inferred_data,
    )
    from funnelcli.readers.export import report_export
    from funnelcli.render.starter import measured_rates, starter_yaml

    gathered = gather_evidence(export, options, history)
    if gathered.columns.get("stage") is None:
        raise UsageError(
            f"{export}: no stage column found; name it with columns: {{stage: ...}} in a funnel file"
        )
    inferred = infer_or_refuse(gathered.evidence, export, allow_unordered=True)
    data = inferred_data(inferred, funnel_name(export), gathered.currency)
    columns = {
        name: gathered.columns.headers[index] for name, index in gathered.columns.fields.items()
    }
    funnel = funnel_of(inferred, export, gathered.currency)
    timelines = None
    if history:
        from funnelcli.readers.history import read_history

        timelines = read_history(history, funnel, encoding=options.encoding)
    # Read whole even when no rate will be written: an export the report would refuse (an
    # ambiguous decimal separator, ...) is refused here too, before a file is written.
    result = report_export(
        export, funnel, as_of=dt.date.today(), options=options, history=timelines
    )
    measured = None if inferred.unordered else measured_rates(funnel, result.report)
    if inferred.unordered:
        from funnelcli.render.neutralise import printable

        labels = ", ".join(f"'{label}'" for label in inferred.unordered)
        print_warning(
            printable(
                f"{export}: nothing in the export gives the place of {labels}: "
                "they are listed by row count; put them in order before using the file"
            ),
            False,
        )
    return starter_yaml(
        export=export,
        today=dt.date.today(),
        inferred=inferred,
        data=data,
        columns=columns,
        measured=measured,
    )
