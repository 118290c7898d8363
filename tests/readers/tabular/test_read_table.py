"""Tests for funnelcli.readers.tabular: CSV and XLSX files into a header and rows."""

from __future__ import annotations

import csv
import datetime
import io
import os
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.chart import BarChart, Reference

from funnelcli.errors import ExportError
from funnelcli.readers.tabular.csv_rows import FIELD_SIZE_LIMIT
from funnelcli.readers.tabular.read import read_table
from funnelcli.readers.tabular.table import Cell, Table

from ... import conftest
from ...conftest import ROOT, THEIRS, line_matching
from ...processes import run

DATA = conftest.DATA / "tabular"
SRC = ROOT / "src"


@pytest.fixture
def in_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in the data folder, so messages name the file as a user would type it."""
    monkeypatch.chdir(DATA)


@pytest.fixture
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def rows_of(table: Table) -> list[tuple[int, tuple[Cell, ...]]]:
    return list(table.rows)


def error_of(path: str, *, sheet: str | None = None, encoding: str | None = None) -> str:
    with pytest.raises(ExportError) as caught:
        read_table(path, sheet=sheet, encoding=encoding)
    return str(caught.value)


# --- encodings ---------------------------------------------------------------

HUBSPOT_HEADER = ("Record ID", "Deal Name", "Deal Stage", "Amount", "Close Date")
HUBSPOT_ROWS = [
    (2, ("1", "Café Crème", "closedwon", "100", "2024-08-27 14:03")),
    (3, ("2", "Straße GmbH", "appointmentscheduled", "200.5", "2024-09-01 09:00")),
]


def test_utf8_without_bom() -> None:
    table = read_table(DATA / "hubspot_utf8.csv")
    assert (table.kind, table.encoding, table.delimiter, table.sheet) == ("csv", "utf-8", ",", None)
    assert table.header == HUBSPOT_HEADER
    assert (table.header_row, table.title_rows) == (1, 0)
    assert rows_of(table) == HUBSPOT_ROWS


def test_utf8_with_bom_reads_the_first_header_without_the_bom() -> None:
    table = read_table(DATA / "hubspot_utf8_bom.csv")
    assert table.encoding == "utf-8-sig"
    assert table.header[0] == "Record ID"
    assert rows_of(table) == HUBSPOT_ROWS


def test_bom_is_removed_from_the_header_even_when_utf8_is_given() -> None:
    table = read_table(DATA / "hubspot_utf8_bom.csv", encoding="utf-8")
    assert table.encoding == "utf-8"
    assert table.header == HUBSPOT_HEADER


def test_utf16_with_bom_is_excels_unicode_text_with_tabs() -> None:
    table = read_table(DATA / "excel_unicode_text.txt")
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")
    assert table.header == ("Deal Name", "Amount", "Owner")
    assert rows_of(table) == [(2, ("Café, Inc.", "1200", "José")), (3, ("Beta", "300", "Mia"))]


def test_utf16_without_bom_is_recognised_by_its_nul_bytes(in_tmp: Path) -> None:
    (in_tmp / "deals.csv").write_bytes("Name,Stage\r\nAcme,Won\r\n".encode("utf-16-le"))
    table = read_table("deals.csv")
    assert table.encoding == "utf-16-le"
    assert table.header == ("Name", "Stage")
    assert rows_of(table) == [(2, ("Acme", "Won"))]


def test_cp1252_with_e_acute_and_euro_and_semicolons() -> None:
    table = read_table(DATA / "european_cp1252.csv")
    assert (table.encoding, table.delimiter) == ("cp1252", ";")
    assert table.header == ("Deal Name", "Amount", "Stage")
    assert rows_of(table) == [
        (2, ("Café Amélie", "12,50 €", "Closed Won")),
        (3, ("Beta", "1.234,00 €", "Prospecting")),
    ]


def test_bytes_cp1252_leaves_undefined_decode_as_latin1(in_tmp: Path) -> None:
    (in_tmp / "deals.csv").write_bytes(b"Name,Code\nAcme,\x81\x8d\x8f\x90\x9d\xe9\n")
    table = read_table("deals.csv")
    assert table.encoding == "cp1252"
    assert rows_of(table) == [(2, ("Acme", "\x81\x8d\x8f\x90\x9dé"))]


def test_a_wrong_encoding_names_the_line_even_far_into_the_file(in_tmp: Path) -> None:
    good_rows = b"Acme,Won,1\n" * 3000
    (in_tmp / "deals.csv").write_bytes(b"Name,Stage,Amount\n" + good_rows + b"Caf\xe9,Won,2\n")
    table = read_table("deals.csv", encoding="utf-8")
    with pytest.raises(ExportError) as caught:
        rows_of(table)
    assert str(caught.value) == (
        "deals.csv: line 3002: byte E9 is not valid utf-8; "
        "try --encoding cp1252, or leave --encoding out to detect it"
    )
    detected = read_table("deals.csv")
    assert detected.encoding == "cp1252"
    assert rows_of(detected)[-1] == (3002, ("Café", "Won", "2"))


def test_a_wrong_encoding_in_the_first_rows_fails_at_once(in_data: None) -> None:
    assert error_of("european_cp1252.csv", encoding="utf-8") == (
        "european_cp1252.csv: line 2: byte E9 is not valid utf-8; "
        "try --encoding cp1252, or leave --encoding out to detect it"
    )


def test_an_unknown_encoding(in_data: None) -> None:
    assert error_of("hubspot_utf8.csv", encoding="klingon") == (
        "hubspot_utf8.csv: unknown encoding 'klingon'; use one such as utf-8, cp1252 or utf-16"
    )


def test_a_codec_that_is_not_a_text_encoding(in_data: None) -> None:
    assert error_of("hubspot_utf8.csv", encoding="hex") == (
        "hubspot_utf8.csv: unknown encoding 'hex'; use one such as utf-8, cp1252 or utf-16"
    )


def test_given_encoding_is_used() -> None:
    table = read_table(DATA / "european_cp1252.csv", encoding="latin-1")
    assert table.encoding == "latin-1"
    assert rows_of(table)[0] == (2, ("Café Amélie", "12,50 \x80", "Closed Won"))


# --- delimiters, quoting, line ends ------------------------------------------


def test_semicolon_wins_over_unquoted_decimal_commas() -> None:
    table = read_table(DATA / "semicolon_decimal_comma.csv")
    assert table.delimiter == ";"
    assert table.header == ("Name", "Amount", "Stage")
    assert [cells for _, cells in table.rows] == [
        ("Acme", "12,50", "Won"),
        ("Beta", "3,00", "Lost"),
        ("Gamma", "7", "Open"),
    ]


def test_tab_wins_over_commas_inside_values() -> None:
    table = read_table(DATA / "tab_separated.tsv")
    assert table.delimiter == "\t"
    assert table.header == ("Deal - Title", "Deal - Value", "Deal - Status")
    assert rows_of(table) == [
        (2, ("Smith, John", "1,000", "Won")),
        (3, ("Doe, Jane", "2,000", "Lost")),
    ]


def test_pipe_delimiter(in_tmp: Path) -> None:
    (in_tmp / "deals.csv").write_text("Name|Stage\nAcme|Won\n")
    table = read_table("deals.csv")
    assert table.delimiter == "|"
    assert rows_of(table) == [(2, ("Acme", "Won"))]


def test_quoted_fields_keep_newlines_commas_and_quotes_and_rows_number_their_first_line() -> None:
    table = read_table(DATA / "quoted_multiline.csv")
    assert table.header == ("Deal Name", "Notes", "Amount")
    assert rows_of(table) == [
        (2, ("Acme", "first line\r\nsecond line, with comma", "100")),
        (4, ("Beta, Inc.", 'say "hi"', "200")),
        (5, ("Gamma", "", "300")),
    ]


def test_mixed_line_endings() -> None:
    table = read_table(DATA / "mixed_line_endings.csv")
    assert rows_of(table) == [(2, ("Acme", "Won")), (3, ("Beta", "Lost")), (4, ("Gamma", "Open"))]


def test_nul_bytes_are_stripped() -> None:
    table = read_table(DATA / "nul_bytes.csv")
    assert rows_of(table) == [(2, ("Acme", "Won", "1")), (3, ("Beta", "Lost", "2"))]


def test_a_field_of_exactly_the_limit_is_read(in_tmp: Path) -> None:
    (in_tmp / "deals.csv").write_text("Name,Notes\nAcme," + "x" * FIELD_SIZE_LIMIT + "\n")
    [(number, (name, notes))] = rows_of(read_table("deals.csv"))
    assert (number, name, len(notes)) == (2, "Acme", FIELD_SIZE_LIMIT)


def test_a_field_over_the_limit(in_tmp: Path) -> None:
    huge = "x" * (FIELD_SIZE_LIMIT + 1)
    (in_tmp / "deals.csv").write_text("Name,Notes\nAcme,short\nBeta," + huge + "\n")
    assert error_of("deals.csv") == (
        "deals.csv: row 3: a field is larger than 10 MiB; is this really a CSV export?"
    )


# --- header, blank, footer and ragged rows -----------------------------------


def test_salesforce_csv_footer_rows_are_counted_not_yielded() -> None:
    table = read_table(DATA / "salesforce_report.csv")
    assert table.header == (
        "Stage",
        "Opportunity Name",
        "Amount",
        "Close Date",
        "Opportunity ID",
        "Opportunity ID",
    )
    assert rows_of(table) == [
        (2, ("Prospecting", "Acme", "USD 485,000.00", "10/16/2025", "006A", "006A")),
        (3, ("Closed Won", "Total Solutions Inc", "USD 1,000.00", "16/10/2025", "006B", "006B")),
    ]
    assert (table.stats.blank_rows, table.stats.footer_rows) == (1, 3)
    assert table.stats.footer_text == "Total"


def test_stats_fill_while_rows_are_consumed() -> None:
    table = read_table(DATA / "salesforce_report.csv")
    assert (table.stats.blank_rows, table.stats.footer_rows) == (0, 0)
    next(table.rows)
    assert (table.stats.blank_rows, table.stats.footer_rows) == (0, 0)
    rows_of(table)
    assert (table.stats.blank_rows, table.stats.footer_rows) == (1, 3)


def test_footer_words_start_footer_rows_anywhere_but_not_wide_data_rows() -> None:
    table = read_table(DATA / "footer_in_middle.csv")
    assert rows_of(table) == [
        (2, ("Acme", "Won", "1", "Mia", "EU")),
        (4, ("Total Solutions Inc", "Lost", "2", "Ann", "US")),
    ]
    assert (table.stats.footer_rows, table.stats.footer_text) == (3, "Grand Total")


def test_footer_after_leading_empty_cells(in_tmp: Path) -> None:
    (in_tmp / "deals.csv").write_text("Name,Stage,Amount\nAcme,Won,1\n,Total,1\n")
    table = read_table("deals.csv")
    assert rows_of(table) == [(2, ("Acme", "Won", "1"))]
    assert (table.stats.footer_rows, table.stats.footer_text) == (1, "Total")


def test_title_rows_above_a_csv_header() -> None:
    table = read_table(DATA / "title_rows.csv")
    assert table.header == ("Stage", "Opportunity Name", "Amount", "Close Date", "Owner")
    assert (table.header_row, table.title_rows) == (4, 2)
    assert rows_of(table) == [
        (5, ("Closed Won", "Acme", "100", "2025-10-16", "Mia")),
        (6, ("Closed Won", "Beta", "200", "2025-10-17", "Ann")),
    ]


def test_a_header_score_of_zero_everywhere_falls_back_to_the_shape_rule() -> None:
    table = read_table(DATA / "title_rows.csv", header_score=lambda cells: 0)
    assert (table.header_row, table.title_rows) == (4, 2)
    assert table.header == ("Stage", "Opportunity Name", "Amount", "Close Date", "Owner")


def test_header_score_beats_the_shape_rule(in_tmp: Path) -> None:
    # The title row is as wide as half the table, so the shape rule takes it; a later row
    # that scores higher and fills more cells is the header.
    (in_tmp / "deals.csv").write_text("Report,Deals by stage\nStage,Amount,Owner\nWon,1,Mia\n")
    assert read_table("deals.csv").header == ("Report", "Deals by stage")
    table = read_table("deals.csv", header_score=lambda cells: int("Stage" in cells))
    assert (table.header, table.header_row, table.title_rows) == (
        ("Stage", "Amount", "Owner"),
        2,
        1,
    )
    assert rows_of(table) == [(3, ("Won", "1", "Mia"))]


def test_a_later_row_no_wider_does_not_replace_the_first(in_tmp: Path) -> None:
    # Scoring higher is not enough: a row as wide as the first is as likely a data row
    # of text (a header of names nobody knows above it).
    (in_tmp / "deals.csv").write_text("Report,Deals by stage\nStage,Amount\nWon,Big\n")
    table = read_table("deals.csv", header_score=lambda cells: int("Stage" in cells))
    assert (table.header, table.header_row) == (("Report", "Deals by stage"), 1)


def test_a_row_of_data_never_wins_over_an_earlier_row_of_text(in_tmp: Path) -> None:
    # Row 2 scores 2 (its cells are known names) but holds an amount and a date.
    (in_tmp / "deals.csv").write_text(
        'Fase,Valor,Fecha\nWon,"USD 1,000.00",2025-01-03\nPipeline,Won,3/01/2025\n'
    )

    def score(cells: Sequence[str]) -> int:
        return sum(cell in ("Won", "Pipeline") for cell in cells)

    table = read_table("deals.csv", header_score=score)
    assert (table.header, table.header_row) == (("Fase", "Valor", "Fecha"), 1)


def test_blank_lines_in_the_middle_are_counted_not_yielded() -> None:
    table = read_table(DATA / "blank_lines.csv")
    assert rows_of(table) == [
        (2, ("Acme", "Won", "1")),
        (5, ("Beta", "Lost", "2")),
        (8, ("Gamma", "Open", "3")),
    ]
    assert table.stats.blank_rows == 4


def test_trailing_delimiters_are_dropped_extra_values_kept() -> None:
    table = read_table(DATA / "trailing_delimiters.csv")
    assert table.header == ("Name", "Stage", "Amount")
    assert rows_of(table) == [
        (2, ("Acme", "Won", "1")),
        (3, ("Beta", "Lost", "2")),
        (4, ("Gamma", "Open", "3", "", "extra")),
    ]


def test_short_rows_are_padded_with_empty_text() -> None:
    table = read_table(DATA / "short_rows.csv")
    assert rows_of(table) == [
        (2, ("Acme", "Won", "", "")),
        (3, ("Beta", "", "", "")),
        (4, ("Gamma", "Open", "3", "Mia")),
    ]


def test_no_header_row(in_data: None) -> None:
    assert error_of("no_header.csv") == (
        "no_header.csv: no header row in the first 50 non-blank rows "
        "(a header row has at least two text cells); export the deals with a header row"
    )


def test_only_blank_lines(in_data: None) -> None:
    assert error_of("only_blank_lines.csv") == (
        "only_blank_lines.csv: the file has only blank lines; export the deals with a header row"
    )


def test_the_header_search_stops_after_50_non_blank_rows(in_tmp: Path) -> None:
    (in_tmp / "deals.csv").write_text("Note\n" * 50 + "Name,Stage\n")
    assert error_of("deals.csv").startswith("deals.csv: no header row in the first 50 non-blank")
    (in_tmp / "deals.csv").write_text("Note\n" * 49 + "Name,Stage\nAcme,Won\n")
    table = read_table("deals.csv")
    assert (table.header_row, table.title_rows) == (50, 49)
    assert rows_of(table) == [(51, ("Acme", "Won"))]


def test_rows_stream_past_the_lookahead(in_tmp: Path) -> None:
    body = "".join(f"Deal {number},Won,{number}\n" for number in range(1, 501))
    (in_tmp / "deals.csv").write_text("Name,Stage,Amount\n" + body + "\nTotal,,125250\n")
    table = read_table("deals.csv")
    rows = rows_of(table)
    assert len(rows) == 500
    assert rows[49] == (51, ("Deal 50", "Won", "50"))
    assert rows[-1] == (501, ("Deal 500", "Won", "500"))
    assert (table.stats.blank_rows, table.stats.footer_rows) == (1, 1)


# --- what the file is --------------------------------------------------------


def test_empty_file(in_data: None) -> None:
    assert (
        error_of("empty.csv") == "empty.csv: the file is empty; export the deals with a header row"
    )


@pytest.mark.parametrize("name", ["png_renamed.csv", "png_renamed.xlsx"])
def test_png_bytes_whatever_the_name(in_data: None, name: str) -> None:
    assert error_of(name) == (
        f"{name}: not a CSV or XLSX file (starts with bytes 89 50 4E 47, a PNG image); "
        "export the deals as CSV or XLSX"
    )


def test_other_binary_data(in_tmp: Path) -> None:
    (in_tmp / "deals.csv").write_bytes(bytes(range(256)) * 4)
    assert error_of("deals.csv") == (
        "deals.csv: not a CSV or XLSX file (starts with bytes 00 01 02 03, binary data); "
        "export the deals as CSV or XLSX"
    )


def test_old_xls(in_data: None) -> None:
    assert error_of("old_excel.xls") == (
        "old_excel.xls: an old Excel 97-2003 .xls workbook, which cannot be read; "
        "open it in Excel and save it as .xlsx or CSV"
    )


def test_missing_file(in_tmp: Path) -> None:
    expected = line_matching("nowhere.csv: cannot read the file (", THEIRS, "); check the path")
    assert expected.fullmatch(error_of("nowhere.csv"))  # the OS's reason: any


def test_a_csv_named_xlsx_is_read_as_csv(in_tmp: Path) -> None:
    (in_tmp / "deals.xlsx").write_text("Name,Stage\nAcme,Won\n")
    table = read_table("deals.xlsx")
    assert (table.kind, table.header) == ("csv", ("Name", "Stage"))


def test_an_xlsx_named_csv_is_read_as_xlsx(in_tmp: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["Name", "Stage"])
    workbook.active.append(["Acme", "Won"])
    workbook.save(in_tmp / "deals.xlsx")
    (in_tmp / "deals.xlsx").rename(in_tmp / "deals.csv")
    table = read_table("deals.csv")
    assert (table.kind, table.header) == ("xlsx", ("Name", "Stage"))
    assert rows_of(table) == [(2, ("Acme", "Won"))]


def test_reading_a_csv_does_not_import_openpyxl() -> None:
    script = (
        "import sys\n"
        "from funnelcli.readers.tabular.read import read_table\n"
        f"table = read_table({str(DATA / 'hubspot_utf8.csv')!r})\n"
        "print(len(list(table.rows)), 'openpyxl' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    result = run([sys.executable, "-c", script], env=env)
    assert (result.returncode, result.stdout) == (0, "2 False\n"), result.stderr


# --- XLSX --------------------------------------------------------------------

CLOSE_1 = datetime.datetime(2025, 10, 16)
CLOSE_2 = datetime.datetime(2025, 11, 3)


def salesforce_formatted_workbook(path: Path) -> None:
    """A formatted Salesforce report: title rows, the table, a total and a notice."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Opportunity Pipeline"
    sheet.append(["Opportunity Pipeline"])
    sheet.append(["Filtered By:"])
    sheet.append(["Generated by Jane Doe, 16/10/2025 10:03"])
    sheet.append(["Stage", "Opportunity Name", "Amount", "Close Date", "Probability (%)"])
    sheet.append(["Prospecting", "Acme", 485000.5, CLOSE_1, 10])
    sheet.append(["Closed Won", "Beta"])
    sheet.append(["Negotiation", "Gamma", 1200, CLOSE_2, 90, None, None])
    sheet.append([])
    sheet.append(["Total", None, 486200.5])
    sheet.append(["Confidential Information - Do Not Distribute"])
    workbook.create_sheet("Notes").append(["Note", "Author"])
    workbook.save(path)


