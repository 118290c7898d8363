"""The core names a refused value by its field; the command line words it with its option.

The core's side (``make_plan``, ``credit_pipeline`` raising :class:`InvalidValue` with
field and value) is in test_plan.py and test_history_plan.py. Here: each kind's line with
and without an option, the command line's table (``commands/common.OPTIONS``), and one run
per option family whose stderr line and exit code 2 are written out by hand.
"""

from __future__ import annotations

import ast
import re
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import typer

from funnelcli import errors
from funnelcli.commands.common import OPTIONS, user_errors
from funnelcli.errors import (
    EXIT_USAGE,
    InvalidValue,
    MissingStageDays,
    MissingValue,
    NotComputable,
    memory_ran_out,
)

from .conftest import DATA, ROOT
from .processes import run, run_funnel
from .system.test_layers import FLOORS

ERRORS = DATA / "errors"


def _line(error: InvalidValue, capsys: pytest.CaptureFixture[str]) -> str:
    """What the command line prints for ``error``, and that it exits 2."""
    with pytest.raises(typer.Exit) as exited, user_errors():
        raise error
    assert exited.value.exit_code == EXIT_USAGE
    return capsys.readouterr().err


# --- the kinds, named by field or by option --------------------------------------------------


def test_an_invalid_value_names_its_field_or_the_option() -> None:
    error = InvalidValue("booked", Decimal(-5), "must be 0 or more")
    assert (error.field, error.value, error.reason) == ("booked", Decimal(-5), "must be 0 or more")
    assert str(error) == "booked must be 0 or more, got -5"
    assert error.worded("--booked") == "--booked must be 0 or more, got -5"


def test_a_missing_value_gives_the_detail_before_the_fix() -> None:
    error = MissingValue(
        "deal_value",
        "cannot measure a deal value",
        detail="the export has no won deals",
        example="24k",
        file_key="average_deal_value",
        file_label="f.yaml",
    )
    assert error.value is None
    assert error.worded("--deal-value") == (
        "cannot measure a deal value: the export has no won deals; "
        "pass --deal-value (like --deal-value 24k) or set average_deal_value: in f.yaml"
    )


def test_not_computable_puts_the_option_where_the_fix_names_it() -> None:
    error = NotComputable("confidence", "too many", "plan without {name}")
    assert str(error) == "confidence: too many; plan without confidence"
    assert error.worded("--confidence") == "--confidence: too many; plan without --confidence"


def test_missing_stage_days_names_the_stages() -> None:
    error = MissingStageDays("deadline", "f.yaml", ["Lead", "Demo"])
    assert (
        str(error)
        == "f.yaml: pacing needs days: on every stage but the last; missing on Lead, Demo"
    )


