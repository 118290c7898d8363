"""Where an export's bytes come from: a regular file, or a stream copied to one first.

The reader opens an export several times (to detect its encoding, to find its header,
again by byte ranges for a second process or the compiled lane, again to settle the
order of slash dates), so it needs a file it can open and seek. Standard input (``-``), a
named pipe, ``/dev/stdin``, a process substitution (``<(cat deals.csv)``, that is
``/dev/fd/63``) or any other file that is not a regular one can be read once only: it is
copied ("spooled") into a temporary folder first, at most :data:`SPOOL_LIMIT` bytes, and
read from there. The copy is made once per process, whatever reads the export again, and
the folder is removed when the process ends. Messages still name the source as given.

The folder is named ``funnel-input-<pid>-<random>`` after the process that made it: a run
killed outright (SIGKILL, the OOM killer) cleans nothing up, so the next copy made removes
the folders of this naming, of this user, whose process no longer runs.

Input that is no export is refused from its first chunk, not once 4 GiB are copied:
mostly NUL bytes (``/dev/zero``), or what :func:`~funnelcli.readers.tabular.kind.sniff_kind`
refuses (random bytes, an image, a PDF); an XLSX file (a zip) and UTF-16 text pass.

A regular file is read in place; :func:`file_state` and :func:`check_unchanged` notice
one rewritten while it was read (a sync job replacing the export), whose report would mix
two versions of it.
"""

from __future__ import annotations

import atexit
import errno
import io
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable
from typing import NamedTuple, TypeVar

from funnelcli.errors import ExportError, UsageError
from funnelcli.readers.tabular.kind import sniff_kind

STDIN = "-"
"""The export name that means standard input."""

SPOOL_LIMIT = 4 * 1024 * 1024 * 1024
"""The most bytes read from a source that is not a regular file (standard input, a pipe):
more is refused as endless input. 4 GiB is several times the largest export seen."""

_SPOOL_CHUNK = 1024 * 1024
_BINARY_HEAD = 4096

_FOLDER_PREFIX = "funnel-input-"
_OWNED_FOLDER = re.compile(r"funnel-input-([0-9]{1,10})-[^/]+")
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
"""A full disk, a full quota, or a file size limit (ulimit -f): no room for the copy."""

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
    return source == STDIN or _stream_id(source) is not None


def unreadable(source: str, error: OSError) -> ExportError:
    """The line for an export that cannot be opened or read."""
    reason = error.strerror or type(error).__name__
    return ExportError(f"{source}: cannot read the file ({reason}); check the path")


def _spool(source: str, limit: int | None = None) -> str:
    """Copy the stream's bytes into the temporary folder; refuse endless or binary input."""
    limit = SPOOL_LIMIT if limit is None else limit
    try:
        stream = os.fdopen(os.dup(0), "rb") if source == STDIN else open(source, "rb")  # noqa: SIM115
    except OSError as error:
        raise unreadable(source, error) from None
    with stream:
        copy = _writing(source, lambda: os.path.join(_folder(), f"export-{len(_spooled)}"))
        # Unbuffered: a failed write leaves nothing for close to flush (and fail on again).
        with _writing(source, lambda: open(copy, "wb", buffering=0)) as out:
            written = 0
            while chunk := _reading(source, lambda: stream.read(_SPOOL_CHUNK)):
                if written == 0:
                    _refuse_binary(source, chunk)
                written += len(chunk)
                if written > limit:
                    raise ExportError(
                        f"{source}: more than {limit:,} bytes from a stream, not a file; "
                        "is this endless input? Save the export to a file and give its path"
                    )
                _writing(source, lambda: _write_all(out, chunk))
    return copy


T = TypeVar("T")


def _write_all(out: io.FileIO, data: bytes) -> None:
    """All of ``data``: a write to a file near its size limit may take part of it."""
    remaining = memoryview(data)
    while remaining:
        remaining = remaining[out.write(remaining) or 0 :]


