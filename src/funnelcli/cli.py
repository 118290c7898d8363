"""The command line: the ``funnel`` group, its error lines and exit codes; each command is its own module.

Exit codes: 0 success; 1 an alert fired, or a plan is too late for its deadline (the
output is written); 2 a usage or input error, and `funnel` with no command (its help is
printed); 74 the output could not be written; 130 interrupted; 141 stdout closed by its
reader; 143 terminated (see :mod:`funnelcli.entry`). A user error is one line on stderr,
never a traceback.

Start-up is part of the interface (`funnel plan --format json` in a script, `funnel --help`):
only the command that runs is imported and built, see :class:`_LazyGroup`.
"""

# No `from __future__ import annotations` here, nor in the command modules: typer reads the
# signatures at start-up, and string annotations would cost it an eval per parameter.
import copy
import errno
import importlib
import os
import sys
import traceback
from collections.abc import Iterator, MutableMapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer import _click
from typer._click.exceptions import NoArgsIsHelpError
from typer.core import HAS_RICH, MarkupMode, TyperCommand, TyperGroup
from typer.main import get_command_from_info
from typer.models import CommandInfo

from funnelcli import __version__
from funnelcli.errors import (
    EXIT_BUG,
    EXIT_INTERRUPTED,
    EXIT_OS,
    EXIT_USAGE,
    memory_ran_out,
    out_of_memory,
    print_error,
    stdout_failed,
)
from funnelcli.signals import signal_behind

if TYPE_CHECKING:
    from typer._click.shell_completion import CompletionItem

COMMANDS = {
    "plan": "How many deals and leads per stage you need to book a revenue target.",
    "report": "Stage counts, conversion, cycle time, values and the bottleneck of a CRM export.",
    "inspect": "What the reader finds in an export: header, columns, CRM, stage labels and where they map.",
    "trend": "Conversion per stage and win rate across the snapshots a cron job saved.",
    "validate": "Check a funnel file: every problem at once, one line each with its key path.",
    "init": "Write a commented starter funnel file to edit, or one measured from an export.",
    "completion": "Print the shell script that completes funnel's commands and options (bash, zsh, fish).",
}
"""Every command, in help order, with its summary: the first line of its docstring (a test
checks that they agree). Command NAME is the function NAME in ``funnelcli.commands.NAME``;
commands are added here, not with ``@app.command()``."""


def _rich_help(markup_mode: MarkupMode) -> bool:
    """Rich panels for help on a terminal; click's plain text to a pipe, a file or a test.

    typer's Rich help imports rich.console, rich.markdown and markdown-it: about 50 ms,
    as long as importing typer itself. Someone reading help on a terminal gets the
    panels; `funnel --help | less`, `> help.txt` or a script gets the same content as
    plain text (every option, its help and default; every command with its whole summary),
    without box drawing and without the wait.
    """
    return HAS_RICH and markup_mode is not None and sys.stdout.isatty()


class _Command(TyperCommand):
    """A command whose help is plain text when stdout is not a terminal (see _rich_help)."""

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        if _rich_help(self.rich_markup_mode):
            super().format_help(ctx, formatter)
        else:
            _click.Command.format_help(self, ctx, formatter)


def _build_command(name: str, markup_mode: MarkupMode) -> _click.Command:
    """Import ``funnelcli.commands.NAME`` and turn its function into a click command."""
    module = importlib.import_module(f"funnelcli.commands.{name}")
    info = CommandInfo(name=name, cls=_Command, callback=getattr(module, name))
    return get_command_from_info(
        info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=markup_mode
    )


