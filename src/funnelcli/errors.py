"""The error types the command line turns into one line on stderr and an exit code.

Every error a user can cause derives from :class:`FunnelError`. Its message is
complete on its own: it names the file, the place (YAML key path, or row and
column), the value, and the fix. The command line (``cli.py``, ``commands/``) prints it as one
line with :func:`print_error` and exits with :attr:`FunnelError.exit_code`.

The core (plan, pacing, history_plan) takes plain values, not options, so it names a bad
value by its own name for it, the *field* (``target``, ``deal_value``, ``booked``,
``confidence``, ``deadline``), never by an option: :class:`InvalidValue` and its kinds.
Each kind writes its line with :meth:`InvalidValue.worded`, given the name to call the
value by; the command line gives the option, from its one table of field -> option
(``commands/common.py``, ``OPTIONS``), so ``InvalidValue("target", 0, "must be above 0")``
reaches stderr as ``error: --target must be above 0, got 0``. ``str()`` of the error, for
a caller with no options, names the field.

Advice that names what the user can type ("pass --deal-value (like --deal-value 24k)",
"pacing (--by or --period)") is the command line's wording: the sentence has a place for
the option and the command line fills it in from its table. So a core function called
from several places (``checked_deal_value``: ``funnel plan`` from a funnel file, from
``--rates-from``, from ``--credit-pipeline``) never names a flag one of its callers
lacks; a command whose option for a field differed would give ``user_errors`` its own
table. Edge modules (readers, snapshots) and the use cases may
name options directly: they are written for the command line.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence

EXIT_OK = 0
EXIT_ALERT = 1
EXIT_USAGE = 2
EXIT_BUG = 70  # EX_SOFTWARE: an internal error, never the user's
EXIT_OS = 71  # EX_OSERR: the system ran out of memory, or ended a worker process of ours
EXIT_WRITE_FAILED = 74  # EX_IOERR: the output could not be written (disk full, I/O error)
WRITE_FAILED_ERRNOS = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EIO", "EFBIG", "EDQUOT") if hasattr(errno, name)
)
"""Errors of a write itself (exit 74: a full disk or quota, an I/O error, a file size
limit): the path was fine, the data did not get there."""
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE: what a shell shows for a program its reader left
EXIT_TERMINATED = 143


def shown(value: object, limit: int = 60) -> str:
    """A value from a user's file, safe to quote in a one-line message.

    Line breaks and other unprintable characters are escaped, and long values are cut,
    so a message stays one readable line whatever the file holds.
    """
    text = one_line(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str) -> str:
    """``text`` with every unprintable character written as Python would escape it.

    A file name or CRM value holding a newline, ``ESC[2J`` or a right-to-left override
    reaches stderr as ``\\n``, ``\\x1b[2J``, ``\\u202e``: a message stays one line, and a
    terminal shows it instead of obeying it.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def print_error(message: str) -> None:
    """One ``error: ...`` line on stderr: the form every user error takes."""
    sys.stderr.write(f"error: {one_line(message)}\n")


def print_warning(message: str, quiet: bool) -> None:
    """One ``warning: ...`` line on stderr, unless --quiet."""
    if not quiet:
        sys.stderr.write(f"warning: {one_line(message)}\n")


class FunnelError(Exception):
    """Something the user gave us that we cannot use."""

    exit_code = EXIT_USAGE


class UsageError(FunnelError):
    """A command-line value is malformed or a required one is missing."""


class InputFileError(FunnelError):
    """A file is missing, unreadable or not of the expected kind."""


class ExportError(FunnelError):
    """An export (CSV/XLSX) cannot be read or has no usable columns."""


class DefinitionError(FunnelError):
    """A funnel definition has one or more problems; each is its own line."""

    def __init__(self, problems: Sequence[str], warnings: Sequence[str] = ()) -> None:
        self.problems = list(problems)
        self.warnings = list(warnings)  # shown too: an unknown key often explains an error
        super().__init__("\n".join(self.problems))


class InvalidValue(FunnelError):
    """A value the core cannot use: ``value``, named ``field`` by the core, and why.

    A FunnelError (exit 2): a caller that does not word it still gets one line naming the
    field. The command line words it with its option (:meth:`worded`, see the module doc).
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field  # the core's name for the value: "target", "deal_value", ...
        self.value = value
        self.reason = reason  # what the value must be, naming no option: "must be above 0"
        super().__init__(self.worded(None))

    def worded(self, option: str | None) -> str:
        """The one line, the value called ``option`` (the command line's name), else its field."""
        return f"{option or self.field} {self.reason}, got {self.value}"


class MissingValue(InvalidValue):
    """A value given nowhere: not by the caller, not in the funnel file, not measurable.

    ``problem`` says what is missing ("no average deal value"), ``detail`` why, when it
    was looked for ("the export has no won deals"); the fix is to give it, like
    ``example``, or to set ``file_key`` in the funnel file ``file_label``.
    """

    def __init__(
        self,
        field: str,
        problem: str,
        *,
        example: str,
        file_key: str,
        file_label: str,
        detail: str | None = None,
    ) -> None:
        self.problem = problem
        self.detail = detail
        self.example = example
        self.file_key = file_key
        self.file_label = file_label
        super().__init__(field, None, problem)

    def worded(self, option: str | None) -> str:
        head = f"{self.problem}: {self.detail};" if self.detail else f"{self.problem}:"
        give = (
            f"pass {option} (like {option} {self.example})"
            if option
            else f"give {self.field} (like {self.example})"
        )
        return f"{head} {give} or set {self.file_key}: in {self.file_label}"


class NotComputable(InvalidValue):
    """A value asked for (``field``) whose figures cannot be computed for these inputs.

    ``fix`` may name the value again as ``{name}``: it is put where the command line's
    option goes ("the plan without --confidence").
    """

    def __init__(self, field: str, reason: str, fix: str) -> None:
        self.fix = fix
        super().__init__(field, None, reason)

    def worded(self, option: str | None) -> str:
        name = option or self.field
        return f"{name}: {self.reason}; {self.fix.replace('{name}', name)}"


class MissingStageDays(InvalidValue):
    """Pacing to a deadline (``field``) needs ``days:`` on these stages of the funnel file."""

    def __init__(self, field: str, file_label: str, stages: Sequence[str]) -> None:
        self.file_label = file_label
        self.stages = tuple(stages)
        super().__init__(field, None, "needs days: on every stage but the last")

    def worded(self, option: str | None) -> str:
        pacing = f"pacing ({option})" if option else "pacing"
        return f"{self.file_label}: {pacing} {self.reason}; missing on {', '.join(self.stages)}"


class OutputError(FunnelError):
    """An output file cannot be written."""


class WriteFailed(OutputError):
    """The output was not written: a full disk, an I/O error, a file over its size limit."""

    exit_code = EXIT_WRITE_FAILED


class PipeClosed(FunnelError):
    """The program reading stdout closed it (`funnel report ... | head`)."""

    exit_code = EXIT_PIPE_CLOSED


stdout_missing = False
"""True when the command was started with stdout closed (``funnel ... >&-``): the entry
point gave it a pipe no one reads, so a write fails as into a closed pipe, and is said so."""


def stdout_failed(error: OSError) -> FunnelError:
    """The error for a write to stdout that failed; stdout goes to the null device from here on.

    Python flushes stdout once more at exit: into a closed pipe or a full disk that would
    print an "Exception ignored" traceback after the one line (Python's docs on SIGPIPE
    advise this redirection).
    """
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):  # no stdout descriptor at all: nothing will be flushed
        pass
    if error.errno == errno.EPIPE and stdout_missing:
        return PipeClosed(
            "stdout is closed (the command was started without it); the output was not written"
        )
    if error.errno == errno.EPIPE:
        return PipeClosed("stdout: closed by the program reading it; the output was cut short")
    return WriteFailed(f"stdout: cannot be written ({error.strerror}); the output is incomplete")


class WorkerLost(FunnelError):
    """A forked process reading part of an export died without a result."""

    exit_code = EXIT_OS


_LOST_EXCEPTION = (
    "returned NULL without setting an exception",
    "error return without exception set",
)
"""CPython's words (the end of a SystemError's message) for a call that failed with no
exception left to raise."""

LOST_MARGIN = 16 * 1024 * 1024
"""Bytes below the address-space limit that the process's peak must have come within for a
lost exception to count as a MemoryError: the allocation that loses one is small (a frame
object, at most a new 1 MiB arena of Python's allocator), so the process was that close."""


def memory_ran_out(error: BaseException) -> bool:
    """Whether ``error`` is the system's memory limit (exit :data:`EXIT_OS`), not a bug.

    A MemoryError is. So is the SystemError CPython raises when a call fails with no
    exception set, in a process that came up against its address-space limit (RLIMIT_AS,
    ``ulimit -v``): CPython 3.11 loses a MemoryError that way when memory runs out again
    while a frame is taken down (frame.c, take_ownership: a frame object for the caller
    that cannot be allocated, and ``PyErr_Clear()``). The same SystemError with memory to
    spare is a bug (a C function returning NULL without an exception), and stays one.
    """
    if isinstance(error, MemoryError):
        return True
    if not isinstance(error, SystemError) or not str(error).endswith(_LOST_EXCEPTION):
        return False
    try:
        return near_address_space_limit()
    except MemoryError:
        return True


def near_address_space_limit(margin: int = LOST_MARGIN) -> bool:
    """Whether this process's peak address space (VmPeak) came within ``margin`` bytes of
    its limit; False without a limit, or where /proc does not say (not Linux)."""
    try:
        import resource  # lazy: not on every platform
    except ImportError:  # pragma: no cover - Windows
        return False
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit == resource.RLIM_INFINITY:
        return False
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            peak = next((line for line in status if line.startswith("VmPeak:")), None)
    except OSError:
        return False
    if peak is None:
        return False
    return int(peak.split()[1]) * 1024 >= limit - margin  # "VmPeak:  123456 kB"


def out_of_memory(command: str | None) -> str:
    """The line for a MemoryError (exit :data:`EXIT_OS`): the system's limit, not a bug.

    ``command`` is the subcommand that ran, if known: a report can be made smaller.
    """
    running = f"'funnel {command}'" if command else "funnel"
    smaller = (
        ", report fewer segments (--max-segments) or a shorter period (--since, --until)"
        if command == "report"
        else ""
    )
    return f"out of memory while running {running}; give the process more memory{smaller}"
