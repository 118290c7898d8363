"""``funnel completion``: the shell script that completes funnel's commands and options."""

# No `from __future__ import annotations`: typer reads the signature (see cli.py).
from typing import Annotated

import typer

from funnelcli.commands.common import complete_from, user_errors
from funnelcli.errors import UsageError

SHELLS = ("bash", "zsh", "fish")


def completion(
    shell: Annotated[
        str,
        typer.Argument(
            help="The shell: bash, zsh or fish.",
            metavar="bash|zsh|fish",
            show_default=False,
            autocompletion=complete_from(SHELLS),
        ),
    ],
) -> None:
    """Print the shell script that completes funnel's commands and options (bash, zsh, fish).

    Load it in your shell's start-up file; the script asks funnel itself for the
    completions, so they follow the installed version:

    bash, in ~/.bashrc: eval "$(funnel completion bash)"

    zsh, in ~/.zshrc (after compinit): eval "$(funnel completion zsh)"

    fish: funnel completion fish > ~/.config/fish/completions/funnel.fish

    Example: funnel completion bash
    """
    with user_errors():
        chosen = shell.strip().lower()
        if chosen not in SHELLS:
            raise UsageError(
                f"completion: '{shell}' is not a shell funnel completes; use bash, zsh or fish"
            )
        from typer._completion_shared import get_completion_script  # lazy: this command only

        # The group answers _FUNNEL_COMPLETE=complete_<shell> (cli.py, _main_shell_completion).
        script = get_completion_script(prog_name="funnel", complete_var=COMPLETE_VAR, shell=chosen)
        typer.echo(script)


COMPLETE_VAR = "_FUNNEL_COMPLETE"