def test_salesforce_formatted_xlsx(in_tmp: Path) -> None:
    salesforce_formatted_workbook(in_tmp / "pipeline.xlsx")
    table = read_table("pipeline.xlsx")
    assert (table.kind, table.sheet, table.encoding, table.delimiter) == (
        "xlsx",
        "Opportunity Pipeline",
        None,
        None,
    )
    assert table.header == ("Stage", "Opportunity Name", "Amount", "Close Date", "Probability (%)")
    assert (table.header_row, table.title_rows) == (4, 3)
    assert rows_of(table) == [
        (5, ("Prospecting", "Acme", 485000.5, CLOSE_1, 10)),
        (6, ("Closed Won", "Beta", None, None, None)),
        (7, ("Negotiation", "Gamma", 1200, CLOSE_2, 90)),
    ]
    assert (table.stats.blank_rows, table.stats.footer_rows) == (1, 2)
    assert table.stats.footer_text == "Total"


def test_sheet_by_name_case_insensitive(in_tmp: Path) -> None:
    salesforce_formatted_workbook(in_tmp / "pipeline.xlsx")
    table = read_table("pipeline.xlsx", sheet="NOTES")
    assert (table.sheet, table.header, table.header_row) == ("Notes", ("Note", "Author"), 1)
    assert rows_of(table) == []


