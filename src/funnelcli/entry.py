"""The console script ``funnel`` (and ``python -m funnelcli``): signals first, then the rest.

The command line imports typer, which takes tens of milliseconds; a Ctrl-C or a SIGTERM
in that time must end the run as one later would: one line, exit 130 or 143, never a
traceback. So this module imports nothing but the signal module and the error lines, sets
the handlers, and only then imports :mod:`funnelcli.cli`. (A signal that arrives while
Python itself is still starting, before this module runs, gets Python's own handling.)
"""

import signal
import sys

from funnelcli.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, print_error


class Terminated(BaseException):
    """SIGTERM, raised where the program is so that writes unwind (no half files)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def main() -> None:
    """Run ``funnel``: handlers set before anything slow, and the whole run inside them."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        from funnelcli.cli import run

        run()
    except KeyboardInterrupt:
        _stop("interrupted", EXIT_INTERRUPTED)
    except Terminated:
        _stop("terminated", EXIT_TERMINATED)


def _stop(line: str, code: int) -> None:
    # A second signal while this one is reported would print a traceback: ignore it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print_error(line)
    sys.exit(code)
