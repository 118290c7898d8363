"""The compiled lane (readers/lane.py driving src/funnelcli/_lane.c) gives the Python report.

The contract: for any CSV export, every output of ``funnel report`` is byte for byte the
same with the lane on (the default) and off (``FUNNEL_COMPILED=0``), with one process or
several (``FUNNEL_WORKERS``), errors and exit codes included. The lane reads the rows it is
sure of and hands the others to Python whole ("handover"); at bytes it cannot split as
the csv module does it stops, and Python's csv reader reads on from there ("give-up").

Here every export under tests/data and examples, generated exports full of cells that
almost take the lane's shapes, and the byte-level files of tests/data/lane (see
make_files.py there for what each holds and on which line) are reported both ways, and
compared as JSON, CSV and Markdown renderings and as the whole ``ExportReport`` (whose
repr shows a Decimal's exponent and a Counter's order, which the renderings may not).
Where a figure is checked on its own, it is worked out by hand or with the csv module.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from funnelcli.cli import app
from funnelcli.definition import Funnel, default_funnel
from funnelcli.errors import FunnelError
from funnelcli.loading import load_funnel_file
from funnelcli.readers import export, lane, parallel
from funnelcli.readers.export import ReadOptions, report_export
from funnelcli.readers.tabular import byte_ranges, header
from funnelcli.readers.tabular.byte_ranges import CsvRange
from funnelcli.readers.tabular.csv_rows import csv_data_row
from funnelcli.readers.tabular.read import read_table
from funnelcli.readers.tabular.table import ReadStats, Table
from funnelcli.render.csv_md_report import report_csv, report_markdown
from funnelcli.render.json_report import report_json
from funnelcli.report import ReportBuilder, StaleDeal
from funnelcli.results import ExportReport, SliceRequest

from ..conftest import DATA, ROOT, require_compiled_lane
from ..processes import run_funnel

AS_OF = dt.date(2025, 11, 30)
LANE = DATA / "lane"
LANE_FUNNEL = load_funnel_file(str(LANE / "funnel.yaml")).funnel
UNKNOWN = "Discovery Call"
LANE_CHUNK = 1 << 20
"""The lane's first read of a file: CHUNK bytes from where the rows start (_lane.c)."""

EVERY_EXPORT = sorted(
    path
    for root in (DATA, ROOT / "examples")
    for pattern in ("*.csv", "*.tsv", "*.txt")
    for path in root.rglob(pattern)
    if path.read_bytes()[:2] not in (b"PK", b"\xd0\xcf")  # not an XLSX file renamed
)
FUNNELS_BESIDE = {
    DATA / "parallel": [DATA / "exports" / "hubspot_funnel.yaml"],
    ROOT / "examples": [ROOT / "sample_funnels" / "maven_crm.yaml"],
}
"""Where the funnel an export goes with is not in its own folder."""


needs_lane = pytest.mark.usefixtures("compiled_lane")
"""For a test that checks the lane is taken; a read with the lane on requires it too (_run)."""


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _funnels_for(path: Path) -> list[tuple[str, Funnel]]:
    """The default funnel, then each funnel file beside the export that loads."""
    funnels = [("default", default_funnel())]
    for funnel_path in FUNNELS_BESIDE.get(path.parent) or sorted(path.parent.glob("*.yaml")):
        try:
            funnels.append((funnel_path.name, load_funnel_file(str(funnel_path)).funnel))
        except FunnelError:  # tests/data/bad holds broken funnels on purpose
            continue
    return funnels


# --- reporting a file with the lane on or off -------------------------------------------


@dataclass(frozen=True)
class Way:
    """How a report is read: the lane on or off, and how many processes."""

    compiled: bool
    workers: int | None = 1  # None: FUNNEL_WORKERS unset, as a user runs it

    def __str__(self) -> str:
        return f"{'lane' if self.compiled else 'pure'}, {self.workers} process(es)"


PURE = Way(compiled=False)
LANE_ON = Way(compiled=True)