# --- the command line's table ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason", "expected"),
    [
        # The command parses --target and --booked first, so no run reaches these: the
        # table is what words them when the core refuses a value a caller passed.
        ("target", Decimal(0), "must be above 0", "error: --target must be above 0, got 0\n"),
        ("booked", Decimal(-1), "must be 0 or more", "error: --booked must be 0 or more, got -1\n"),
        (
            "deal_value",
            Decimal(0),
            "must be above 0",
            "error: --deal-value must be above 0, got 0\n",
        ),
        ("tomorrow", 3, "must be today", "error: tomorrow must be today, got 3\n"),
    ],
)
def test_user_errors_word_a_field_with_its_option(
    field: str, value: object, reason: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _line(InvalidValue(field, value, reason), capsys) == expected


def test_every_option_in_the_table_is_an_option() -> None:
    for field, option in OPTIONS.items():
        assert "--" not in field
        assert all(name.startswith("--") for name in option.split(" or "))


# --- one run per option family ---------------------------------------------------------------


LOST_WITHOUT_STAGE = (
    "warning: {name}: 1 lost deal does not say at which stage it was lost; "
    "it counts as lost at the first stage\n"
)


def test_a_measured_deal_value_of_zero(tmp_path: Path) -> None:
    export = ERRORS / "won_for_nothing.csv"
    done = run_funnel("plan", "--rates-from", str(export), "--target", "1M", cwd=tmp_path)
    assert done.returncode == 2
    # Both won deals are worth 0: an average of 0 measures no deal value, and the line says
    # so, rather than refusing a --deal-value of 0 the user never typed.
    assert done.stderr == LOST_WITHOUT_STAGE.format(name=export) + (
        "error: cannot measure a deal value: the export's 2 won deals are worth $0 on "
        "average; pass --deal-value (like --deal-value 24k) or set average_deal_value: in "
        "funnel.yaml\n"
    )


def test_a_deal_value_that_cannot_be_measured(tmp_path: Path) -> None:
    export = ERRORS / "no_amounts.csv"
    done = run_funnel("plan", "--rates-from", str(export), "--target", "1M", cwd=tmp_path)
    assert done.returncode == 2
    # No funnel file: the fix names the one funnel would read, ./funnel.yaml.
    assert done.stderr == LOST_WITHOUT_STAGE.format(name=export) + (
        "error: cannot measure a deal value: no won deal in the export has an amount; "
        "pass --deal-value (like --deal-value 24k) or set average_deal_value: in funnel.yaml\n"
    )


def test_a_confidence_that_cannot_be_computed(tmp_path: Path) -> None:
    funnel = ERRORS / "tiny_rates.yaml"
    done = run_funnel("plan", str(funnel), "--target", "1M", "--confidence", "90%", cwd=tmp_path)
    assert done.returncode == 2
    # 1e-200 x 1e-200 = 1e-400, which a float holds as 0.
    assert done.stderr == (
        "error: --confidence: the chance of winning from Lead (0.0e+00) is too small to "
        "compute; check the rates\n"
    )


def test_a_period_without_stage_days(tmp_path: Path) -> None:
    funnel = DATA / "cli" / "no_days.yaml"  # Lead has no days: (Demo has 3)
    done = run_funnel("plan", str(funnel), "--target", "1M", "--period", "2027-Q1", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        f"error: {funnel}: pacing (--by or --period) needs days: on every stage but the last; "
        "missing on Lead\n"
    )


# --- no option in the core's refusals ---------------------------------------------------------

CORE_FLOORS = (1, 2, 3)
CELL_REASONS = {"dates"}
"""Core modules whose raises may still name an option: ``dates.parse_date``'s reasons are
not refusals but why one cell was skipped, recorded as text in the row accounting that
every format prints; they name ``--date-format``, the same option in every command that
reads an export. Wording them at the edge needs the readers to carry the reason as data."""


def _raised_texts(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string written inside a ``raise`` statement."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, text.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise)
        for text in ast.walk(node)
        if isinstance(text, ast.Constant) and isinstance(text.value, str)
    ]


def _core_files() -> list[Path]:
    """The files of the core's modules (floors 1 to 3 of test_layers' table)."""
    package = ROOT / "src" / "funnelcli"
    files: list[Path] = []
    for name in (name for floor in CORE_FLOORS for name in FLOORS[floor]):
        if name.removesuffix(".*") in CELL_REASONS:
            continue
        place = package.joinpath(*name.removesuffix(".*").split("."))
        files += sorted(place.rglob("*.py")) if place.is_dir() else [place.with_suffix(".py")]
    return files


def test_the_core_raises_no_option() -> None:
    files = _core_files()
    assert {"plan.py", "errors.py"} <= {path.name for path in files}  # the table was read
    found = [
        f"{path.name}:{line}: {text!r}"
        for path in files
        for line, text in _raised_texts(path)
        if re.search(r"--[a-z]", text)
    ]
    assert found == []


def test_the_scan_sees_an_option_in_a_raise(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text('def f(x):\n    raise ValueError(f"--target must be above 0, got {x}")\n')
    assert _raised_texts(source) == [(2, "--target must be above 0, got ")]


# --- memory: a MemoryError, or one CPython lost, is the system's limit -----------------------

# CPython's SystemError when a call failed without an exception left: as from a call made
# by C (functools.partial), and from the interpreter's loop.
LOST = [
    "<function read_share at 0x7f2e378f4b80> returned NULL without setting an exception",
    "error return without exception set",
]


@pytest.mark.parametrize("message", LOST)
def test_a_lost_exception_near_the_memory_limit_ran_out_of_memory(
    message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(errors, "near_address_space_limit", lambda: True)
    assert memory_ran_out(SystemError(message))


@pytest.mark.parametrize("message", LOST)
def test_a_lost_exception_with_memory_to_spare_is_a_bug(
    message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(errors, "near_address_space_limit", lambda: False)
    assert not memory_ran_out(SystemError(message))


def test_memory_errors_and_other_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(errors, "near_address_space_limit", lambda: True)
    assert memory_ran_out(MemoryError())
    assert not memory_ran_out(SystemError("bad argument to internal function"))
    assert not memory_ran_out(RuntimeError(LOST[0]))


_PEAK = """
import resource, sys
from funnelcli.errors import near_address_space_limit

with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmPeak:"))
limit = peak + int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
held = []
if sys.argv[2] == "fill":
    try:
        while True:
            held.append(bytearray(1 << 20))
    except MemoryError:
        held.clear()
print(near_address_space_limit())
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
@pytest.mark.parametrize(
    ("room", "fill", "near"),
    [
        (1 << 30, "idle", "False"),  # a limit 1 GiB above the peak, never approached
        (64 << 20, "fill", "True"),  # 1 MiB blocks until one is refused: within 16 MiB
    ],
)
def test_the_peak_near_the_address_space_limit(room: int, fill: str, near: str) -> None:
    done = run([sys.executable, "-c", _PEAK, str(room), fill])
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{near}\n", "")
