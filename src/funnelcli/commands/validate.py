"""``funnel validate``: every problem of a funnel file at once, or its one-line summary."""

# No `from __future__ import annotations`: typer reads the signature (see cli.py).
from typing import TYPE_CHECKING, Annotated

import typer

from funnelcli.commands.common import QuietOption, print_warnings, user_errors
from funnelcli.errors import one_line

if TYPE_CHECKING:  # what a run needs is imported in the functions: --help needs none of it
    from funnelcli.loading import LoadedFunnel


def validate(
    funnel: Annotated[
        str,
        typer.Argument(metavar="FUNNEL", help="The funnel YAML file to check.", show_default=False),
    ],
    quiet: QuietOption = False,
) -> None:
    """Check a funnel file: every problem at once, one line each with its key path.

    Example: funnel validate sample_funnels/b2b_saas.yaml
    """
    with user_errors():
        # lazy, here and below: `funnel validate --help` loads no funnel code (test_startup)
        from funnelcli.loading import load_funnel_file

        loaded = load_funnel_file(funnel)
        print_warnings(loaded, quiet)
        print(one_line(describe_funnel(loaded, funnel)))  # names from the file, one line


def describe_funnel(loaded: "LoadedFunnel", path: str) -> str:
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