def _run(
    path: Path,
    funnel: Funnel,
    way: Way,
    monkeypatch: pytest.MonkeyPatch,
    *,
    request: SliceRequest | None = None,
    encoding: str | None = None,
    stale_days: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ExportReport | str:
    """The report read ``way``, or the message of the error the read ends with."""
    if way.compiled:
        require_compiled_lane()  # else "lane on" is Python again, and the comparison is empty
        monkeypatch.delenv("FUNNEL_COMPILED", raising=False)  # on: the default
    else:
        monkeypatch.setenv("FUNNEL_COMPILED", "0")
    if way.workers is None:
        monkeypatch.delenv("FUNNEL_WORKERS", raising=False)
    else:
        monkeypatch.setenv("FUNNEL_WORKERS", str(way.workers))
    try:
        return report_export(
            str(path),
            funnel,
            as_of=AS_OF,
            options=ReadOptions(encoding=encoding),
            stale_days=stale_days,
            request=request or SliceRequest(),
            progress=progress,
        )
    except FunnelError as error:
        return f"{type(error).__name__}: {error}"


def _rendered(result: ExportReport | str) -> tuple[str, ...]:
    """Everything a report is shown as; an error is its message."""
    if isinstance(result, str):
        return (result,)
    return (
        report_json(result, "funnel.yaml", "export.csv"),
        report_csv(result, "funnel.yaml", "export.csv"),
        report_markdown(result, "funnel.yaml", "export.csv"),
        repr(result),
    )


def _outcome(
    path: Path, funnel: Funnel, way: Way, monkeypatch: pytest.MonkeyPatch, **options: Any
) -> tuple[str, ...]:
    return _rendered(_run(path, funnel, way, monkeypatch, **options))


def _report(result: ExportReport | str) -> ExportReport:
    assert not isinstance(result, str), result
    return result


@pytest.fixture
def short_sample(monkeypatch: pytest.MonkeyPatch) -> list[list[CsvRange]]:
    """Small files split between processes too: the header looked for in 5 rows, the date
    sample 10 rows (both ways alike). Returns the shares each read made."""
    monkeypatch.setattr(header, "HEADER_LOOKAHEAD", 5)
    monkeypatch.setattr(export, "DATE_SAMPLE_ROWS", 10)
    made: list[list[CsvRange]] = []
    split = export.split_rows

    def recording(table: Table, parts: int) -> list[CsvRange]:
        made.append(split(table, parts))
        return made[-1]

    monkeypatch.setattr(export, "split_rows", recording)
    return made


@dataclass
class LaneSpy:
    """How often the lane was taken, rows handed back to Python, and give-ups."""

    reads: int = 0
    handovers: int = 0
    give_ups: int = 0


@pytest.fixture
def lane_spy(monkeypatch: pytest.MonkeyPatch) -> LaneSpy:
    spy = LaneSpy()
    read_share, data_row, read_range = export.read_share, lane.csv_data_row, lane.read_csv_range

    def reading(*args: Any, **kwargs: Any) -> bool:
        spy.reads += 1
        return read_share(*args, **kwargs)

    def handed(*args: Any, **kwargs: Any) -> Any:
        spy.handovers += 1
        return data_row(*args, **kwargs)

    def given_up(share: CsvRange) -> Table:
        spy.give_ups += 1
        return read_range(share)

    monkeypatch.setattr(export, "read_share", reading)
    monkeypatch.setattr(lane, "csv_data_row", handed)
    monkeypatch.setattr(lane, "read_csv_range", given_up)
    return spy


# --- 1. every test export, both ways ----------------------------------------------------


@pytest.mark.parametrize("path", EVERY_EXPORT, ids=_name)
def test_every_export_reports_the_same_with_the_lane_on_and_off(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for funnel_name, funnel in _funnels_for(path):
        for request in (SliceRequest(), SliceRequest(by="owner")):
            pure = _outcome(path, funnel, PURE, monkeypatch, request=request)
            compiled = _outcome(path, funnel, LANE_ON, monkeypatch, request=request)
            assert compiled == pure, (funnel_name, request.by)


def test_every_export_reports_the_same_in_shares_with_the_lane_on_and_off(
    monkeypatch: pytest.MonkeyPatch, short_sample: list[list[CsvRange]]
) -> None:
    """FUNNEL_WORKERS=1, 2 and 3, the lane on and off: each file with the funnel beside it
    (else the default one). Mismatches are collected, so that one run names them all."""
    ways = (LANE_ON, Way(False, 2), Way(True, 2), Way(True, 3))
    mismatches: list[tuple[str, str, str | None]] = []
    for path in EVERY_EXPORT:
        funnel = _funnels_for(path)[-1][1]
        for request in (SliceRequest(), SliceRequest(by="owner")):
            pure = _outcome(path, funnel, PURE, monkeypatch, request=request)
            for way in ways:
                if _outcome(path, funnel, way, monkeypatch, request=request) != pure:
                    mismatches.append((_name(path), str(way), request.by))
    assert mismatches == []
    assert sum(bool(shares) for shares in short_sample) > 60  # most files really split


@needs_lane
def test_the_lane_reads_most_test_exports(
    monkeypatch: pytest.MonkeyPatch, lane_spy: LaneSpy
) -> None:
    """The comparisons above compare something: the lane is taken for the UTF-8 exports
    (others are cp1252, UTF-16, XLSX, or refused before any row is read)."""
    for path in EVERY_EXPORT:
        _run(path, default_funnel(), LANE_ON, monkeypatch)
    assert lane_spy.reads > len(EVERY_EXPORT) // 2


@needs_lane
def test_the_lane_counts_common_rows_itself(
    monkeypatch: pytest.MonkeyPatch, lane_spy: LaneSpy
) -> None:
    """stale_many.csv: 1,600 deals of 6 stage labels. Python reads the rows it read ahead
    to find the header (the 49 after it: the lookahead is 50 rows) as it always does,
    and the lane hands back a row whose stage decision it has not learned yet: each
    label's first row after those. It counts the other 1,545 or more itself."""
    result = _report(_run(LANE / "stale_many.csv", LANE_FUNNEL, LANE_ON, monkeypatch))
    assert lane_spy.reads == 1
    assert lane_spy.give_ups == 0
    assert lane_spy.handovers <= (header.HEADER_LOOKAHEAD - 1) + 6
    assert (result.account.read, result.account.used) == (1600, 1600)


# --- 2. generated exports: cells on both sides of every shape the lane reads ------------


@dataclass(frozen=True)
class Raw:
    """A cell written into the file as it is, unquoted: csv reads it its own way."""

    text: str


Cell = str | Raw

STAGES = ("Lead", "MQL", "SQL", "Proposal", "Won", "Lost")
POOLS: dict[str, tuple[tuple[Cell, ...], tuple[Cell, ...]]] = {
    # kind: (common cells, near misses)
    "id": (
        ("D-1", "D-2", "D-3", "D-4"),
        (
            "",
            " D-5 ",
            "To do",
            "Total",
            "Grand total",
            "\u00a9 1",
            "\u00a0D-6",
            "\u3000D-7",
            "\u2003Total",
            "Copyright",
            Raw('"D-"8'),
        ),
    ),
    "name": (
        ("Deal", "Acme"),
        (
            "",
            "Jos\u00e9",
            'a "quoted" name',
            "x,y",
            "l1\nl2",
            "l1\r\nl2",
            "l1\rl2",
            Raw('24" screen'),
            Raw('"ab"c'),
            Raw('"x""y"z'),
        ),
    ),
    "stage": (
        STAGES,
        ("", "Mystery", " Lead ", "lead", "Closed Won", "Closed Lost", "New", "Lead\u00a0"),
    ),
    "status": (("", "", "Open"), ("Won", "Lost", "open", "deleted", "weird", " won ")),
    "amount": (
        ("1000", "1,234.50", "250", "12.5", "0", ""),
        (
            "1,234.5",
            "1,23",
            "01,234",
            "1234.56789",
            "1234.5678",
            "1000000000000000",
            "1000000000000000.01",
            "999,999,999,999,999.9999",
            "900719925474.0993",
            " 12",
            "12 ",
            "$12",
            "00",
            "1.",
            "-5",
            "1e3",
            "1.234,50",
            "1 234,50",
            "\u0661\u0662",
        ),
    ),
    "currency": (
        ("", "usd", "USD"),
        (" EUR ", "eur", "GBP", "\u20ac", "JPY", "\u00a0EUR", "x" * 40),
    ),
    "date": (
        ("2024-03-05", "2024-03-05 14:03", "2024-04-01 09:30:15", "2024-05-20T08:00", ""),
        (
            "2024-02-29",
            "2023-02-29",
            "2024-13-01",
            "1899-12-31",
            "1900-01-01",
            "2199-12-31",
            "2200-01-01",
            "2024-01-01 24:00",
            "2024-01-01T23:59:59",
            "2024-01-01 23:59:5",
            "2024-03-05Z",
            " 2024-03-05",
            "2026-01-01",
        ),
    ),
    "owner": (("Ann", "Bo"), ("Jos\u00e9", "\u00a0Ann", "Bob\u3000", "", " Ann ")),
    "pipeline": (("Sales",), ("sales", " Sales", "", "Partners")),
    "flag": (("false", "true"), ("", "x", "s\u00ed", "1", "0", "maybe")),
}
HEADERS: dict[str, tuple[tuple[str, str], ...]] = {
    "hubspot": (
        ("Record ID", "id"),
        ("Deal Name", "name"),
        ("Deal Stage", "stage"),
        ("Amount", "amount"),
        ("Currency", "currency"),
        ("Create Date", "date"),
        ("Close Date", "date"),
        ("Deal owner", "owner"),
        ("Pipeline", "pipeline"),
        ('Date entered "Lead"', "date"),
        ('Date entered "MQL"', "date"),
        ('Date entered "SQL"', "date"),
        ('Date entered "Proposal"', "date"),
    ),
    "pipedrive": (
        ("Deal - ID", "id"),
        ("Deal - Title", "name"),
        ("Deal - Stage", "stage"),
        ("Deal - Status", "status"),
        ("Deal - Value", "amount"),
        ("Deal - Currency", "currency"),
        ("Deal - Deal created", "date"),
        ("Deal - Won time", "date"),
        ("Deal - Owner", "owner"),
        ("Deal - Pipeline", "pipeline"),
    ),
    "salesforce": (
        ("Opportunity ID", "id"),
        ("Opportunity Name", "name"),
        ("Stage", "stage"),
        ("Amount", "amount"),
        ("Currency", "currency"),
        ("Created Date", "date"),
        ("Close Date", "date"),
        ("Opportunity Owner", "owner"),
        ("Won", "flag"),
        ("Closed", "flag"),
    ),
}
FOOTERS = ("Total", "Grand total", "\u00a9 2025 Acme", "\u00a0Total", "\u2003Total", "To be done")


def _pool(kind: str) -> st.SearchStrategy[Cell]:
    """A common cell about 20 times in 21, a near miss otherwise (most rows stay the
    lane's, and the near misses meet warm caches); shrinks to a common cell."""
    common, near = POOLS[kind]
    repeat = math.ceil(20 * len(near) / len(common))
    return st.sampled_from(common * repeat + near)


def _encoded(cell: Cell, delimiter: str, quoted: bool) -> str:
    if isinstance(cell, Raw):
        return cell.text
    if quoted or any(char in cell for char in (delimiter, '"', "\r", "\n")):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@st.composite
def _exports(draw: st.DrawFn, min_rows: int = 1, max_rows: int = 60) -> bytes:
    """An export: a header, deals (some blank, footer, short or long rows), any line ends."""
    columns = HEADERS[draw(st.sampled_from(sorted(HEADERS)))]
    width = len(columns)
    delimiter = draw(st.sampled_from(",,,;\t|"))
    ends = draw(st.sampled_from(("\n", "\r\n", "\r", "mixed")))
    cells = st.tuples(*(_pool(kind) for _, kind in columns))
    lines = [delimiter.join(_encoded(name, delimiter, False) for name, _ in columns)]
    for _ in range(draw(st.integers(min_rows, max_rows))):
        shape = draw(st.integers(0, 29))
        row: list[Cell] = list(draw(cells))
        if shape == 0:
            row = []  # a blank line
        elif shape == 1:
            row = [draw(st.sampled_from(FOOTERS)), "", "", "12345"] + [""] * (width - 4)
        elif shape == 2:
            row = row[: draw(st.integers(1, width - 1))]  # short
        elif shape == 3:
            row = [*row, draw(st.sampled_from(("", "extra")))]  # long
        quoting = draw(st.lists(st.booleans(), min_size=len(row), max_size=len(row)))
        lines.append(
            delimiter.join(
                _encoded(cell, delimiter, quoted) for cell, quoted in zip(row, quoting, strict=True)
            )
        )
    if ends == "mixed":
        newlines = draw(
            st.lists(
                st.sampled_from(("\n", "\r\n", "\r")), min_size=len(lines), max_size=len(lines)
            )
        )
    else:
        newlines = [ends] * len(lines)
    text = "".join(line + newline for line, newline in zip(lines, newlines, strict=True))
    if draw(st.booleans()):
        text = text.rstrip("\r\n")  # no final line break
    return text.encode("utf-8")


REQUESTS = (SliceRequest(), SliceRequest(by="owner"), SliceRequest(by="stage"))


@settings(
    max_examples=250,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=_exports(),
    fx=st.booleans(),
    request=st.sampled_from(REQUESTS),
    stale_days=st.sampled_from((None, 0)),
)
def test_generated_exports_report_the_same_with_the_lane_on_and_off(
    data: bytes,
    fx: bool,
    request: SliceRequest,
    stale_days: int | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "deals.csv"
    path.write_bytes(data)
    funnel = LANE_FUNNEL if fx else default_funnel()
    options = {"request": request, "stale_days": stale_days}
    pure = _outcome(path, funnel, PURE, monkeypatch, **options)
    assert _outcome(path, funnel, LANE_ON, monkeypatch, **options) == pure


@settings(
    max_examples=80,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=_exports(min_rows=12, max_rows=40), workers=st.sampled_from((2, 3)))
def test_generated_exports_report_the_same_in_shares_with_the_lane_on_and_off(
    data: bytes,
    workers: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    short_sample: list[list[CsvRange]],
) -> None:
    path = tmp_path / "deals.csv"
    path.write_bytes(data)
    pure = _outcome(path, LANE_FUNNEL, PURE, monkeypatch, request=SliceRequest(by="owner"))
    shared = _outcome(
        path, LANE_FUNNEL, Way(True, workers), monkeypatch, request=SliceRequest(by="owner")
    )
    assert shared == pure


def test_merging_the_lanes_counts_every_few_rows_gives_the_same_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lane pauses (for the progress display) and merges its counts into the report
    every few thousand rows; here after every row, so that each small file crosses many
    merges, with rows handed back to Python between them."""
    monkeypatch.setattr(export, "PROGRESS_EVERY", 1)
    monkeypatch.setattr(lane, "MERGE_EVERY", 1)
    shown: list[int] = []
    for name in ("crlf.csv", "multiline.csv", "footer_rows.csv", "stale_many.csv"):
        for request in (SliceRequest(), SliceRequest(by="owner")):
            pure = _outcome(LANE / name, LANE_FUNNEL, PURE, monkeypatch, request=request)
            progress = _run(
                LANE / name,
                LANE_FUNNEL,
                LANE_ON,
                monkeypatch,
                request=request,
                progress=lambda done, expected: shown.append(done),
            )
            assert _rendered(progress) == pure, (name, request.by)
    assert len(shown) > 1000  # the lane did pause on the way


def test_a_large_export_reports_the_same_as_a_user_runs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40,000 HubSpot-like deals (benchmarks/generate.py, 5.4 MiB): more rows than the lane
    reads between two merges of its counts, and a file large enough that, without
    FUNNEL_WORKERS, the Python lanes share it between two processes (from 4 MiB), while
    the compiled lane reads it in one."""
    from benchmarks.generate import FUNNEL_YAML, write_export

    path = tmp_path / "deals.csv"
    write_export(40_000, path)
    assert path.stat().st_size >= parallel.PARALLEL_MIN_BYTES
    (tmp_path / "funnel.yaml").write_text(FUNNEL_YAML, encoding="utf-8")
    funnel = load_funnel_file(str(tmp_path / "funnel.yaml")).funnel
    for request in (SliceRequest(), SliceRequest(by="owner")):
        pure = _outcome(path, funnel, Way(False, None), monkeypatch, request=request)
        compiled = _outcome(path, funnel, Way(True, None), monkeypatch, request=request)
        assert compiled == pure, request.by


# --- 3. bytes: line ends, quotes, NUL, encodings, huge fields ---------------------------

SKIP_EXAMPLES = {
    # file: (rows read, the skipped rows' lines and labels, as make_files.py places them)
    "crlf.csv": (80, [(22, UNKNOWN), (73, UNKNOWN)]),
    "cr_only.csv": (80, [(22, UNKNOWN), (73, UNKNOWN)]),
    "multiline.csv": (80, [(13, UNKNOWN), (76, UNKNOWN)]),
    "inch_quote.csv": (80, [(63, UNKNOWN)]),
    "quote_then_text.csv": (80, [(42, UNKNOWN), (72, UNKNOWN)]),
    "bom.csv": (60, [(57, UNKNOWN)]),
    "nul_byte.csv": (60, []),
    "no_final_newline.csv": (60, []),
    "last_line_blank.csv": (60, []),
    "footer_rows.csv": (70, []),
    "multiline_header.csv": (60, [(55, UNKNOWN)]),
    "big_amounts.csv": (10, []),
}


@pytest.mark.parametrize("encoding", [None, "utf-8"])
@pytest.mark.parametrize("name", sorted(SKIP_EXAMPLES))
def test_a_byte_level_file_reports_the_same_with_its_rows_numbered_as_in_the_file(
    name: str,
    encoding: str | None,
    monkeypatch: pytest.MonkeyPatch,
    short_sample: list[list[CsvRange]],
) -> None:
    """With --encoding utf-8 too: then a NUL past the first 20 lines is not stripped
    beforehand, and the lane meets it."""
    path = LANE / name
    pure = _outcome(path, LANE_FUNNEL, PURE, monkeypatch, encoding=encoding)
    for way in (LANE_ON, Way(True, 2), Way(True, 3)):
        result = _report(_run(path, LANE_FUNNEL, way, monkeypatch, encoding=encoding))
        assert _rendered(result) == pure, way
    read, skipped = SKIP_EXAMPLES[name]
    assert result.account.read == read
    assert result.account.examples.get("unknown_stage_label", []) == skipped


def test_a_quote_inside_an_unquoted_field_is_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """inch_quote.csv: deal 62's amount 12"5 (line 64) is a cell of its own, unreadable."""
    result = _report(_run(LANE / "inch_quote.csv", LANE_FUNNEL, LANE_ON, monkeypatch))
    [(line, value)] = result.account.examples["unreadable_amount"]
    assert line == 64 and value.startswith("'12\"5' ")


@needs_lane
def test_text_after_a_closing_quote_is_read_on_by_the_csv_module(
    monkeypatch: pytest.MonkeyPatch, lane_spy: LaneSpy
) -> None:
    """quote_then_text.csv: "D-"12 and "D-"63 are the ids D-12 and D-63 (csv joins the
    text after the closing quote to the field); both deals are open and stale."""
    result = _report(_run(LANE / "quote_then_text.csv", LANE_FUNNEL, LANE_ON, monkeypatch))
    assert lane_spy.give_ups == 1  # at line 14: Python reads on to the end
    ids = {deal.id for deal in result.report.stale}
    assert {"D-12", "D-63"} <= ids
    assert not any('"' in identifier for identifier in ids)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_bytes_that_are_not_utf8_give_the_pure_error(
    encoding: str, monkeypatch: pytest.MonkeyPatch, short_sample: list[list[CsvRange]]
) -> None:
    """invalid_utf8.csv: byte E9 in deal 40's name, on line 42."""
    path = LANE / "invalid_utf8.csv"
    expected = (
        f"ExportError: {path}: line 42: byte E9 is not valid {encoding}; "
        "try --encoding cp1252, or leave --encoding out to detect it"
    )
    for way in (PURE, LANE_ON, Way(False, 2), Way(True, 2)):
        assert _run(path, LANE_FUNNEL, way, monkeypatch, encoding=encoding) == expected, way


def test_bytes_that_are_not_utf8_read_as_cp1252_when_detected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = LANE / "invalid_utf8.csv"
    pure = _outcome(path, LANE_FUNNEL, PURE, monkeypatch)
    assert _outcome(path, LANE_FUNNEL, LANE_ON, monkeypatch) == pure
    assert _report(_run(path, LANE_FUNNEL, LANE_ON, monkeypatch)).table.encoding == "utf-8+cp1252"


@needs_lane
def test_a_footer_whose_first_cell_starts_with_an_em_space(
    monkeypatch: pytest.MonkeyPatch, lane_spy: LaneSpy
) -> None:
    """footer_unicode_space.csv: lines 3 and 5 are \\u2003Total and \\u2003Grand total and
    an amount, the rest empty. The footer pattern's \\s* takes the EM SPACE, and each row
    has 2 cells filled (at most 3 make a footer): 2 footer rows, not deals, whether the
    lane reads the row (line 3) or the csv module after the lane gave up (line 5)."""
    path = LANE / "footer_unicode_space.csv"
    pure = _outcome(path, LANE_FUNNEL, PURE, monkeypatch)
    result = _report(_run(path, LANE_FUNNEL, LANE_ON, monkeypatch))
    assert lane_spy.give_ups == 1
    assert result.table.stats == ReadStats(blank_rows=0, footer_rows=2, footer_text="Total")
    assert (result.account.read, result.account.skipped_total) == (3, 0)
    assert _rendered(result) == pure


def test_amounts_at_the_edges_as_worked_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """big_amounts.csv (see make_files.py), the money by currency:
    CHF won 123456789012.3457 + 900719925474.0993 + 999999999999999.9999
        = 1001024176714486.4449, median the middle one; lost 1000000000000000 (the most an
        amount may be); open at SQL 0.0001 + 0.0001 = 0.0002;
    JPY won 1.5 + 2.50 + 3 = 7.00 (two places, as the most precise term), median 2.5."""
    pure = _outcome(LANE / "big_amounts.csv", LANE_FUNNEL, PURE, monkeypatch)
    result = _report(_run(LANE / "big_amounts.csv", LANE_FUNNEL, LANE_ON, monkeypatch))
    assert _rendered(result) == pure
    money = {figures.currency: figures for figures in result.report.money}
    chf, jpy = money["CHF"], money["JPY"]
    assert str(chf.won_value) == "1001024176714486.4449"
    assert chf.median_won_value == float("900719925474.0993")
    assert str(chf.lost_value) == "1000000000000000"
    assert [str(value) for value in chf.open_by_stage] == ["0", "0", "0.0002", "0", "0"]
    assert (str(jpy.won_value), jpy.median_won_value) == ("7.00", 2.5)


def _deal_line(index: int, name: str = "", stage: str = "SQL") -> str:
    return f"D-{index},{name or f'Deal {index}'},{stage},{100 + index},,2025-03-05,,Ann,Sales"


HEADER_LINE = (
    "Record ID,Deal Name,Deal Stage,Amount,Currency,Create Date,Close Date,Deal owner,Pipeline"
)
AHEAD = [_deal_line(100 + index) for index in range(60)]
"""Deals 100-159 on lines 2-61: past them, the rows are the lane's to count, not the rows
read ahead to find the header (50 at most), which Python fits as it always does."""


@pytest.mark.parametrize(
    "size",
    [
        3 * LANE_CHUNK // 2,  # longer than the lane's first read: its buffer grows
        9 * LANE_CHUNK,  # longer than the lane takes at all: it gives up there
    ],
    ids=["1.5MiB", "9MiB"],
)
def test_a_huge_quoted_field_reports_the_same(
    size: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After AHEAD (lines 2-61), deals 0-11 from line 62; deal 3's name: quotes, commas and
    line breaks, ``size`` bytes; its 2 line breaks put deal 9 (unknown stage) on line
    62 + 9 + 2 = 73."""
    piece = 'said ""yes"", then, no\n'
    notes = "notes " + "x" * (size - 2 * len(piece)) + piece * 2
    rows = [_deal_line(index) for index in range(12)]
    rows[3] = _deal_line(3, name=f'"{notes}"')
    rows[9] = _deal_line(9, stage=UNKNOWN)
    path = tmp_path / "huge.csv"
    path.write_text("\n".join([HEADER_LINE, *AHEAD, *rows]) + "\n", encoding="utf-8")
    pure = _outcome(path, LANE_FUNNEL, PURE, monkeypatch)
    result = _report(_run(path, LANE_FUNNEL, LANE_ON, monkeypatch))
    assert _rendered(result) == pure
    assert result.account.read == 60 + 12
    assert result.account.examples["unknown_stage_label"] == [(73, UNKNOWN)]


def test_a_field_over_10_mib_is_the_same_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deal 4 of 0-5 after AHEAD: on line 62 + 4 = 66."""
    rows = [_deal_line(index) for index in range(6)]
    rows[4] = _deal_line(4, name='"' + "x" * (11 * LANE_CHUNK) + '"')
    path = tmp_path / "too_long.csv"
    path.write_text("\n".join([HEADER_LINE, *AHEAD, *rows]) + "\n", encoding="utf-8")
    expected = (
        f"ExportError: {path}: row 66: a field is larger than 10 MiB; is this really a CSV export?"
    )
    for way in (PURE, LANE_ON):
        assert _run(path, LANE_FUNNEL, way, monkeypatch) == expected, way


# Records across the end of the lane's first read of a file (LANE_CHUNK bytes from the
# first data row): (the record, its bytes up to the read's end, the line end used).
AT_THE_END_OF_A_READ = {
    "cr of a crlf": (_deal_line(1), _deal_line(1).encode() + b"\r", "\r\n"),
    "cr alone": (_deal_line(1), _deal_line(1).encode() + b"\r", "\r"),
    "closing quote": (_deal_line(1, name='"Deal, one"'), b'D-1,"Deal, one"', "\n"),
    "escaped quote": (_deal_line(1, name='"a ""b"" c"'), b'D-1,"a "', "\n"),
    "quoted crlf": (_deal_line(1, name='"a\r\nb"'), b'D-1,"a\r', "\r\n"),
    "two-byte character": (_deal_line(1, name="Jos\u00e9"), b"D-1,Jos\xc3", "\n"),
}


def _placed(row: str, until: bytes, newline: str) -> bytes:
    """The header, AHEAD, a padding row, ``row`` placed so that its bytes ``until`` end
    the lane's first read, then deals 2, 3 and 4 (an unknown stage)."""
    before = [*AHEAD, _deal_line(0, name="x")]
    unpadded = sum(len(line) + len(newline) for line in before)
    padding = _deal_line(0, name="x" * (1 + LANE_CHUNK - len(until) - unpadded))
    rows = [HEADER_LINE, *AHEAD, padding, row, _deal_line(2), _deal_line(3)]
    rows.append(_deal_line(4, stage=UNKNOWN))
    return (newline.join(rows) + newline).encode()


@pytest.mark.parametrize("case", sorted(AT_THE_END_OF_A_READ))
def test_a_record_across_the_end_of_the_lanes_first_read(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    row, until, newline = AT_THE_END_OF_A_READ[case]
    data = _placed(row, until, newline)
    start = len(HEADER_LINE) + len(newline)
    assert data[start + LANE_CHUNK - len(until) : start + LANE_CHUNK] == until  # as placed
    path = tmp_path / "boundary.csv"
    path.write_bytes(data)
    pure = _outcome(path, LANE_FUNNEL, PURE, monkeypatch)
    result = _report(_run(path, LANE_FUNNEL, LANE_ON, monkeypatch))
    assert _rendered(result) == pure
    # The header on line 1, AHEAD on 2-61, the padding row on 62, the record on 63 (and
    # 64 with a quoted line break), then deals 2, 3 and 4: deal 4 on line 66, or 67.
    line = 67 if "quoted" in case else 66
    assert result.account.examples["unknown_stage_label"] == [(line, UNKNOWN)]
    assert result.account.read == 60 + 5


# --- 4. stale deals ---------------------------------------------------------------------


def test_stale_deals_of_a_small_file_as_worked_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """stale_small.csv on 2025-11-30; limits are twice the stage's days: Lead 10, SQL 28,
    Proposal 60. D-1 (Lead, 5 days), D-4 (Proposal, 60: not more than 60), D-6 (won) and
    D-7 (lost) are not stale. The rest, oldest first:
    the row without an id, named Nameless (SQL since 2025-09-01: 30 + 31 + 29 = 90 days),
    D-5 (Proposal since 2025-09-30: 61 days; no amount, no owner),
    D-3 (SQL since 2025-10-01: 60 days; 100 EUR at 1.1 = 110 USD),
    D-2 (Lead since 2025-11-10: 20 days; 1,000.50; owner " Ann " stripped)."""
    pure = _outcome(LANE / "stale_small.csv", LANE_FUNNEL, PURE, monkeypatch)
    result = _report(_run(LANE / "stale_small.csv", LANE_FUNNEL, LANE_ON, monkeypatch))
    assert _rendered(result) == pure
    shown = json.loads(_rendered(result)[0])
    assert shown["stale_count"] == 4
    assert shown["stale"] == [
        {"id": "Nameless", "owner": "Jos\u00e9", "stage": "SQL", "days": 90, "value": 20,
         "currency": "USD"},
        {"id": "D-5", "owner": None, "stage": "Proposal", "days": 61, "value": None,
         "currency": "USD"},
        {"id": "D-3", "owner": "Bo", "stage": "SQL", "days": 60, "value": 110,
         "currency": "USD"},
        {"id": "D-2", "owner": "Ann", "stage": "Lead", "days": 20, "value": 1000.5,
         "currency": "USD"},
    ]  # fmt: skip
    # The amounts as Decimals, with the exponents the cells give (100 x 1.1: one place).
    assert [str(deal.value) for deal in result.report.stale] == ["20", "None", "110.0", "1000.50"]


def _expected_stale(path: Path) -> tuple[int, list[tuple[str, int]]]:
    """(how many deals are stale, the 1,000 listed as (id, days)), from the file: open
    deals with more days since created than twice their stage's days, oldest first, then
    by id (every deal has one, and every one is created on a plain ISO day)."""
    limits = {"Lead": 10, "MQL": 14, "SQL": 28, "Proposal": 60}
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    stale = []
    for row in rows:
        days = (AS_OF - dt.date.fromisoformat(row["Create Date"])).days
        if row["Deal Stage"] in limits and days > limits[row["Deal Stage"]]:
            stale.append((row["Record ID"], days))
    listed = sorted(stale, key=lambda deal: (-deal[1], deal[0]))[:1000]
    return len(stale), listed


@needs_lane
def test_more_stale_deals_than_are_listed_in_shuffled_order(
    monkeypatch: pytest.MonkeyPatch, short_sample: list[list[CsvRange]]
) -> None:
    """stale_many.csv: 1,500 stale deals; the report lists the 1,000 oldest. The lane gives
    Python only those that may be among them: here, far fewer than all 1,500."""
    path = LANE / "stale_many.csv"
    count, listed = _expected_stale(path)
    assert (count, len(listed)) == (1500, 1000)
    noted: list[int] = []
    note = ReportBuilder.stale_deal

    def noting(self: ReportBuilder, *args: Any) -> StaleDeal:
        noted.append(1)
        return note(self, *args)

    monkeypatch.setattr(ReportBuilder, "stale_deal", noting)
    pure = _outcome(path, LANE_FUNNEL, PURE, monkeypatch)
    assert len(noted) == count
    del noted[:]
    result = _report(_run(path, LANE_FUNNEL, LANE_ON, monkeypatch))
    assert _rendered(result) == pure
    assert 1000 <= len(noted) < count
    assert result.report.stale_count == count
    assert [(deal.id, deal.days) for deal in result.report.stale] == listed
    for way in (Way(True, 2), Way(True, 3)):
        assert _outcome(path, LANE_FUNNEL, way, monkeypatch) == pure, way
    assert all(short_sample)  # split each time
    for stale_days in (0, 150):  # every open deal; about half of them
        pure = _outcome(path, LANE_FUNNEL, PURE, monkeypatch, stale_days=stale_days)
        compiled = _outcome(path, LANE_FUNNEL, LANE_ON, monkeypatch, stale_days=stale_days)
        assert compiled == pure, stale_days


# --- 5. without the compiled module -----------------------------------------------------

FALLBACK_FILES = ("crlf.csv", "multiline.csv", "quote_then_text.csv", "stale_many.csv")


@needs_lane
@pytest.mark.parametrize("name", FALLBACK_FILES)
def test_without_the_compiled_module_the_report_is_the_same(
    name: str, monkeypatch: pytest.MonkeyPatch, lane_spy: LaneSpy
) -> None:
    path = LANE / name
    compiled = _outcome(path, LANE_FUNNEL, LANE_ON, monkeypatch, request=SliceRequest(by="owner"))
    assert lane_spy.reads == 1
    monkeypatch.setattr(lane, "_compiled", lambda: None)  # as when built without a compiler
    for way in (LANE_ON, Way(True, 2)):
        missing = _outcome(path, LANE_FUNNEL, way, monkeypatch, request=SliceRequest(by="owner"))
        assert missing == compiled, way
    assert lane_spy.reads == 1  # not taken again


# --- 6. tabular.csv_data_row and tabular._line_offset -----------------------------------


@pytest.mark.parametrize(
    ("cells", "fit", "row", "stats"),
    [
        ([], False, None, ReadStats(blank_rows=1)),
        (["", "", ""], False, None, ReadStats(blank_rows=1)),
        (["a", "b"], False, ("a", "b", ""), ReadStats()),  # padded
        (["a", "b", "c", "", ""], False, ("a", "b", "c"), ReadStats()),  # empty tail dropped
        (["a", "b", "c", "d"], False, ("a", "b", "c", "d"), ReadStats()),  # kept: not empty
        (["Total", "", "12"], False, None, ReadStats(footer_rows=1, footer_text="Total")),
        (["Total", "x", "y", "z"], False, ("Total", "x", "y", "z"), ReadStats()),  # 4 filled
        (["To do", "SQL", "5"], False, ("To do", "SQL", "5"), ReadStats()),
        (["", "Total", ""], False, None, ReadStats(footer_rows=1, footer_text="Total")),
        (
            ["\u00a0Grand total", "", ""],
            False,
            None,
            ReadStats(footer_rows=1, footer_text="Grand total"),
        ),
        (["\u00a9 Acme", "", ""], False, None, ReadStats(footer_rows=1, footer_text="\u00a9 Acme")),
        # Fitted (a share's last record, a row read ahead to find the header): in full,
        # with the footer pattern's \s* taking the EM SPACE the hot loop does not look for.
        (["\u2003Total", "", ""], True, None, ReadStats(footer_rows=1, footer_text="Total")),
        (["x"], True, ("x", "", ""), ReadStats()),
    ],
)
def test_csv_data_row_as_worked_by_hand(
    cells: list[str], fit: bool, row: tuple[str, ...] | None, stats: ReadStats
) -> None:
    counted = ReadStats()
    assert csv_data_row(cells, 3, counted, fit=fit) == row
    assert counted == stats


_RECORD_CELLS = st.sampled_from(
    [
        "",
        " ",
        "a",
        "Won",
        "Total",
        "total 5",
        "Grand total",
        "\u00a0Total",
        "\u3000Total",
        "\u00a9 2025",
        "To do",
        "Copyright",
        "generated by x",
        "x,y",
        'q"q',
        "l1\nl2",
    ]
)
FILLER = 60
"""Plain rows between the header and the records, so that the records come after the
header's lookahead, where _csv_rows reads with its hot loop, as the lane's rows are."""


@settings(max_examples=100)
@given(records=st.lists(st.lists(_RECORD_CELLS, max_size=6), max_size=30))
def test_csv_data_row_makes_of_each_record_what_csv_rows_yields(
    records: list[list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Name", "Stage", "Amount", "Owner"])
    writer.writerows([f"F-{index}", "Lead", "1", "Ann"] for index in range(FILLER))
    writer.writerows(records)
    path = tmp_path_factory.mktemp("records") / "records.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    with read_table(path) as table:
        yielded = list(table.rows)
    reader = csv.reader(io.StringIO(buffer.getvalue(), newline=""))
    next(reader)  # the header
    made, stats, line = [], ReadStats(), reader.line_num
    for cells in reader:
        row = csv_data_row(cells, 4, stats)
        if row is not None:
            made.append((line + 1, row))
        line = reader.line_num
    assert made == yielded
    assert stats == table.stats


@pytest.mark.parametrize(
    ("data", "chunk", "offsets"),
    [
        # h \r \n A \r B \n C: lines start at 0, 3 (after CRLF), 5 (after CR), 7 (after LF)
        (b"h\r\nA\rB\nC", 1 << 20, [0, 3, 5, 7, None]),
        (b"h\r\n\r\nx", 1 << 20, [0, 3, 5, None]),  # a blank line
        (b"h\r", 1 << 20, [0, 2, None]),  # a CR ending the file is a line break
        (b"h\n", 1 << 20, [0, 2, None]),
        (b"", 1 << 20, [0, None]),
        # Read 2 bytes at a time: the CRLF at bytes 2-3 is split between two reads.
        (b"ab\r\ncd\ref", 2, [0, 4, 7, None]),
        # Read 3 at a time: the CR at byte 2 ends a read, the byte after it is no LF.
        (b"ab\rcd\ne", 3, [0, 3, 6, None]),
    ],
)
def test_line_offset_counts_line_breaks_as_csv_does(
    data: bytes,
    chunk: int,
    offsets: list[int | None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(byte_ranges, "_CHUNK", chunk)
    path = tmp_path / "lines.csv"
    path.write_bytes(data)
    assert [byte_ranges._line_offset(path, line) for line in range(1, len(offsets) + 1)] == offsets


# --- 7. the command line: stdout, stderr and the exit code ------------------------------

runner = CliRunner()
CLI_CASES = [
    # file, options, exit code
    ("multiline.csv", (), 0),  # warnings for the skipped rows
    ("quote_then_text.csv", ("--strict",), 2),  # rows skipped
    ("footer_rows.csv", ("--by", "owner"), 0),
    ("stale_small.csv", ("--max-stale", "1"), 1),  # 4 stale deals: an alert
    ("stale_many.csv", ("--stale-days", "150"), 0),
    ("bom.csv", ("--quiet",), 0),
    ("invalid_utf8.csv", ("--encoding", "utf-8"), 2),  # an error
    ("nul_byte.csv", ("--encoding", "utf-8"), 0),
]


def _report_args(name: str) -> list[str]:
    funnel = str(LANE / "funnel.yaml")
    return ["report", str(LANE / name), "--funnel", funnel, "--as-of", AS_OF.isoformat()]


def _invoke(name: str, extra: tuple[str, ...], output: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app,
        [*_report_args(name), "--format", output, *extra],
        prog_name="funnel",
    )
    return result.exit_code, result.stdout, result.stderr


@needs_lane
@pytest.mark.parametrize(("name", "extra", "code"), CLI_CASES, ids=[case[0] for case in CLI_CASES])
def test_the_command_line_prints_the_same_and_exits_the_same(
    name: str,
    extra: tuple[str, ...],
    code: int,
    monkeypatch: pytest.MonkeyPatch,
    short_sample: list[list[CsvRange]],
) -> None:
    for output in ("table", "json", "csv", "markdown"):
        monkeypatch.setenv("FUNNEL_COMPILED", "0")
        monkeypatch.setenv("FUNNEL_WORKERS", "1")
        pure = _invoke(name, extra, output)
        for compiled, workers in (("1", "1"), ("1", "2")):
            monkeypatch.setenv("FUNNEL_COMPILED", compiled)
            monkeypatch.setenv("FUNNEL_WORKERS", workers)
            assert _invoke(name, extra, output) == pure, (output, compiled, workers)
        assert pure[0] == code, output


@needs_lane
def test_the_installed_command_prints_the_same_with_the_lane_on_and_off() -> None:
    """A real process, as a user runs it: the compiled module imported for real."""

    def run(compiled: str | None) -> tuple[int, str, str]:
        env = {key: value for key, value in os.environ.items() if key != "FUNNEL_COMPILED"}
        if compiled is not None:
            env["FUNNEL_COMPILED"] = compiled
        done = run_funnel(*_report_args("multiline.csv"), "--format", "json", env=env)
        return done.returncode, done.stdout, done.stderr

    pure = run("0")
    assert run(None) == pure
    assert pure[0] == 0
    assert "row 13 'Discovery Call', row 76 'Discovery Call'" in pure[2]


# --- deal ids as hashes ---------------------------------------------------------------


def _hashes(ids: list[str]) -> list[int]:
    module = pytest.importorskip("funnelcli._lane")
    into = bytearray()
    module.hash_ids(ids, into)
    return list(memoryview(into).cast("Q"))


def test_ids_are_hashed_as_python_strips_them() -> None:
    """Every Unicode space at either end goes (U+00A0, U+3000, U+001C, tab), as str.strip()
    takes it away; inner ones stay, and an id of spaces alone is no id."""
    plain, other = _hashes(["D1", "D 1"])
    assert plain != other
    spaced = _hashes([" D1\t", "\u00a0D1", "D1\u3000\x1c", "\u2003 D1 \u2029"])
    assert spaced == [plain] * 4
    assert _hashes(["", " \u00a0 "]) == []


@pytest.mark.parametrize("count", [0, 1, 2, 63, 64, 65, 5_000, 200_000])
def test_distinct_ids_sorts_the_hashes_in_place(count: int) -> None:
    module = pytest.importorskip("funnelcli._lane")
    hashes = bytearray()
    module.hash_ids([f"D{index}" for index in range(count)], hashes)
    expected = sorted(memoryview(hashes).cast("Q"))
    assert module.distinct_ids(hashes) is True
    assert list(memoryview(hashes).cast("Q")) == expected
    if count:
        module.hash_ids([f" D{count - 1} "], hashes)  # the last id again
        assert module.distinct_ids(hashes) is False