def test_missing_sheet(in_tmp: Path) -> None:
    salesforce_formatted_workbook(in_tmp / "pipeline.xlsx")
    assert error_of("pipeline.xlsx", sheet="Foo") == (
        "pipeline.xlsx: no sheet named 'Foo'; the sheets are: Opportunity Pipeline, Notes"
    )


def chart_workbook(path: Path, *, keep_data_sheet: bool) -> None:
    workbook = openpyxl.Workbook()
    data = workbook.active
    data.title = "Deals"
    data.append([1])
    data.append([2])
    chart = BarChart()
    chart.add_data(Reference(data, min_col=1, min_row=1, max_row=2))
    workbook.create_chartsheet("Chart1").add_chart(chart)
    if not keep_data_sheet:
        workbook.remove(data)
    workbook.save(path)


def test_a_chart_sheet_is_not_a_table(in_tmp: Path) -> None:
    chart_workbook(in_tmp / "deals.xlsx", keep_data_sheet=True)
    assert error_of("deals.xlsx", sheet="chart1") == (
        "deals.xlsx: sheet 'chart1' is a chart, not a table; the sheets are: Deals"
    )


def test_a_workbook_of_only_charts(in_tmp: Path) -> None:
    chart_workbook(in_tmp / "deals.xlsx", keep_data_sheet=False)
    assert error_of("deals.xlsx") == (
        "deals.xlsx: the workbook has only chart sheets, no worksheet; "
        "export the deals as a table in CSV or XLSX"
    )


