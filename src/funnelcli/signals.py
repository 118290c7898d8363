"""What a signal becomes inside the program: one exception per signal, found again when
Python wraps it. Imports nothing, so the console script (``entry.py``) can use it before
its handlers are set."""


class Terminated(BaseException):
    """SIGTERM, raised where the program is so that writes unwind (no half files)."""


def signal_behind(error: BaseException) -> BaseException | None:
    """The KeyboardInterrupt or Terminated that ``error`` wraps, if any.

    Python wraps what a class's ``__set_name__`` raises in a RuntimeError, so a Ctrl-C
    while a module defines its classes can arrive as one.
    """
    seen: BaseException | None = error
    for _ in range(20):  # a chain, never a loop
        if seen is None:
            return None
        if isinstance(seen, KeyboardInterrupt | Terminated):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
