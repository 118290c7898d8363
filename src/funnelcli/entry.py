"""The console script ``funnel`` (and ``python -m funnelcli``): signals first, then the rest.

The command line imports typer, which takes tens of milliseconds; a Ctrl-C or a SIGTERM
in that time must end the run as one later would: one line, exit 130 or 143, never a
traceback. So this module imports nothing but the signal and sys modules, sets
the handlers, and only then imports :mod:`funnelcli.cli`. (A signal that arrives while
Python itself is still starting, before this module runs, gets Python's own handling.)

Only :mod:`signal`, :mod:`sys` and :mod:`funnelcli.signals` (which imports nothing) are
imported here: anything else (even the error lines) is imported inside :func:`main`, after
the handlers are set and within its ``try``.
"""

import signal
import sys

from funnelcli.signals import Terminated, signal_behind  # imports nothing itself

# The codes of errors.py, here too: a signal may arrive before that module is imported.
_EXIT_OS = 71
_EXIT_INTERRUPTED = 130
_EXIT_TERMINATED = 143


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


_pending: type[BaseException] | None = None
"""The signal's exception Python swallowed (see :func:`_redeliver`), until it is raised."""


def _redeliver(unraisable: "sys.UnraisableHookArgs") -> None:
    """A signal whose exception Python could not raise is raised again, not lost.

    The handlers run between any two bytecodes, including inside a callback Python calls
    during an import or a garbage collection (``__del__``), where an exception is only
    printed ("Exception ignored in ...") and the run would go on to exit 0. Raising it
    here would be swallowed the same way (this hook is such a callback too), so a timer
    raises it 5 ms later, where the program is; if that lands in such a callback again,
    it comes back here and is tried again. A run that still ends first stops with the
    signal's line and code (:func:`main`, :func:`_stop_for`).
    """
    global _pending
    if isinstance(unraisable.exc_value, KeyboardInterrupt | Terminated):
        _pending = type(unraisable.exc_value)
        signal.signal(signal.SIGALRM, _raise_pending)
        signal.setitimer(signal.ITIMER_REAL, 0.005)
    else:
        sys.__unraisablehook__(unraisable)


def _raise_pending(signum: int, frame: object) -> None:
    if _pending is not None:
        raise _pending


def _stop_for(signalled: type[BaseException] | None) -> None:
    """Stop with the line and code of the signal behind ``signalled``; None: return."""
    if signalled is KeyboardInterrupt:
        _stop("interrupted", _EXIT_INTERRUPTED)
    if signalled is Terminated:
        _stop("terminated", _EXIT_TERMINATED)


def main() -> None:
    """Run ``funnel``: handlers set before anything slow, and the whole run inside them."""
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
        sys.unraisablehook = _redeliver
        if sys.stdout is None or sys.stderr is None:
            _stand_in_for_closed_streams()
        from funnelcli.cli import run  # lazy, as every import here: signals first (module doc)

        run()
        _stop_for(_pending)
    except (KeyboardInterrupt, Terminated) as signalled:
        _stop_for(type(signalled))
    except SystemExit as done:
        _stop_for(_pending)
        if done.code == _EXIT_INTERRUPTED:  # a Ctrl-C the command line reported
            _leave(_EXIT_INTERRUPTED)
        raise
    except MemoryError:  # while the command line is imported: the system's limit, no bug
        _out_of_memory()
    except Exception as error:
        behind = signal_behind(error)
        _stop_for(None if behind is None else type(behind))
        from funnelcli.errors import memory_ran_out

        if memory_ran_out(error):  # a MemoryError CPython lost (see memory_ran_out)
            _out_of_memory()
        raise


def _out_of_memory() -> None:
    from funnelcli.errors import out_of_memory, print_error

    print_error(out_of_memory(None))
    _leave(_EXIT_OS)


def _stand_in_for_closed_streams() -> None:
    """Started with stdout or stderr closed (`funnel ... >&-`): Python leaves them None.

    stdout becomes a pipe no one reads, so output to it fails as into a closed pipe (one
    line, exit 141) while --output still works; stderr becomes the null device.
    """
    import os

    if sys.stdout is None:
        from funnelcli import errors

        errors.stdout_missing = True  # its failed writes say so, not "closed by the reader"
        reading, writing = os.pipe()
        os.close(reading)
        if writing != 1:
            os.dup2(writing, 1)
            os.close(writing)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    if sys.stderr is None:
        null = os.open(os.devnull, os.O_WRONLY)
        if null != 2:
            os.dup2(null, 2)
            os.close(null)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115


def _stop(line: str, code: int) -> None:
    # A second signal while this one is reported would print a traceback: ignore it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from funnelcli.errors import print_error

    print_error(line)
    _leave(code)


def _leave(code: int) -> None:
    """Exit now with ``code``, the output flushed; the run has unwound (no temporary left).

    Not by sys.exit: a Ctrl-C that Python saw inside eval() (namedtuple and typing call
    it while modules load) makes Python 3.11 end by killing itself with SIGINT at exit,
    whatever code was asked for.
    """
    import contextlib
    import os

    # os._exit runs no atexit handler: the copy of standard input goes here instead.
    sources = sys.modules.get("funnelcli.readers.sources")
    if sources is not None:
        sources.remove_copies()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or full stdout: reported
            stream.flush()
    os._exit(code)
