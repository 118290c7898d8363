"""What every Excel workbook shares: the Summary sheet with its funnel chart, sheets as
tables, number formats, print set-up and deterministic bytes (the report's and the plan's
sheets are in ``xlsx_report`` and ``xlsx_plan``).

A workbook opens on its Summary: the headline figures in two narrow columns (label,
value) and, beside them from column D, a native bar chart of the funnel, sized to show
whole in a 1280x800 window. Every further table is a sheet of its own with a frozen bold
header. Figures are numbers with number formats (money in the funnel's currency, rates as
fractions shown ``0.0%``), so a user can compute with them.

Every figure is taken from the JSON dict (:func:`plan_to_dict`, :func:`report_to_dict`),
so a workbook never disagrees with ``--format json``. Text from the CRM or the funnel
file goes through :func:`neutralise` (openpyxl would store ``=...`` as a live formula),
and files are named without their directories (:func:`file_name`). The bytes are
deterministic: fixed document dates and fixed times inside the zip.

openpyxl is imported here only (and in the two modules above), and the CLI imports them
only for ``.xlsx``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.writer.excel import ExcelWriter

from funnelcli.render.neutralise import neutralise
from funnelcli.values import format_money

PERCENT = "0.0%"
POINTS = "+0.0%;-0.0%;0.0%"
"""A change of a rate, in percentage points (a fraction, so +0.05 shows ``+5.0%``)."""
MONEY = "#,##0.00"
COUNT = "#,##0"
CHANGE = "+#,##0;-#,##0;0"
DAYS = "#,##0.0"
DAYS_CHANGE = "+#,##0.0;-#,##0.0;0.0"
TENTHS = "#,##0.0"
RATIO = '0.00"x"'
DATE = "yyyy-mm-dd"

FIXED_TIME = dt.datetime(1980, 1, 1)
"""Created and modified date of every workbook, so two runs give equal bytes (zip's earliest date)."""

MAX_CELL_TEXT = 32_767
"""Excel's limit on a cell's characters; a longer value makes Excel "repair" the file."""

SUMMARY_LABEL_WIDTH = 24
SUMMARY_LABEL_MAX_WIDTH = 41
SUMMARY_VALUE_WIDTH = 42
"""The Summary's two columns, in characters: the labels' as wide as the longest (within
these bounds), the values' fixed, so that the chart beside them (from column D) still
shows whole in a 1280x800 window at 100% zoom."""

CHART_ANCHOR = "D2"
CHART_WIDTH_CM = 14.0
CHART_HEIGHT_CM = 8.5
"""The funnel chart beside the headline: about 530 x 320 pixels, right of 380 to 610
pixels of labels and values (and the row numbers), so it ends before 1,170 pixels across
and near 340 down: inside a 1280x800 window (tests/render/test_xlsx.py checks it)."""

CHART_LAST_COLUMN = "L"
CHART_ROWS = 20
"""The cells the chart covers (default column width 64 pixels, row height 20 pixels)."""

WIDE_SHEET_COLUMNS = 7
"""A table with more columns than this prints landscape, fitted to one page's width."""

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_MIN_WIDTH = 8
_MAX_WIDTH = 60
_LINE_HEIGHT = 15.0
# Named as the workbook's default font: a font without a name shows in a serif elsewhere.
_BOLD = Font(name="Calibri", size=11, bold=True)
_WARNING = Font(name="Calibri", size=11, bold=True, color="C00000")
_SECTION = Font(name="Calibri", size=11, bold=True, italic=True)
_TITLE = Font(name="Calibri", size=13, bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class Formatted:
    """A value with its own number format (the Summary sheet mixes counts, money and rates)."""

    value: object
    number_format: str


@dataclass(frozen=True)
class Column:
    title: str
    number_format: str | None = None


@dataclass(frozen=True)
class Sentence:
    """A Summary value that is a sentence: wrapped in the value column, the row made tall."""

    text: str
    warning: bool = False


SECTION = object()
"""A Summary row's value that makes its label a section heading (``More figures``)."""


def file_name(path: str | None) -> str | None:
    """The file's name without the directories: a forwarded workbook names no machine path."""
    return None if path is None else PurePath(path).name


def money_format(currency: str | None) -> str:
    """Money in the funnel's currency: ``"$"#,##0.00`` for USD, ``#,##0.00 "SEK"`` for a
    code without a symbol; plain ``#,##0.00`` when the code is not three capital letters
    (text from a file never goes into a number format unchecked)."""
    if currency is None or not _CURRENCY_CODE.fullmatch(currency):
        return MONEY
    shown = format_money(Decimal(1), currency)  # "$1" or "1 SEK": the symbol's side
    if shown.endswith("1"):
        return f'"{shown[:-1]}"{MONEY}'
    return f'{MONEY} "{currency}"'


# --- sheets -------------------------------------------------------------------------------


def new_workbook(title: str) -> Any:
    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.title = _text(title)
    workbook.properties.creator = "funnelcli"
    return workbook


def add_summary(workbook: Any, title: str, funnel: str, rows: Sequence[Sequence[object]]) -> Any:
    """The first sheet, active when the file opens: a title row (frozen), then one
    label-and-value row per figure, in two narrow columns so the chart fits beside them.

    A value may be :class:`Formatted`, a :class:`Sentence` (wrapped, its row made tall
    enough) or :data:`SECTION` (the label becomes a heading)."""
    sheet = workbook.create_sheet("Summary", 0)
    workbook.active = 0
    sheet.append([_cell_value(title), _cell_value(funnel)])
    for cell in sheet[1]:
        cell.font = _TITLE
    sheet.freeze_panes = "A2"
    for label, item in rows:
        _summary_row(sheet, str(label), item)
    longest = max((len(str(label)) for label, _ in rows), default=0)
    sheet.column_dimensions["A"].width = min(
        SUMMARY_LABEL_MAX_WIDTH, max(SUMMARY_LABEL_WIDTH, longest + 1)
    )
    sheet.column_dimensions["B"].width = SUMMARY_VALUE_WIDTH
    sheet.column_dimensions["C"].width = 2
    sheet.sheet_view.showGridLines = False
    _page_setup(sheet, landscape=True)
    return sheet


def _summary_row(sheet: Any, label: str, item: object) -> None:
    if item is SECTION:
        sheet.append([_cell_value(label)])
        sheet.cell(sheet.max_row, 1).font = _SECTION
        return
    if isinstance(item, Sentence):
        sheet.append([_cell_value(label), _cell_value(item.text)])
        row = sheet.max_row
        value = sheet.cell(row, 2)
        value.alignment = _WRAP
        sheet.cell(row, 1).alignment = _TOP
        if item.warning:
            sheet.cell(row, 1).font = value.font = _WARNING
        lines = _wrapped_lines(item.text, SUMMARY_VALUE_WIDTH)
        if lines > 1:
            sheet.row_dimensions[row].height = _LINE_HEIGHT * lines
        return
    value, number_format = _unwrap(item, None)
    sheet.append([_cell_value(label), _cell_value(value)])
    cell = sheet.cell(sheet.max_row, 2)
    cell.alignment = Alignment(horizontal="left")
    if number_format and value is not None and not isinstance(cell.value, str):
        cell.number_format = number_format


def _wrapped_lines(text: str, width: int) -> int:
    """How many lines a wrapped cell of ``width`` characters takes (words kept whole).

    A column's width counts digits; text averages narrower, about 1.1 characters per digit
    in the default font, so a line holds a little more than ``width`` characters."""
    per_line = int(width * 1.1)
    lines, used = 1, 0
    for word in text.split():
        if used and used + 1 + len(word) > per_line:
            lines, used = lines + 1, len(word)
        else:
            used += (1 if used else 0) + len(word)
    return lines


def add_table(
    workbook: Any, name: str, columns: Sequence[Column], rows: Iterable[Sequence[object]]
) -> Any:
    """A sheet: a bold frozen header, one row per item. Columns are as wide as their widest
    cell; a wide table also freezes its first column and prints landscape, one page wide."""
    sheet = workbook.create_sheet(name)
    sheet.freeze_panes = "B2" if len(columns) > WIDE_SHEET_COLUMNS else "A2"
    widths: list[int] = []
    _rows_with_header(sheet, columns, rows, widths)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(
            _MAX_WIDTH, max(_MIN_WIDTH, width + 2)
        )
    _page_setup(sheet, landscape=len(columns) > WIDE_SHEET_COLUMNS)
    return sheet


def _page_setup(sheet: Any, *, landscape: bool) -> None:
    """Print the used range with the header row on every page; a wide sheet landscape,
    fitted to one page's width (as many pages down as it takes)."""
    sheet.print_area = sheet.dimensions
    sheet.print_title_rows = "1:1"
    if landscape:
        sheet.page_setup.orientation = "landscape"
        sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0


def _rows_with_header(
    sheet: Any, columns: Sequence[Column], rows: Iterable[Sequence[object]], widths: list[int]
) -> None:
    """Append a bold header and the rows; ``widths`` grows to the widest cell per column."""
    sheet.append([column.title for column in columns])
    for cell in sheet[sheet.max_row][: len(columns)]:
        cell.font = _BOLD
    widths.extend([0] * (len(columns) - len(widths)))
    for index, column in enumerate(columns):
        widths[index] = max(widths[index], len(column.title))
    for row in rows:
        values = []
        formats: list[str | None] = []
        for column, item in zip(columns, row, strict=True):
            value, number_format = _unwrap(item, column.number_format)
            values.append(_cell_value(value))
            formats.append(number_format)
        sheet.append(values)
        cells = sheet[sheet.max_row][: len(columns)]
        for index, (cell, number_format) in enumerate(zip(cells, formats, strict=True)):
            if number_format and cell.value is not None and not isinstance(cell.value, str):
                cell.number_format = number_format
            widths[index] = max(widths[index], _shown_width(cell.value, number_format))


def _unwrap(item: object, default: str | None) -> tuple[object, str | None]:
    if isinstance(item, Formatted):
        return item.value, item.number_format
    return item, default


def _cell_value(value: object) -> object:
    """Text made safe for a cell; numbers and dates as they are, None as an empty cell."""
    if isinstance(value, str):
        return _text(value)
    return value


def _text(value: str) -> str:
    # Control characters are invalid in the file's XML: openpyxl would refuse the value.
    cleaned = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)[:MAX_CELL_TEXT]
    return neutralise(cleaned)


def _shown_width(value: object, number_format: str | None) -> int:
    """About how many characters the cell shows, for the column's width."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return len(str(value).split("\n")[0])
    if number_format in (PERCENT, POINTS):
        return len(f"{value:+.1%}")
    if number_format == RATIO:
        return len(f"{value:,.2f}x")
    if number_format and "0.00" in number_format:  # money, in any currency's format
        return len(f"{value:,.2f}") + len(number_format) - len(MONEY)
    if number_format in (DAYS, TENTHS, DAYS_CHANGE):
        return len(f"{value:+,.1f}")
    return len(f"{value:+,}")


def add_funnel_chart(summary: Any, source: Any, column: int, stage_count: int, series: str) -> None:
    """A horizontal bar chart of one column of ``source`` (first stage at the top), on the
    Summary beside the headline figures, where it shows without scrolling."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = f"{series} per stage"
    chart.legend = None
    data = Reference(source, min_col=column, min_row=1, max_row=stage_count + 1)
    chart.add_data(data, titles_from_data=True)
    # The stage names are text: a string reference (set_categories would make a numeric one).
    names = Reference(source, min_col=1, min_row=2, max_row=stage_count + 1)
    chart.series[0].cat = AxDataSource(strRef=StrRef(f=str(names)))
    chart.x_axis.scaling.orientation = "maxMin"  # the funnel's top stage first
    # openpyxl 3.1 leaves the axes' delete flag unset, which Excel reads as "hidden". The
    # count axis is hidden on purpose: each bar carries its count as a label.
    chart.x_axis.delete = False
    chart.y_axis.delete = True
    chart.y_axis.majorGridlines = None
    chart.gapWidth = 40
    # Each bar's count as its label, in the Stages cells' own format (#,##0).
    chart.series[0].dLbls = DataLabelList(
        showVal=True, showSerName=False, showCatName=False, showLegendKey=False
    )
    chart.height = CHART_HEIGHT_CM
    chart.width = CHART_WIDTH_CM
    summary.add_chart(chart, CHART_ANCHOR)
    # The print area takes in the chart: from A1 to the column and row past its corner.
    last_row = max(summary.max_row, CHART_ROWS)
    summary.print_area = f"A1:{CHART_LAST_COLUMN}{last_row}"


def to_date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


# --- bytes --------------------------------------------------------------------------------


def workbook_bytes(workbook: Any) -> bytes:
    workbook.properties.created = FIXED_TIME
    workbook.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    # Not workbook.save(): it stamps the modified date with the current time.
    ExcelWriter(workbook, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED)).save()
    return _fixed_zip_times(buffer.getvalue())


def _fixed_zip_times(data: bytes) -> bytes:
    """The same archive with every entry dated :data:`FIXED_TIME` (zip stores local write times)."""
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = entry.external_attr
            target.writestr(fixed, source.read(entry))
    return output.getvalue()
