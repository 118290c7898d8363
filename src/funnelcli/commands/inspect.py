"""``funnel inspect``: what the reader finds in an export, and where its labels map."""

# No `from __future__ import annotations`: typer reads the signature (see cli.py).
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from funnelcli.commands.common import (
    EncodingOption,
    FunnelOption,
    QuietOption,
    SheetOption,
    print_warnings,
    user_errors,
)
from funnelcli.errors import print_warning

if TYPE_CHECKING:
    from funnelcli.inference import InferredFunnel
    from funnelcli.loading import LoadedFunnel
    from funnelcli.readers.export import ReadOptions


def inspect(
    export: Annotated[
        str,
        typer.Argument(metavar="EXPORT", help="The deals export: CSV or XLSX.", show_default=False),
    ],
    funnel: FunnelOption = None,
    sheet: SheetOption = None,
    encoding: EncodingOption = None,
    history: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="Also show what is found in this stage-history file.",
            show_default=False,
        ),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """What the reader finds in an export: header, columns, CRM, stage labels and where they map.

    Example: funnel inspect deals.csv --funnel funnel.yaml
    """
    with user_errors():
        # lazy, here and below: `funnel inspect --help` imports no reader (test_startup)
        from funnelcli.readers.export import ReadOptions
        from funnelcli.readers.inspect import inspect_export
        from funnelcli.readers.sources import refuse_one_stream_twice
        from funnelcli.render.inspect_text import inspection_text
        from funnelcli.render.neutralise import printable

        refuse_one_stream_twice(export, history)
        options = ReadOptions(sheet=sheet, encoding=encoding)
        loaded, inferred = _funnel(funnel, export, options, history)
        print_warnings(loaded, quiet)
        found = inspect_export(export, loaded.funnel, options)
        for note in found.table.notes:
            print_warning(note, quiet)
        # Labels and headers come from the CRM: none of their control characters reaches
        # the terminal.
        sys.stdout.write(printable(inspection_text(found, loaded.funnel, inferred)))
        if history:
            from funnelcli.readers.history import read_history
            from funnelcli.render.inspect_text import history_text

            timelines = read_history(
                history,
                loaded.funnel,
                encoding=encoding,
                columns_override=dict(loaded.funnel.history_columns) or None,
            )
            sys.stdout.write(printable(history_text(timelines)))


def _funnel(
    path: str | None, export: str, options: "ReadOptions", history: str | None
) -> tuple["LoadedFunnel", "InferredFunnel | None"]:
    """The funnel file's funnel, or the export's own with what inference found: the labels
    no evidence orders (shown, not refused: inspect is where a user finds out why) and
    those the evidence says are no stage."""
    from funnelcli.loading import LoadedFunnel, has_funnel_file, resolve_funnel

    if has_funnel_file(path):
        return resolve_funnel(path), None
    from funnelcli.readers.evidence import funnel_of, gather_evidence, infer_or_refuse

    gathered = gather_evidence(export, options, history)
    inferred = infer_or_refuse(gathered.evidence, export, allow_unordered=True)
    return LoadedFunnel(funnel_of(inferred, export, gathered.currency), []), inferred
