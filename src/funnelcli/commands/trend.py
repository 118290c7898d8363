"""``funnel trend``: conversion and win rate across the snapshots a cron job saved."""

# No `from __future__ import annotations`: typer reads the signature (see cli.py).
from typing import Annotated

import typer

from funnelcli.commands.common import (
    OutputOption,
    choose_format,
    complete_from,
    user_errors,
    write_output,
)
from funnelcli.errors import UsageError


def trend(
    database: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="The history file written by report --save-snapshot.",
            show_default=False,
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="NAME",
            help="The funnel to show, when the file holds several.",
            show_default=False,
        ),
    ] = None,
    last: Annotated[
        int | None,
        typer.Option(metavar="N", help="Only the newest N snapshots.", show_default=False),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="table|json|csv",
            help="table, json or csv.",
            autocompletion=complete_from(("table", "json", "csv")),
            show_default=False,
        ),
    ] = None,
    output: OutputOption = None,
) -> None:
    """Conversion per stage and win rate across the snapshots a cron job saved.

    Each snapshot is what 'funnel report --save-snapshot' saved. Without --history, the
    report's --as-of changes only the ages of open deals, not the counts: snapshots of
    one export at two dates are the same, so save one of each fresh export. With
    --history, report --as-of DATE rebuilds the funnel as it stood on DATE, so one
    export and its stage history can fill past snapshots.

    Example: funnel trend history.db --last 12
    """
    with user_errors():
        # lazy: `funnel trend --help` imports neither renderers nor sqlite3 (test_startup)
        from funnelcli.render.formats import TREND_FORMATS
        from funnelcli.snapshots import load_trend

        chosen = output_format or choose_format(None, output)
        if chosen not in TREND_FORMATS:
            *others, last_name = TREND_FORMATS
            names = f"{', '.join(others)} or {last_name}"
            raise UsageError(f"--format: '{chosen}' is not a trend format; use {names}")
        found = load_trend(database, funnel=name, last=last)
        writer = TREND_FORMATS[chosen]
        write_output(writer, writer.write(found), output, False, (database,))
