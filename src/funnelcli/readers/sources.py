"""Where an export's bytes come from: a regular file, or a stream copied to one first.

The reader opens an export several times (to detect its encoding, to find its header,
again by byte ranges for a second process or the compiled lane, again to settle the
order of slash dates), so it needs a file it can open and seek. Standard input (``-``), a
named pipe, ``/dev/stdin``, a process substitution (``<(cat deals.csv)``, that is
``/dev/fd/63``) or any other file that is not a regular one can be read once only: it is
copied ("spooled") into a temporary folder first, at most :data:`SPOOL_LIMIT` bytes, and
read from there. The copy is made once per process, whatever reads the export again, and
the folder is removed when the process ends. Messages still name the source as given.

A regular file is read in place; :func:`file_state` and :func:`check_unchanged` notice
one rewritten while it was read (a sync job replacing the export), whose report would mix
two versions of it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
from typing import NamedTuple

from funnelcli.errors import ExportError

STDIN = "-"
"""The export name that means standard input."""

SPOOL_LIMIT = 4 * 1024 * 1024 * 1024
"""The most bytes read from a source that is not a regular file (standard input, a pipe):
more is refused as endless input. 4 GiB is several times the largest export seen."""

_SPOOL_CHUNK = 1024 * 1024
_BINARY_HEAD = 4096

_spooled: dict[str, str] = {}
"""Source name -> the path of its copy, for this process."""
_spool_folder: list[str] = []
"""The temporary folder the copies are in, once made (with the pid that made it)."""
_owner_pid: list[int] = []


def local_path(source: str) -> str:
    """A path the reader can open again and seek for the export named ``source``: the
    path itself for a regular file (or one that does not exist: opening it says why),
    else the path of a copy of its bytes (see the module docstring)."""
    if source in _spooled:
        return _spooled[source]
    if not _is_stream(source):
        return source
    copy = _spool(source)
    _spooled[source] = copy
    return copy


def _is_stream(source: str) -> bool:
    if source == STDIN:
        return True
    try:
        mode = os.stat(source).st_mode
    except (OSError, ValueError):
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _spool(source: str, limit: int | None = None) -> str:
    """Copy the stream's bytes into the temporary folder; refuse endless or binary input."""
    limit = SPOOL_LIMIT if limit is None else limit
    copy = os.path.join(_folder(), f"export-{len(_spooled)}")
    try:
        stream = os.fdopen(os.dup(0), "rb") if source == STDIN else open(source, "rb")  # noqa: SIM115
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ExportError(f"{source}: cannot read the file ({reason}); check the path") from None
    with stream, open(copy, "wb") as out:
        written = 0
        try:
            while chunk := stream.read(_SPOOL_CHUNK):
                if written == 0:
                    _refuse_binary(source, chunk[:_BINARY_HEAD])
                written += len(chunk)
                if written > limit:
                    raise ExportError(
                        f"{source}: more than {limit:,} bytes from a stream, not a file; "
                        "is this endless input? Save the export to a file and give its path"
                    )
                out.write(chunk)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise ExportError(f"{source}: cannot read the input ({reason})") from None
    return copy


def _refuse_binary(source: str, head: bytes) -> None:
    """NUL bytes in half the first 4 KB are no CSV (UTF-16 text has them in every other
    byte at most, which the reader detects): ``/dev/zero``, a disk image."""
    if head.count(0) * 4 > len(head) * 3:
        raise ExportError(
            f"{source}: binary data (mostly NUL bytes), not a CSV or XLSX export; "
            "give the path of the export"
        )


def _folder() -> str:
    if not _spool_folder:
        _spool_folder.append(tempfile.mkdtemp(prefix="funnel-input-"))
        _owner_pid.append(os.getpid())
        atexit.register(remove_copies)
    return _spool_folder[0]


def remove_copies() -> None:
    """Remove the temporary folder of copies; by the process that made it only (a forked
    worker ends with os._exit, but be sure)."""
    if _spool_folder and _owner_pid and _owner_pid[0] == os.getpid():
        shutil.rmtree(_spool_folder.pop(), ignore_errors=True)
        _owner_pid.clear()
        _spooled.clear()


class FileState(NamedTuple):
    """What changes when a file is rewritten: its size, modification time and inode."""

    size: int
    mtime_ns: int
    inode: int


def file_state(source: str) -> FileState | None:
    """The state of a regular file read in place; None for a copied stream or no file."""
    if source in _spooled:
        return None
    try:
        found = os.stat(source)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(found.st_mode):
        return None
    return FileState(found.st_size, found.st_mtime_ns, found.st_ino)


def check_unchanged(source: str, before: FileState | None) -> None:
    """Refuse the read when the file changed (or went) since ``before`` was taken."""
    if before is None:
        return
    after = file_state(source)
    if after != before:
        raise ExportError(
            f"{source}: the file changed while it was read (size, time or inode differ), "
            "so the report would mix two versions of it; run the report again once the "
            "export is written"
        )
