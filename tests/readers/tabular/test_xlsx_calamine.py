"""The two XLSX paths of funnelcli.readers.tabular, python-calamine and openpyxl, read alike.

Every workbook here is read twice, once forced through each path, and the two reads must
give the same sheet, header, header row, title rows, skipped-row counts and rows: row
numbers, cell values and cell types (42 and 42.0 are equal in Python, so the types are
compared too). The few places where python-calamine cannot see what openpyxl sees are
pinned at the end, so that they stay known.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from unittest import mock

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from funnelcli.errors import ExportError
from funnelcli.readers.columns import header_score
from funnelcli.readers.tabular import xlsx
from funnelcli.readers.tabular.header import NO_HEADER
from funnelcli.readers.tabular.read import read_table
from funnelcli.readers.tabular.table import Table

from ...conftest import DATA, ROOT
from ...processes import run
from .test_read_table import chart_workbook, salesforce_formatted_workbook

EXPORTS = DATA / "exports"
SRC = ROOT / "src"

Build = Callable[[Path], None]


class Read(NamedTuple):
    """All a reader of the table sees, with each cell as (type name, value)."""

    kind: str
    sheet: str | None
    header: tuple[str, ...]
    header_row: int
    title_rows: int
    rows: list[tuple[int, tuple[tuple[str, Any], ...]]]
    blank_rows: int
    footer_rows: int
    footer_text: str | None


def _no_fallback(*args: object) -> Table:
    raise AssertionError("the calamine path handed the file to openpyxl")


@contextlib.contextmanager
def _forced(library: str, *, fallback: bool) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(xlsx, "USE_CALAMINE", library == "calamine"))
        if library == "calamine" and not fallback:
            stack.enter_context(mock.patch.object(xlsx, "_read_xlsx_openpyxl", _no_fallback))
        yield


def read_with(
    library: str,
    path: Path | str,
    *,
    sheet: str | None = None,
    score: Callable[[Sequence[str]], int] | None = None,
) -> Read:
    """Read through one path; the calamine path must not hand the file to openpyxl."""
    with _forced(library, fallback=False), read_table(path, sheet=sheet, header_score=score) as t:
        rows = [
            (number, tuple((type(cell).__name__, cell) for cell in cells))
            for number, cells in t.rows
        ]
        stats = t.stats
        return Read(
            t.kind,
            t.sheet,
            t.header,
            t.header_row,
            t.title_rows,
            rows,
            stats.blank_rows,
            stats.footer_rows,
            stats.footer_text,
        )


def read_both(
    path: Path | str,
    *,
    sheet: str | None = None,
    score: Callable[[Sequence[str]], int] | None = None,
) -> Read:
    """Read through both paths, check they agree, and return the read."""
    by_openpyxl = read_with("openpyxl", path, sheet=sheet, score=score)
    by_calamine = read_with("calamine", path, sheet=sheet, score=score)
    assert by_calamine == by_openpyxl
    return by_calamine


def error_with(library: str, path: Path | str, *, sheet: str | None = None) -> str:
    """The message of the ExportError the read raises; the calamine path may fall back."""
    with _forced(library, fallback=True), pytest.raises(ExportError) as caught:
        read_table(path, sheet=sheet)
    return str(caught.value)


def error_of_both(path: Path | str, *, sheet: str | None = None) -> str:
    message = error_with("openpyxl", path, sheet=sheet)
    assert error_with("calamine", path, sheet=sheet) == message
    return message


def cells(read: Read) -> list[tuple[int, tuple[Any, ...]]]:
    """The rows without the type names, to compare with literals."""
    return [(number, tuple(value for _, value in row)) for number, row in read.rows]


def save(path: Path, rows: Sequence[Sequence[object]], *, title: str = "Deals") -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)


@pytest.fixture
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- the workbooks of tests/readers/tabular/test_read_table.py ----------------------------------


def missing_rows_and_times(path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for column, name in enumerate(["Name", "Won", "Time", "Due"], start=1):
        sheet.cell(row=2, column=column, value=name)
    sheet.cell(row=3, column=1, value="Acme")
    sheet.cell(row=3, column=2, value=True)
    sheet.cell(row=3, column=3, value=datetime.time(14, 3))
    sheet.cell(row=6, column=1, value="Beta")
    sheet.cell(row=6, column=4, value=datetime.date(2025, 1, 31))
    workbook.save(path)


def zero_cells(path: Path) -> None:
    save(path, [["Amount", "Count"], [0, 0]])


@pytest.mark.parametrize(
    ("build", "sheet"),
    [
        (salesforce_formatted_workbook, None),
        (salesforce_formatted_workbook, "NOTES"),
        (missing_rows_and_times, None),
        (zero_cells, None),
    ],
)
def test_the_workbooks_of_test_tabular(in_tmp: Path, build: Build, sheet: str | None) -> None:
    build(in_tmp / "deals.xlsx")
    read_both("deals.xlsx", sheet=sheet)


def test_an_xlsx_named_csv(in_tmp: Path) -> None:
    save(in_tmp / "deals.csv", [["Name", "Stage"], ["Acme", "Won"]])
    assert cells(read_both("deals.csv")) == [(2, ("Acme", "Won"))]


def test_the_salesforce_formatted_export() -> None:
    path = EXPORTS / "salesforce_formatted.xlsx"
    read = read_both(path, score=header_score)
    assert (read.sheet, read.header_row, read.title_rows) == ("Opportunity Pipeline", 4, 2)
    assert len(read.rows) == 13
    read_both(path)


# --- new workbooks -----------------------------------------------------------


def test_title_rows_blank_rows_and_footers(in_tmp: Path) -> None:
    save(
        in_tmp / "deals.xlsx",
        [
            ["Pipeline report"],
            [],
            ["Filtered by: all"],
            ["Deal", "Stage", "Amount"],
            ["Acme", "Won", 100],
            [],
            [],
            ["Beta", "Lost", 200.5],
            [None, "Open", 300],
            ["Total", None, 600.5],
            [],
            ["Grand total", 3],
            ["Copyright 2025 Acme"],
            ["© Acme"],
        ],
    )
    read = read_both("deals.xlsx")
    assert (read.header_row, read.title_rows) == (4, 2)
    assert cells(read) == [
        (5, ("Acme", "Won", 100)),
        (8, ("Beta", "Lost", 200.5)),
        (9, (None, "Open", 300)),
    ]
    assert (read.blank_rows, read.footer_rows, read.footer_text) == (3, 4, "Total")


def test_cell_types(in_tmp: Path) -> None:
    values: list[object] = [
        42,
        42.0,
        -3,
        0.0,
        1200.5,
        1e15,
        1e16,
        1.5e-7,
        True,
        False,
        "text",
        "  padded  ",
        "line\nbreak",
        datetime.datetime(2025, 1, 31),
        datetime.date(2025, 1, 31),
        datetime.datetime(2025, 1, 31, 14, 3, 7),
        datetime.datetime(2025, 1, 31, 14, 3, 7, 123000),
        datetime.datetime(1900, 1, 1),
        datetime.datetime(1900, 3, 1),
        datetime.time(14, 3),
        datetime.time(0, 0),
        datetime.timedelta(days=1, hours=2),
        datetime.timedelta(hours=3, minutes=4),
    ]
    save(
        in_tmp / "deals.xlsx",
        [["Case", "Value"], *([f"case {i}", v] for i, v in enumerate(values))],
    )
    read = read_both("deals.xlsx")
    by_case = {row[0][1]: row[1] for _, row in read.rows}
    assert by_case["case 0"] == by_case["case 1"] == ("int", 42)
    assert by_case["case 6"] == ("float", 1e16)
    assert by_case["case 14"] == ("datetime", datetime.datetime(2025, 1, 31))
    assert by_case["case 19"] == ("str", "14:03:00")
    assert by_case["case 21"] == ("str", "1 day, 2:00:00")


def test_number_formats_decide_dates_alike(in_tmp: Path) -> None:
    formats = [
        "General",
        "0.00",
        '"USD "#,##0.00',
        "0%",
        "yyyy-mm-dd",
        "dd/mm/yyyy;@",
        "[$-409]mmmm d, yyyy;@",
        "m/d/yyyy h:mm",
        "h:mm AM/PM",
        "[h]:mm:ss",
        "mm:ss.0",
        '"Date: "yyyy',
        '0.0 "days"',
        "#,##0;[Red]-#,##0",
    ]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Format", "Whole", "Half", "Quarter"])
    for row, number_format in enumerate(formats, start=2):
        sheet.cell(row, 1, number_format)
        for column, value in enumerate([45000, 45000.5, 0.25], start=2):
            sheet.cell(row, column, value).number_format = number_format
    workbook.save(in_tmp / "deals.xlsx")
    read_both("deals.xlsx")


def test_a_1904_workbook(in_tmp: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.epoch = CALENDAR_MAC_1904
    sheet = workbook.active
    sheet.append(["Deal", "Close Date"])
    sheet.append(["Acme", datetime.datetime(2025, 10, 16, 9, 30)])
    sheet.append(["Beta", datetime.date(2024, 2, 29)])
    workbook.save(in_tmp / "deals.xlsx")
    assert cells(read_both("deals.xlsx")) == [
        (2, ("Acme", datetime.datetime(2025, 10, 16, 9, 30))),
        (3, ("Beta", datetime.datetime(2024, 2, 29))),
    ]


def test_empty_leading_rows_and_columns_keep_excel_numbers(in_tmp: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["C3"] = "Pipeline"
    for column, name in enumerate(["Deal", "Stage", "Amount"], start=3):
        sheet.cell(5, column, name)
    sheet["C6"], sheet["D6"], sheet["E6"] = "Acme", "Won", 100
    sheet["D9"] = "Lost"
    workbook.save(in_tmp / "deals.xlsx")
    read = read_both("deals.xlsx")
    assert (read.header, read.header_row, read.title_rows) == (
        ("", "", "Deal", "Stage", "Amount"),
        5,
        1,
    )
    assert cells(read) == [
        (6, (None, None, "Acme", "Won", 100)),
        (9, (None, None, None, "Lost", None)),
    ]
    assert read.blank_rows == 2


def test_a_second_sheet_chosen_by_name(in_tmp: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["Summary", "Value"])
    workbook.active.append(["Deals", 2])
    other = workbook.create_sheet("Raw Deals")
    other["B4"], other["C4"] = "Deal", "Amount"
    other["B5"], other["C5"] = "Acme", 10
    other["B7"], other["C7"] = "Beta", 20.25
    workbook.save(in_tmp / "deals.xlsx")
    read = read_both("deals.xlsx", sheet="raw deals")
    assert (read.sheet, read.header_row) == ("Raw Deals", 4)
    assert cells(read) == [(5, (None, "Acme", 10)), (7, (None, "Beta", 20.25))]
    read_both("deals.xlsx")


def test_cells_right_of_the_header(in_tmp: Path) -> None:
    save(
        in_tmp / "deals.xlsx",
        [
            ["Deal", "Stage"],
            ["Acme", "Won", None, "note"],
            ["Beta", "Lost"],
            ["Gamma", None, None, None, None, 0],
        ],
    )
    assert cells(read_both("deals.xlsx")) == [
        (2, ("Acme", "Won", None, "note")),
        (3, ("Beta", "Lost")),
        (4, ("Gamma", None, None, None, None, 0)),
    ]


def test_a_wrong_stored_size_does_not_cut_rows(in_tmp: Path) -> None:
    save(in_tmp / "whole.xlsx", [["Deal", "Stage"], ["Acme", "Won"], ["Beta", "Lost"]])
    rewrite_member(
        in_tmp / "whole.xlsx",
        in_tmp / "deals.xlsx",
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b'<dimension ref="A1:B3"', b'<dimension ref="A1:A1"'),
    )
    assert cells(read_both("deals.xlsx")) == [(2, ("Acme", "Won")), (3, ("Beta", "Lost"))]


def test_a_header_found_by_score_past_many_rows(in_tmp: Path) -> None:
    notes = [[f"note {index}", "x"] for index in range(30)]
    body = [[f"Deal {index}", index] for index in range(120)]
    save(in_tmp / "deals.xlsx", [*notes, [], ["Deal Name", "Amount"], *body, [], ["Total", 7140]])
    read = read_both("deals.xlsx", score=header_score)
    assert (read.header_row, read.title_rows, len(read.rows)) == (32, 30, 120)
    read_both("deals.xlsx")


# --- errors ------------------------------------------------------------------


def test_errors_are_worded_alike(in_tmp: Path) -> None:
    salesforce_formatted_workbook(in_tmp / "pipeline.xlsx")
    assert error_of_both("pipeline.xlsx", sheet="Foo") == (
        "pipeline.xlsx: no sheet named 'Foo'; the sheets are: Opportunity Pipeline, Notes"
    )
    chart_workbook(in_tmp / "chart.xlsx", keep_data_sheet=True)
    assert error_of_both("chart.xlsx", sheet="chart1") == (
        "chart.xlsx: sheet 'chart1' is a chart, not a table; the sheets are: Deals"
    )
    assert error_of_both("chart.xlsx") == (f"chart.xlsx: sheet 'Deals': {NO_HEADER}")
    chart_workbook(in_tmp / "charts.xlsx", keep_data_sheet=False)
    assert error_of_both("charts.xlsx") == (
        "charts.xlsx: the workbook has only chart sheets, no worksheet; "
        "export the deals as a table in CSV or XLSX"
    )
    save(in_tmp / "empty.xlsx", [])
    assert error_of_both("empty.xlsx") == (
        "empty.xlsx: sheet 'Deals' is empty; export the deals with a header row"
    )


def test_damaged_files_are_left_to_openpyxl(in_tmp: Path) -> None:
    salesforce_formatted_workbook(in_tmp / "whole.xlsx")
    whole = (in_tmp / "whole.xlsx").read_bytes()
    (in_tmp / "truncated.xlsx").write_bytes(whole[: len(whole) // 2])
    assert error_of_both("truncated.xlsx") == (
        "truncated.xlsx: not a readable XLSX file (the ZIP container is damaged or truncated); "
        "re-export it"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("deals.csv", "Name,Stage\n")
    (in_tmp / "zip.xlsx").write_bytes(buffer.getvalue())
    assert error_of_both("zip.xlsx").startswith("zip.xlsx: not a readable XLSX file (")
    rewrite_member(
        in_tmp / "whole.xlsx",
        in_tmp / "sheet.xlsx",
        "xl/worksheets/sheet1.xml",
        lambda xml: xml[: len(xml) // 2],
    )
    assert error_of_both("sheet.xlsx").startswith("sheet.xlsx: not a readable XLSX file (")


def test_an_xlsb_like_package_is_left_to_openpyxl(in_tmp: Path) -> None:
    save(in_tmp / "whole.xlsx", [["Deal", "Stage"], ["Acme", "Won"]])
    with (
        zipfile.ZipFile(in_tmp / "whole.xlsx") as source,
        zipfile.ZipFile(in_tmp / "deals.xlsb", "w") as target,
    ):
        for item in source.infolist():
            name = item.filename.replace("xl/workbook.xml", "xl/workbook.bin")
            target.writestr(name, source.read(item.filename))
    assert xlsx._holds_xlsx_workbook(in_tmp / "deals.xlsb") is False
    assert error_of_both("deals.xlsb").startswith("deals.xlsb: not a readable XLSX file (")


def rewrite_member(
    source: Path, target: Path, member: str, change: Callable[[bytes], bytes]
) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item.filename)
            new.writestr(item, change(data) if item.filename == member else data)


# --- the switch, the fallback and the imports ---------------------------------


def test_without_python_calamine_openpyxl_reads(in_tmp: Path) -> None:
    salesforce_formatted_workbook(in_tmp / "pipeline.xlsx")
    with mock.patch.dict(sys.modules, {"python_calamine": None}):  # import raises ImportError
        assert xlsx._read_xlsx_calamine("pipeline.xlsx", "pipeline.xlsx", None, None) is None
        without = read_with("openpyxl", "pipeline.xlsx")
        with mock.patch.object(xlsx, "USE_CALAMINE", True):
            table = read_table("pipeline.xlsx")
            assert table.header == without.header
            assert len(list(table.rows)) == len(without.rows)
    assert read_with("calamine", "pipeline.xlsx") == without


def test_the_calamine_path_is_the_default_and_opens_no_openpyxl() -> None:
    script = (
        "import sys\n"
        "from funnelcli.readers.tabular import xlsx\n"
        "from funnelcli.readers.tabular.read import read_table\n"
        f"table = read_table({str(EXPORTS / 'salesforce_formatted.xlsx')!r})\n"
        "print(xlsx.USE_CALAMINE, len(list(table.rows)), 'openpyxl' in sys.modules)\n"
        f"table = read_table({str(EXPORTS / 'hubspot_deals.csv')!r})\n"
    )
    csv_only = (
        "import sys\n"
        "from funnelcli.readers.tabular.read import read_table\n"
        f"table = read_table({str(EXPORTS / 'hubspot_deals.csv')!r})\n"
        "list(table.rows)\n"
        "print('python_calamine' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    xlsx = run([sys.executable, "-c", script], env=env)
    assert (xlsx.returncode, xlsx.stdout) == (0, "True 13 False\n"), xlsx.stderr
    csv = run([sys.executable, "-c", csv_only], env=env)
    assert (csv.returncode, csv.stdout) == (0, "False\n"), csv.stderr


class FakeSheet:
    """A sheet as a python-calamine that skipped the empty rows above the data would give."""

    start = (2, 1)

    def iter_rows(self) -> Iterator[list[Any]]:
        return iter([["Deal", "Stage"], ["Acme", ""]])


def test_rows_are_numbered_right_were_leading_rows_skipped() -> None:
    rows, number, pad = xlsx._calamine_start(FakeSheet())  # type: ignore[arg-type]
    assert (number, pad) == (3, (None,))
    assert list(xlsx._calamine_numbered(rows, number, pad)) == [
        (3, (None, "Deal", "Stage")),
        (4, (None, "Acme", None)),
    ]


# --- property: any small sheet reads alike ------------------------------------

TEXT = st.sampled_from(
    ["Deal", "Stage", "Amount", "Acme", "Won", "Total", "Grand total", "Copyright 2025",
     "© Acme", "Generated by Jane", "1,200", "12%", "a b", "Zoë", "x"]
)  # fmt: skip
CELL = st.one_of(
    st.none(),
    st.none(),
    TEXT,
    st.integers(-(10**12), 10**12),
    st.floats(-1e12, 1e12, allow_nan=False).map(lambda value: round(value, 4)),
    st.booleans(),
    st.datetimes(datetime.datetime(1900, 1, 1), datetime.datetime(2100, 1, 1)).map(
        lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    ),
    st.dates(datetime.date(1900, 1, 1), datetime.date(9999, 12, 31)),
    st.times(datetime.time(0), datetime.time(23, 59, 59)).map(
        lambda moment: moment.replace(microsecond=0)
    ),
    st.integers(0, 10 * 86400).map(lambda seconds: datetime.timedelta(seconds=seconds)),
)


@settings(max_examples=40)
@given(
    rows=st.lists(st.lists(CELL, max_size=5), max_size=10),
    header_at=st.integers(0, 10),
    top=st.integers(0, 3),
    left=st.integers(0, 2),
)
def test_any_small_sheet_reads_alike(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[object]],
    header_at: int,
    top: int,
    left: int,
) -> None:
    rows.insert(min(header_at, len(rows)), ["Deal", "Stage", "Amount"])
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row_index, row in enumerate(rows, start=top + 1):
        for column_index, value in enumerate(row, start=left + 1):
            if value is not None:
                sheet.cell(row_index, column_index, value)
    path = tmp_path_factory.mktemp("sheet") / "deals.xlsx"
    workbook.save(path)
    try:
        by_openpyxl: Read | str = read_with("openpyxl", path)
    except ExportError as error:
        by_openpyxl = str(error)
    try:
        by_calamine: Read | str = read_with("calamine", path)
    except ExportError as error:
        by_calamine = str(error)
    assert by_calamine == by_openpyxl


# --- what calamine cannot see: known, pinned differences ----------------------


def test_error_cells_are_empty_on_the_calamine_path(in_tmp: Path) -> None:
    """python-calamine reads #N/A and the like as empty cells (its issue #105)."""
    save(in_tmp / "deals.xlsx", [["Deal", "Amount"], ["Acme", "#N/A"], ["Beta", 5]])
    assert cells(read_with("openpyxl", "deals.xlsx"))[0] == (2, ("Acme", "#N/A"))
    assert cells(read_with("calamine", "deals.xlsx"))[0] == (2, ("Acme", None))


def test_text_without_preserved_spaces_is_trimmed_on_the_calamine_path(in_tmp: Path) -> None:
    """calamine applies XML's rule: spaces around text not marked xml:space="preserve" go."""
    save(in_tmp / "deals.xlsx", [["Deal", "Note"], ["Acme", " "]])
    assert cells(read_with("openpyxl", "deals.xlsx")) == [(2, ("Acme", " "))]
    assert cells(read_with("calamine", "deals.xlsx")) == [(2, ("Acme", None))]


def test_formatted_empty_rows_below_the_data_are_not_counted_on_the_calamine_path(
    in_tmp: Path,
) -> None:
    """openpyxl yields every row the sheet lists; calamine stops at the last value."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["Deal", "Stage"])
    workbook.active.append(["Acme", "Won"])
    workbook.active["A5"].number_format = "0.00"
    workbook.save(in_tmp / "deals.xlsx")
    by_openpyxl = read_with("openpyxl", "deals.xlsx")
    by_calamine = read_with("calamine", "deals.xlsx")
    assert by_calamine.rows == by_openpyxl.rows
    assert (by_openpyxl.blank_rows, by_calamine.blank_rows) == (3, 0)
