"""Where output goes: format choice, and atomic writes.

Every file the tool writes goes through :func:`atomic_write`: the text is written to a
temporary file beside the target, flushed to disk, then renamed over it. A crash or a
full disk leaves the previous file untouched, never half a report. Devices and pipes
(``-o /dev/null``) are written in place, and a symbolic link stays a link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

from funnelcli.errors import WRITE_FAILED_ERRNOS, OutputError, UsageError, WriteFailed
from funnelcli.render.formats import REPORT_FORMATS

FORMATS = tuple(REPORT_FORMATS)
"""The formats of --format, in the order help and errors list them (plans have the same)."""
_EXTENSIONS = {
    ".json": "json",
    ".csv": "csv",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "table",
    ".xlsx": "xlsx",
    ".html": "html",
    ".htm": "html",
}


def choose_format(requested: str | None, output: str | None) -> str:
    """The format asked for; else the one the output file's extension names; else a table."""
    if requested is not None:
        if requested not in FORMATS:
            raise UsageError(
                f"--format: '{requested}' is not a format; use one of {', '.join(FORMATS)}"
            )
        return requested
    if output is not None:
        if Path(output).is_dir():
            raise OutputError(
                f"--output {output}: is a folder; give a file name like {output.rstrip('/')}/report.json"
            )
        suffix = Path(output).suffix.lower()
        if suffix in _EXTENSIONS:
            return _EXTENSIONS[suffix]
        raise UsageError(
            f"--output {output}: cannot tell the format from '{suffix or 'no extension'}'; "
            f"pass --format ({', '.join(FORMATS)})"
        )
    return "table"


def atomic_write(
    path: str,
    data: str | bytes,
    *,
    protected: tuple[str, ...] = (),
    label: str = "--output",
    before_replace: Callable[[], object] | None = None,
) -> None:
    """Write ``data`` to ``path`` all at once, or not at all.

    ``protected`` are input files the output must never replace; ``label`` names the path
    in messages (the option that gave it; empty for a path given as an argument).
    ``before_replace`` runs once the data is safely in the temporary file and before it
    replaces the target: if it fails (a snapshot that cannot be saved), the target is
    left as it was.

    Only a regular file is replaced. A symbolic link stays a link: the file it points to
    is replaced. A character device or a named pipe (``/dev/null``, ``/dev/stdout``, a
    FIFO) is written in place, as a shell's ``>`` would; renaming a file over it would
    replace the device itself. ``before_replace`` then runs after the write.
    """
    refuse_inputs(path, protected, label)
    where = f"{label} {path}" if label else path  # how messages name the file
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if _is_stream(Path(path), where, path):  # through any link: /dev/stdout is one
        _write_in_place(Path(path), payload, where)
        if before_replace is not None:
            before_replace()
        return
    # A link's target is replaced, so the link stays; other paths stay as given (messages).
    target = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    existed = target.exists()
    temporary = _temporary_copy(target, payload, where, existed)
    try:
        if before_replace is not None:
            before_replace()
        try:
            os.replace(temporary, target)
        except OSError as error:
            raise _write_error(where, error, existed) from None
        temporary = ""
    finally:
        if temporary:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


_IO_ERRORS = WRITE_FAILED_ERRNOS | {errno.EPIPE}
"""Errors of the write itself (exit 74), a pipe closed under it among them."""


def _write_error(where: str, error: OSError, existed: bool) -> OutputError:
    kept = "; the previous file is untouched" if existed else ""
    message = f"{where}: cannot be written ({error.strerror}){kept}"
    return WriteFailed(message) if error.errno in _IO_ERRORS else OutputError(message)


def _is_stream(target: Path, where: str, path: str) -> bool:
    """True for a device or pipe written in place; False for a file (or none yet) to replace."""
    try:
        mode = target.stat().st_mode
    except OSError:  # no such file yet, or a path the temporary file will explain
        return False
    if stat.S_ISDIR(mode):
        raise OutputError(
            f"{where}: is a folder; give a file name like {path.rstrip('/')}/plan.json"
        )
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return True
    if not stat.S_ISREG(mode):
        raise OutputError(f"{where}: is not a file (a block device or a socket); give a file name")
    return False


def _write_in_place(target: Path, payload: bytes, where: str) -> None:
    # No O_CREAT, no O_TRUNC: the device or pipe is written as it is, never made a file.
    try:
        with os.fdopen(os.open(target, os.O_WRONLY), "wb") as stream:
            stream.write(payload)
    except PermissionError:
        raise OutputError(f"{where}: permission denied; choose a file you can write to") from None
    except OSError as error:
        raise _write_error(where, error, existed=False) from None


def _temporary_copy(target: Path, payload: bytes, where: str, existed: bool) -> str:
    """``payload`` in a new file beside ``target``, flushed to disk; its path."""
    directory = target.parent if str(target.parent) else Path(".")
    try:
        return _write_temporary(directory, target, payload)
    except NotADirectoryError:
        part = next(
            (str(parent) for parent in target.parents if parent.is_file()), "a part of the path"
        )
        raise OutputError(f"{where}: {part} is a file, not a folder; check the path") from None
    except FileNotFoundError:
        if directory.is_dir():  # /proc: the folder is there, the system makes no file in it
            raise OutputError(
                f"{where}: the folder {directory} is not writable (the system makes no new "
                "files there); choose a folder you can write to"
            ) from None
        raise OutputError(
            f"{where}: the folder {directory} does not exist; create it first"
        ) from None
    except PermissionError:
        raise OutputError(f"{where}: permission denied; choose a folder you can write to") from None
    except OSError as error:
        raise _write_error(where, error, existed) from None


def _write_temporary(directory: Path, target: Path, payload: bytes) -> str:
    import tempfile  # here, not at the top: every command chooses a format, few write files

    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(handle, _file_mode(target))
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:  # a full disk or Ctrl-C: no temporary left behind
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return temporary


def refuse_inputs(path: str, protected: tuple[str, ...], option: str = "--output") -> None:
    """An output path may never be one of the inputs, by name or by file identity.

    Names alone miss a hard link, ``/dev/stdin`` or ``/proc/self/fd/0``, and an export
    given as ``-`` whose standard input is the very file named as the output; so the
    file the target is (through links, if it exists) is compared with every input's.
    """
    target = Path(path)
    target_identity = _identity(path)
    for input_path in protected:
        same_name = False
        with contextlib.suppress(OSError):
            same_name = target.resolve() == Path(input_path).resolve()
        if same_name or (
            target_identity is not None and target_identity == _input_identity(input_path)
        ):
            raise OutputError(f"{option} {path}: is an input file; write the output somewhere else")


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the regular file ``path`` is, through links; None if no such file."""
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    return (status.st_dev, status.st_ino) if stat.S_ISREG(status.st_mode) else None


def _input_identity(input_path: str) -> tuple[int, int] | None:
    """The file an input is; ``-`` is standard input, when that is a regular file."""
    if input_path != "-":
        return _identity(input_path)
    try:
        status = os.fstat(0)
    except OSError:
        return None
    return (status.st_dev, status.st_ino) if stat.S_ISREG(status.st_mode) else None


def _file_mode(target: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual ones (0666 less umask).

    mkstemp makes files private (0600); a report others read should not become so.
    """
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
