"""``funnel init``: a commented starter funnel file, or one measured from an export."""

# No `from __future__ import annotations`: typer reads the signature (see cli.py).
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from funnelcli.commands.common import (
    DecimalOption,
    EncodingOption,
    SheetOption,
    decimal_separator,
    user_errors,
)
from funnelcli.errors import UsageError

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
    sheet: SheetOption = None,
    encoding: EncodingOption = None,
    decimal: DecimalOption = None,
) -> None:
    """Write a commented starter funnel file to edit, or one measured from an export.

    Example: funnel init my_funnel.yaml --from deals.csv
    """
    with user_errors():
        target = Path(path)
        if target.exists() and not force:
            raise UsageError(f"{path}: already exists; pass --force to overwrite it")
        from funnelcli.render.output import atomic_write

        if from_export:
            from funnelcli.readers.export import ReadOptions

            options = ReadOptions(
                sheet=sheet, encoding=encoding, decimal=decimal_separator(decimal)
            )
            text = _starter_from_export(from_export, options)
            atomic_write(path, text, protected=(from_export,), label="")
            print(
                f"Wrote {path} from {from_export}. Check the stage order, then run 'funnel report {from_export} --funnel {path}'."
            )
            return
        from importlib import resources

        template = resources.files("funnelcli").joinpath("templates/funnel.yaml").read_text("utf-8")
        atomic_write(path, template, label="")
        print(f"Wrote {path}. Edit the stages and rates, then run 'funnel validate {path}'.")


def _starter_from_export(export: str, options: "ReadOptions") -> str:
    """Inspect the export, order its stages, measure their rates, write the YAML."""
    from funnelcli.definition import build_funnel, default_funnel
    from funnelcli.readers.export import report_export
    from funnelcli.readers.inspect import inspect_export, order_stages
    from funnelcli.render.starter import starter_data, starter_yaml

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