def _reading(source: str, read: Callable[[], T]) -> T:
    try:
        return read()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ExportError(f"{source}: cannot read the input ({reason})") from None


def _writing(source: str, write: Callable[[], T]) -> T:
    """``write()``; its OSError one line that names the folder of the copy and the fix."""
    try:
        return write()
    except OSError as error:
        folder = tempfile.gettempdir()
        what = "standard input" if source == STDIN else "the stream"
        if error.errno in _NO_ROOM:
            raise ExportError(
                f"{source}: no space left in TMPDIR ({folder}) for the copy of {what}; "
                "set TMPDIR to a folder with room"
            ) from None
        reason = error.strerror or type(error).__name__
        raise ExportError(
            f"{source}: cannot write the copy of {what} in TMPDIR ({folder}) ({reason}); "
            "set TMPDIR to a folder this user can write"
        ) from None


def _refuse_binary(source: str, head: bytes) -> None:
    """Refuse a stream that is no export from its first chunk (see the module docstring).

    NUL bytes in three quarters of the first 4 KB are no CSV (UTF-16 text has them in
    every other byte at most, which the reader detects): ``/dev/zero``, a disk image."""
    first = head[:_BINARY_HEAD]
    if first.count(0) * 4 > len(first) * 3:
        raise ExportError(
            f"{source}: binary data (mostly NUL bytes), not a CSV or XLSX export; "
            "give the path of the export"
        )
    sniff_kind(source, head)


def _folder() -> str:
    if not _spool_folder:
        temporary = tempfile.gettempdir()
        _sweep_abandoned(temporary)
        folder = tempfile.mkdtemp(prefix=f"{_FOLDER_PREFIX}{os.getpid()}-", dir=temporary)
        _spool_folder.append(folder)
        _owner_pid.append(os.getpid())
        atexit.register(remove_copies)
    return _spool_folder[0]


def _sweep_abandoned(temporary: str) -> None:
    """Remove the folders of copies left by runs killed before they cleaned up: only those
    named ``funnel-input-<pid>-...``, owned by this user, whose process no longer runs. A
    pid that runs keeps its folder, even one reused by another program: never remove a
    copy that may be being read."""
    try:
        names = os.listdir(temporary)
    except OSError:
        return
    for name in names:
        match = _OWNED_FOLDER.fullmatch(name)
        if match is None or _runs(int(match[1])):
            continue
        path = os.path.join(temporary, name)
        try:
            found = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid():
            shutil.rmtree(path, ignore_errors=True)


def _runs(pid: int) -> bool:
    """Whether a process of this id runs (another user's too); in doubt, it does."""
    if pid <= 0 or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: another user's process
        return True
    return True


def remove_copies() -> None:
    """Remove the temporary folder of copies; by the process that made it only (a forked
    worker ends with os._exit, but be sure)."""
    if _spool_folder and _owner_pid and _owner_pid[0] == os.getpid():
        shutil.rmtree(_spool_folder.pop(), ignore_errors=True)
        _owner_pid.clear()
        _spooled.clear()


def refuse_one_stream_twice(export: str, history: str | None) -> None:
    """Refuse the export and ``--history`` naming one stream: it can be read once, and the
    copy made of it would be read as both."""
    if history is None:
        return
    if export == history == STDIN:
        raise UsageError(
            "standard input given twice (the export and --history); "
            "save one of them to a file and give its path"
        )
    first, second = _stream_id(export), _stream_id(history)
    if first is not None and first == second:
        raise UsageError(
            f"{export} and --history {history} are one stream, given twice; "
            "save one of them to a file and give its path"
        )


def _stream_id(source: str) -> tuple[int, int] | None:
    """The device and inode of a stream (standard input, a pipe); None for a file."""
    try:
        found = os.fstat(0) if source == STDIN else os.stat(source)
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(found.st_mode) or stat.S_ISDIR(found.st_mode):
        return None
    return found.st_dev, found.st_ino


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
