"""Real processes for the tests: each has a timeout, and none outlives its test.

Every process starts in a session of its own, so that killing its group also ends what it
started (the report's reader workers); the group is killed in ``finally``, whether the test
passed, failed or timed out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from .conftest import ROOT

T = TypeVar("T")

TIMEOUT = 60.0  # seconds: generous on a loaded machine; a test that needs it has hung

FUNNEL = [sys.executable, "-m", "funnelcli"]


@contextlib.contextmanager
def started(command: Sequence[str], **options: Any) -> Iterator[subprocess.Popen[Any]]:
    """``subprocess.Popen`` in a session of its own; its whole group is killed on the way out."""
    process = subprocess.Popen(list(command), start_new_session=True, **options)
    try:
        yield process
    finally:
        kill_group(process)


def kill_group(process: subprocess.Popen[Any]) -> None:
    """Kill ``process`` and everything in its group, then reap it (idempotent)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(process.pid, signal.SIGKILL)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    process.wait()


def run(
    command: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    input: str | bytes | None = None,
    timeout: float = TIMEOUT,
    preexec_fn: Callable[[], object] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to its end with its output captured as text (UTF-8, undecodable bytes
    replaced); ``input`` as text or bytes. Raises TimeoutExpired on a hang."""
    with started(
        command,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=None if env is None else dict(env),
        preexec_fn=preexec_fn,
    ) as process:
        data = input.encode() if isinstance(input, str) else input
        stdout, stderr = process.communicate(data, timeout=timeout)
        return subprocess.CompletedProcess(
            process.args,
            process.returncode,
            stdout.decode("utf-8", "replace"),
            stderr.decode("utf-8", "replace"),
        )


def run_funnel(
    *args: str,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """``python -m funnelcli ARGS`` as a real process (see :func:`run`)."""
    return run([*FUNNEL, *args], cwd=cwd, env=env, input=input, timeout=timeout)


@contextlib.contextmanager
def started_funnel(
    args: list[str], *, python: tuple[str, ...] = (), **popen: Any
) -> Iterator[subprocess.Popen[bytes]]:
    """``funnel ARGS`` in its own session; its whole process group killed afterwards.

    ``python`` are options for the interpreter (``-X importtime``), or ``-c`` and a script
    that runs funnel's entry point its own way.
    """
    runs = list(python) if python[:1] == ("-c",) else [*python, "-m", "funnelcli"]
    with started([sys.executable, *runs, *args], cwd=ROOT, **popen) as process:
        yield process


def wait_until_open(pid: int, path: Path, timeout: float = 60) -> None:
    """Until process ``pid`` has ``path`` open (seen in /proc), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
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
        with contextlib.suppress(OSError):
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