class _LazyCommands(MutableMapping[str, _click.Command]):
    """The group's commands, :data:`COMMANDS`; each is built on first access, never before."""

    def __init__(self, markup_mode: MarkupMode) -> None:
        self._markup_mode = markup_mode
        self._built: dict[str, _click.Command] = {}

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = _build_command(name, self._markup_mode)
        return self._built[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        raise TypeError(f"cannot add '{name}': funnel's commands are cli.COMMANDS")

    def __delitem__(self, name: str) -> None:
        raise TypeError(f"cannot remove '{name}': funnel's commands are cli.COMMANDS")

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class _LazyGroup(TyperGroup):
    """Builds only the command that runs.

    typer turns every registered command into a click command, reading each signature
    and making each option, on every run: for six commands with some sixty options that
    is most of the start-up. Here the group knows the commands by name and summary
    (:data:`COMMANDS`) and imports and builds one only when it is invoked or its help is
    asked for. `funnel --help` lists every command with its summary without building any.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands(self.rich_markup_mode)

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(self.commands)  # the names only: TyperGroup's would build every command

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        """The plain help's command list: each whole summary, wrapped, never cut short."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name]) for name in self.list_commands(ctx)])

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        markup_mode = self.rich_markup_mode
        if markup_mode is None or not _rich_help(markup_mode):
            _click.Command.format_help(self, ctx, formatter)
            return
        from typer import rich_utils  # lazy: rich and markdown-it, for help on a terminal only

        # The panels read each command's help: give them the summaries, not built commands.
        listing = copy.copy(self)
        listing.commands = {
            name: TyperCommand(name, help=COMMANDS[name]) for name in self.list_commands(ctx)
        }
        rich_utils.rich_format_help(obj=listing, ctx=ctx, markup_mode=markup_mode)

    def shell_complete(self, ctx: _click.Context, incomplete: str) -> "list[CompletionItem]":
        """The command names from :data:`COMMANDS`, so completing one builds no command."""
        from typer._click.shell_completion import CompletionItem

        items = [
            CompletionItem(name, help=summary)
            for name, summary in COMMANDS.items()
            if name.startswith(incomplete)
        ]
        return items + _click.Command.shell_complete(self, ctx, incomplete)

    def _main_shell_completion(
        self,
        ctx_args: MutableMapping[str, Any],
        prog_name: str,
        complete_var: str | None = None,
    ) -> None:
        """Answer the shell script of 'funnel completion' (``_FUNNEL_COMPLETE`` set).

        The shells are registered only here, when completing: a normal run pays nothing.
        Both spellings of the request are taken: typer's ``complete_bash`` (the script's)
        and click's ``bash_complete``.
        """
        variable = complete_var or f"_{prog_name}_COMPLETE".replace("-", "_").upper()
        instruction = os.environ.get(variable)
        if not instruction:
            return
        from typer._completion_classes import completion_init
        from typer.completion import shell_complete

        completion_init()
        first, _, second = instruction.partition("_")
        if first in _COMPLETION_SHELLS:  # click's order: bash_source, bash_complete
            instruction = f"{second}_{first}"
        sys.exit(shell_complete(self, ctx_args, prog_name, variable, instruction))


_COMPLETION_SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


class _OneLineErrors(_LazyGroup):
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
                print_error("interrupted")
        except typer.Abort:
            print_error("interrupted")
            code = EXIT_INTERRUPTED
        except typer.exceptions.TyperException as error:
            context = getattr(error, "ctx", None)
            path = context.command_path if context is not None else "funnel"
            message = error.format_message() if hasattr(error, "format_message") else str(error)
            if isinstance(error, NoArgsIsHelpError):
                # `funnel` alone: the help on stdout (Rich panels are printed already, and
                # leave the message empty) and no error line, exit 2 as click does: a
                # script that calls `funnel` with no command still fails.
                if message:
                    sys.stdout.write(message + "\n")
            else:
                sys.stderr.write(f"error: {message.rstrip('.')}; see '{path} --help'\n")
            code = getattr(error, "exit_code", EXIT_USAGE)
        except KeyboardInterrupt:
            print_error("interrupted")
            code = EXIT_INTERRUPTED
        except SystemExit:
            pacified = _click.utils.PacifyFlushWrapper
            if not isinstance(sys.stdout, pacified) or not isinstance(sys.stderr, pacified):
                raise
            # typer ends a write into a closed pipe (help, inspect) with a silent exit 1,
            # the alert code: say what happened, with the code for it.
            sys.stdout, sys.stderr = sys.stdout.wrapped, sys.stderr.wrapped
            code = _stdout_error(BrokenPipeError(errno.EPIPE, "Broken pipe"))
        except Exception as bug:
            signalled = signal_behind(bug)
            if signalled is not None:  # a Ctrl-C or SIGTERM wrapped by Python: see entry
                raise signalled from None
            if memory_ran_out(bug):  # the system's limit, not a bug: no traceback
                code = _out_of_memory(args)
            elif isinstance(bug, OSError) and _from_stdout(bug):
                code = _stdout_error(bug)
            else:
                code = _report_bug(bug)
        try:  # here, not at exit: a closed or full stdout is one line, not a traceback
            sys.stdout.flush()
        except OSError as error:
            code = _stdout_error(error)
        if not standalone_mode:
            return code
        sys.exit(code or 0)


def _out_of_memory(args: Sequence[str] | None) -> int:
    """Report a MemoryError in one line, naming the command that ran; exit 71."""
    given = sys.argv[1:] if args is None else list(args)
    command = next((arg for arg in given if not arg.startswith("-")), None)
    known = command if command in COMMANDS else None
    print_error(out_of_memory(known))
    return EXIT_OS


def _report_bug(bug: Exception) -> int:
    """A real bug: say so in one line first, then the traceback."""
    print_error(
        f"internal error (a bug in funnel {__version__}): {type(bug).__name__}: {bug}; "
        "please report it with the command line; details follow"
    )
    traceback.print_exc()
    return EXIT_BUG


def _from_stdout(error: OSError) -> bool:
    """Whether an OSError that reached the top came from writing to stdout (help, inspect).

    Files are written by atomic_write and snapshots by sqlite, each with its own errors,
    so a closed pipe or a full disk here is stdout's. Any other error counts only if
    stdout still cannot take what it holds.
    """
    if error.errno in (errno.EPIPE, errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", -1)):
        return True
    try:
        sys.stdout.flush()
    except OSError:
        return True
    return False


def _stdout_error(error: OSError) -> int:
    """Report a failed write to stdout in one line; its exit code (74, or 141 when closed)."""
    failed = stdout_failed(error)
    print_error(str(failed))
    return failed.exit_code


app = typer.Typer(
    cls=_OneLineErrors,
    help="Plan a sales funnel backwards from a revenue target, and report on CRM exports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"funnel {__version__}")
        raise typer.Exit()


def _completion_elsewhere(value: bool) -> None:
    """typer's --install-completion and --show-completion: funnel has a command for it."""
    if value:
        print_error(
            "--install-completion, --show-completion: funnel prints its script with "
            "'funnel completion SHELL'; use: eval \"$(funnel completion bash)\" in ~/.bashrc "
            "(zsh, fish: see 'funnel completion --help')"
        )
        raise typer.Exit(EXIT_USAGE)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    install_completion: Annotated[
        bool,
        typer.Option(
            "--install-completion",
            "--show-completion",
            callback=_completion_elsewhere,
            is_eager=True,
            hidden=True,
            help="Replaced by 'funnel completion SHELL'.",
        ),
    ] = False,
) -> None:
    """Plan a sales funnel backwards from a revenue target, and report on CRM exports.

    Start with 'funnel plan --target 1.2M' (the built-in B2B funnel), or write
    your own funnel with 'funnel init' and check it with 'funnel validate'.
    """


def run() -> None:
    """The command line, its exit code by ``sys.exit``; signals are set by :mod:`funnelcli.entry`."""
    app(prog_name="funnel")
