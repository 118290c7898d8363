"""Where output goes: format choice, and atomic writes.

Every file the tool writes goes through :func:`atomic_write`: the text is written to a
temporary file beside the target, flushed to disk, then renamed over it. A crash or a
full disk leaves the previous file untouched, never half a report.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from funnelcli.errors import OutputError, UsageError

FORMATS = ("table", "json", "csv", "markdown", "xlsx", "html")
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
    path: str, data: str | bytes, *, protected: tuple[str, ...] = (), label: str = "--output"
) -> None:
    """Write ``data`` to ``path`` all at once, or not at all.

    ``protected`` are input files the output must never replace; ``label`` names the path
    in messages (the option that gave it; empty for a path given as an argument).
    """
    target = Path(path)
    refuse_inputs(path, protected, label)
    where = f"{label} {path}" if label else path  # how messages name the file
    if target.is_dir():
        raise OutputError(
            f"{where}: is a folder; give a file name like {path.rstrip('/')}/plan.json"
        )
    directory = target.parent if str(target.parent) else Path(".")
    existed = target.exists()
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary: str | None = None
    import tempfile  # here, not at the top: every command chooses a format, few write files

    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=directory
        )
        os.fchmod(handle, _file_mode(target))
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
        temporary = None
    except NotADirectoryError:
        part = next(
            (str(parent) for parent in target.parents if parent.is_file()), "a part of the path"
        )
        raise OutputError(f"{where}: {part} is a file, not a folder; check the path") from None
    except FileNotFoundError:
        raise OutputError(
            f"{where}: the folder {directory} does not exist; create it first"
        ) from None
    except PermissionError:
        raise OutputError(f"{where}: permission denied; choose a folder you can write to") from None
    except OSError as error:
        kept = "; the previous file is untouched" if existed else ""
        raise OutputError(f"{where}: cannot be written ({error.strerror}){kept}") from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def refuse_inputs(path: str, protected: tuple[str, ...], option: str = "--output") -> None:
    """An output path may never be one of the inputs."""
    target = Path(path)
    for input_path in protected:
        with contextlib.suppress(OSError):
            if target.resolve() == Path(input_path).resolve():
                raise OutputError(
                    f"{option} {path}: is an input file; write the output somewhere else"
                )


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