def test_truncated_xlsx(in_tmp: Path) -> None:
    salesforce_formatted_workbook(in_tmp / "whole.xlsx")
    whole = (in_tmp / "whole.xlsx").read_bytes()
    (in_tmp / "deals.xlsx").write_bytes(whole[: len(whole) // 2])
    assert error_of("deals.xlsx") == (
        "deals.xlsx: not a readable XLSX file (the ZIP container is damaged or truncated); "
        "re-export it"
    )


def test_a_zip_that_is_not_a_workbook(in_tmp: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("deals.csv", "Name,Stage\n")
    (in_tmp / "deals.xlsx").write_bytes(buffer.getvalue())
    message = error_of("deals.xlsx")
    assert message.startswith("deals.xlsx: not a readable XLSX file (")
    assert message.endswith("); re-export it")
    assert "\n" not in message


def test_an_empty_sheet(in_tmp: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "Deals"
    workbook.save(in_tmp / "deals.xlsx")
    assert error_of("deals.xlsx") == (
        "deals.xlsx: sheet 'Deals' is empty; export the deals with a header row"
    )


def test_xlsx_missing_rows_keep_excel_numbers_and_times_become_text(in_tmp: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for column, name in enumerate(["Name", "Won", "Time", "Due"], start=1):
        sheet.cell(row=2, column=column, value=name)
    sheet.cell(row=3, column=1, value="Acme")
    sheet.cell(row=3, column=2, value=True)
    sheet.cell(row=3, column=3, value=datetime.time(14, 3))
    sheet.cell(row=6, column=1, value="Beta")
    sheet.cell(row=6, column=4, value=datetime.date(2025, 1, 31))
    workbook.save(in_tmp / "deals.xlsx")
    table = read_table("deals.xlsx")
    assert (table.header_row, table.title_rows) == (2, 0)
    assert rows_of(table) == [
        (3, ("Acme", True, "14:03:00", None)),
        (6, ("Beta", None, None, datetime.datetime(2025, 1, 31))),
    ]
    assert table.stats.blank_rows == 2


def test_xlsx_zero_cells_are_not_blank(in_tmp: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["Amount", "Count"])
    workbook.active.append([0, 0])
    workbook.save(in_tmp / "deals.xlsx")
    assert rows_of(read_table("deals.xlsx")) == [(2, (0, 0))]


# --- closing -----------------------------------------------------------------


def open_paths() -> set[str]:
    folder = Path("/proc/self/fd")
    paths = set()
    for entry in folder.iterdir():
        try:
            paths.add(os.readlink(entry))
        except OSError:
            continue
    return paths


needs_proc = pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")


@needs_proc
def test_xlsx_file_is_closed_when_the_rows_end(in_tmp: Path) -> None:
    salesforce_formatted_workbook(in_tmp / "pipeline.xlsx")
    path = str(in_tmp / "pipeline.xlsx")
    table = read_table(path)
    assert path in open_paths()
    rows_of(table)
    assert path not in open_paths()


@needs_proc
def test_with_closes_a_csv_left_half_read(in_tmp: Path) -> None:
    path = str(DATA / "salesforce_report.csv")
    with read_table(path) as table:
        next(table.rows)
        assert path in open_paths()
    assert path not in open_paths()


@needs_proc
def test_a_failed_read_leaves_no_file_open(in_tmp: Path) -> None:
    salesforce_formatted_workbook(in_tmp / "pipeline.xlsx")
    path = str(in_tmp / "pipeline.xlsx")
    with pytest.raises(ExportError):
        read_table(path, sheet="Foo")
    assert path not in open_paths()


# --- property: what csv.writer writes, read_table reads back ------------------

CELL_TEXT = st.text(alphabet='abé ,;|\t"\r\n0', max_size=6)


@settings(max_examples=60)
@given(
    rows=st.lists(st.lists(CELL_TEXT, min_size=3, max_size=3), max_size=30),
    style=st.sampled_from(
        # csv.writer quotes a lone \r only when it is part of the line terminator.
        [("\r\n", csv.QUOTE_MINIMAL), ("\r\n", csv.QUOTE_ALL), ("\n", csv.QUOTE_ALL)]
    ),
)
def test_csv_round_trip(rows: list[list[str]], style: tuple[str, int]) -> None:
    line_end, quoting = style
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator=line_end, quoting=quoting)
    writer.writerow(["Name", "Stage", "Amount"])
    expected = []
    for cells in rows:
        first_line = len(text.getvalue().splitlines()) + 1
        writer.writerow(cells)
        if any(cells):
            expected.append((first_line, tuple(cells)))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "deals.csv"
        path.write_bytes(text.getvalue().encode("utf-8"))
        table = read_table(path)
        assert (table.header, table.delimiter) == (("Name", "Stage", "Amount"), ",")
        assert rows_of(table) == expected
        assert table.stats.blank_rows == len(rows) - len(expected)


@pytest.mark.parametrize(
    ("head", "binary"),
    [
        (b"a,b\n" + b"\x1b" * 7 + b"\n", False),  # fewer than 8 control bytes: text
        (b"a,b\n" + b"\x1b" * 8 + b"\n", True),  # 8 in 13 bytes
        (b"\x07" * 8 + b"x" * 792, False),  # 8 in 800: 1%, not more
        (b"\x07" * 9 + b"x" * 791, True),  # 9 in 800
        (b"\x00" * 50 + b"a,b\n", False),  # NUL bytes are counted apart (stripped from text)
        (b"a\tb\x0b\x0c\r\n" * 20, False),  # tab, line ends, vertical tab, form feed
    ],
)
def test_binary_data_is_over_one_percent_and_eight_control_bytes(head: bytes, binary: bool) -> None:
    from funnelcli.readers.tabular.kind import _is_binary

    assert _is_binary(head) is binary
