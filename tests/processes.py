"""Processes in tests: each in its own session, its whole group killed afterwards, and
what /proc says about it (Linux)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import pytest

from .conftest import ROOT

T = TypeVar("T")


@contextmanager
def started(
    args: list[str], *, python: tuple[str, ...] = (), **popen: Any
) -> Iterator[subprocess.Popen[bytes]]:
    """``funnel ARGS`` in its own session; its whole process group killed afterwards.

    ``python`` are options for the interpreter (``-X importtime``), or ``-c`` and a script
    that runs funnel's entry point its own way.
    """
    runs = list(python) if python[:1] == ("-c",) else [*python, "-m", "funnelcli"]
    process = subprocess.Popen(
        [sys.executable, *runs, *args],
        cwd=ROOT,
        start_new_session=True,
        **popen,
    )
    try:
        yield process
    finally:
        end_group(process)


def end_group(process: subprocess.Popen[bytes]) -> None:
    """Kill what is left of the process group of ``process``, then reap it."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def wait_until_open(pid: int, path: Path, timeout: float = 60) -> None:
    """Until process ``pid`` has ``path`` open (seen in /proc), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(OSError):
            if any(
                os.readlink(f"/proc/{pid}/fd/{fd}") == str(path)
                for fd in os.listdir(f"/proc/{pid}/fd")
            ):
                return
        time.sleep(0.01)
    pytest.fail(f"process {pid} never opened {path}")


def group_members(group: int) -> list[tuple[int, str]]:
    """(pid, state) of the live processes in process group ``group``, from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with suppress(OSError):
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            state, process_group = fields[0], int(fields[2])
            if process_group == group and state != "Z":  # a zombie has ended
                members.append((int(entry), state))
    return members


def poll(condition: Callable[[], T], what: str, timeout: float = 60) -> T:
    """``condition()`` until it is truthy; its value. Fails after a generous ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")
