"""What every Excel workbook shares: number formats, sheets as tables, the funnel chart,
and deterministic bytes (the report's and the plan's sheets are in ``xlsx_report`` and
``xlsx_plan``).

Every figure is taken from the JSON dict (:func:`plan_to_dict`, :func:`report_to_dict`),
so a workbook never disagrees with ``--format json``. Text from the CRM or the funnel
file goes through :func:`neutralise` (openpyxl would store ``=...`` as a live formula).
The bytes are deterministic: fixed document dates and fixed times inside the zip.

openpyxl is imported here only (and in the two modules above), and the CLI imports them
only for ``.xlsx``.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from funnelcli.render.neutralise import neutralise

PERCENT = "0.0%"
MONEY = "#,##0.00"
COUNT = "#,##0"
DAYS = "#,##0.0"
TENTHS = "#,##0.0"
RATIO = '0.00"x"'
DATE = "yyyy-mm-dd"

FIXED_TIME = dt.datetime(1980, 1, 1)
"""Created and modified date of every workbook, so two runs give equal bytes (zip's earliest date)."""

MAX_CELL_TEXT = 32_767
"""Excel's limit on a cell's characters; a longer value makes Excel "repair" the file."""

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_MIN_WIDTH = 8
_MAX_WIDTH = 60


@dataclass(frozen=True)
class Formatted:
    """A value with its own number format (the Summary sheet mixes counts, money and rates)."""

    value: object
    number_format: str


@dataclass(frozen=True)
class Column:
    title: str
    number_format: str | None = None


# --- sheets -------------------------------------------------------------------------------


def new_workbook(title: str) -> Any:
    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.title = _text(title)
    workbook.properties.creator = "funnelcli"
    return workbook


def add_table(
    workbook: Any,
    name: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[object]],
    notes: Sequence[tuple[str, str]] = (),
    sections: Sequence[tuple[Sequence[Column], Sequence[Sequence[object]]]] = (),
) -> Any:
    """A sheet: a bold frozen header, one row per item, then free-text notes below, then
    each section (a table of its own, with a bold header) after a blank row."""
    sheet = workbook.create_sheet(name)
    sheet.freeze_panes = "A2"
    widths: list[int] = []
    _rows_with_header(sheet, columns, rows, widths)
    if notes:
        sheet.append([])
        for label, text in notes:
            sheet.append([_cell_value(label), _cell_value(text)])
    for section_columns, section_rows in sections:
        sheet.append([])
        _rows_with_header(sheet, section_columns, section_rows, widths)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(
            _MAX_WIDTH, max(_MIN_WIDTH, width + 2)
        )
    return sheet


def _rows_with_header(
    sheet: Any, columns: Sequence[Column], rows: Iterable[Sequence[object]], widths: list[int]
) -> None:
    """Append a bold header and the rows; ``widths`` grows to the widest cell per column."""
    sheet.append([column.title for column in columns])
    for cell in sheet[sheet.max_row][: len(columns)]:
        cell.font = Font(bold=True)
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
    if number_format == PERCENT:
        return len(f"{value:.1%}")
    if number_format in (MONEY, DAYS, TENTHS):
        return len(f"{value:,.2f}")
    if number_format == RATIO:
        return len(f"{value:,.2f}x")
    return len(f"{value:,}")


def add_funnel_chart(sheet: Any, column: int, stage_count: int, series: str) -> None:
    """A horizontal bar chart of one column, first stage at the top, beside the table."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = f"{series} per stage"
    chart.legend = None
    data = Reference(sheet, min_col=column, min_row=1, max_row=stage_count + 1)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=stage_count + 1))
    chart.x_axis.scaling.orientation = "maxMin"  # the funnel's top stage first
    # openpyxl 3.1 leaves the axes' delete flag unset, which Excel reads as "hidden".
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.number_format = COUNT
    chart.height = max(7.5, 1.2 * stage_count + 3)
    chart.width = 16
    sheet.add_chart(chart, f"{get_column_letter(sheet.max_column + 2)}2")


def column_title(key: str) -> str:
    return key.replace("_", " ").capitalize()


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
