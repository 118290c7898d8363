"""An XLSX sheet's rows, read by python-calamine when it is installed, else by openpyxl.

The file is checked first (readers/tabular/xlsx_guard.py); see :data:`USE_CALAMINE` for
what differs between the two readers. Either is imported only when an XLSX file is read:
openpyxl's import alone costs about 130 ms, which a CSV report should not pay.
"""

from __future__ import annotations

import contextlib
import datetime
import html
import itertools
import os
import posixpath
import re
import warnings
import zipfile
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from funnelcli.errors import ExportError, shown
from funnelcli.readers.sources import unreadable
from funnelcli.readers.tabular.header import (
    FOOTER_ODD_INITIALS,
    FOOTER_STARTS,
    NO_HEADER,
    Header,
    data_row,
    find_header,
    footer_match,
    is_blank,
    lookahead,
)
from funnelcli.readers.tabular.table import Cell, HeaderScore, NumberedRow, ReadStats, Table
from funnelcli.readers.tabular.xlsx_guard import Checked, check_workbook, other_sheets_hint
from funnelcli.readers.tabular.xlsx_scan import column_letters

if TYPE_CHECKING:
    from python_calamine import CalamineSheet, CalamineWorkbook

XLSX_MAX_RATIO = 100
"""A part of an XLSX file inflating more than this many times its compressed size, and
to more than :data:`XLSX_RATIO_FLOOR`, is refused as a zip bomb.

Real sheet XML compresses 8 to 30 times: 8.2 for the 100,000-deal benchmark export
(6.3 MiB to 52 MiB), 12 for cells that are styled but empty, 28 for a million styled
empty rows (72 MiB); a zip bomb of zeros or spaces inflates about 1,000 times."""

XLSX_RATIO_FLOOR = 32 * 1024 * 1024
"""Below this inflated size a part is never refused for its ratio: a small sheet can
compress far better than a large one, and 32 MiB of XML costs little to read."""

XLSX_MAX_INFLATED = 2 * 1024 * 1024 * 1024
"""The most an XLSX file may inflate to, all its parts together, whatever their ratio.

Excel holds at most 1,048,576 rows; at the benchmark's 52 MiB per 100,000 rows of 13
columns, a full sheet of that shape is about 550 MiB of XML; 2 GiB leaves room for
about 48 such columns. A larger export is read as CSV, which streams."""

_PLAIN_TYPES = frozenset(
    {str, int, float, bool, datetime.datetime, datetime.date, type(None)},
)


USE_CALAMINE = True
"""Read XLSX with python-calamine when it is installed, else with openpyxl.

calamine parses in Rust, about ten times faster, but holds the whole sheet in memory
(about 90 MB per 100,000 rows of 13 columns) where openpyxl streams. Both paths give the
same header, rows and counts (tests/readers/tabular/test_xlsx_calamine.py holds them to it) except where
calamine cannot see what openpyxl sees: an error cell (``#N/A``) is empty, spaces around
text not marked ``xml:space="preserve"`` are dropped, rows below the last value that
only carry formatting are not counted as blank, and a date before 1900 (which Excel
shows as ####) reads as a time. Tests and benchmarks set this to False to force the
openpyxl path.
"""

_INTEGRAL_BELOW = 1e16
"""calamine reads every number as a float; openpyxl reads ``<v>42</v>`` as the int 42 and
``<v>1e+16</v>`` as a float. Writers use an exponent from about 1e16 up (Python's repr
does from exactly 1e16), so integral floats below this become ints, larger ones stay."""


def read_xlsx(
    path: str | os.PathLike[str],
    source: str,
    sheet: str | None,
    header_score: HeaderScore | None,
) -> Table:
    _refuse_zip_bomb(path, source)
    # Before any reader: a sheet whose cells would blow up memory is refused here.
    checked = check_workbook(os.fspath(path), source, sheet)
    wanted = sheet if sheet is not None else checked.sheet
    hint = other_sheets_hint(checked)
    table = None
    if USE_CALAMINE:
        table = _read_xlsx_calamine(path, source, wanted, header_score, hint)
    if table is None:
        table = _read_xlsx_openpyxl(path, source, wanted, header_score, hint)
    table.notes = _xlsx_notes(table, checked)
    return table


def _xlsx_notes(table: Table, checked: Checked) -> tuple[str, ...]:
    notes = [checked.note] if checked.note else []
    if checked.unsaved_formulas:
        total = sum(checked.unsaved_formulas.values())
        columns = ", ".join(
            f"{column_letters(index + 1)}"
            + (f" '{shown(table.header[index], 30)}'" if index < len(table.header) else "")
            + f" ({count:,})"
            for index, count in sorted(checked.unsaved_formulas.items())[:5]
        )
        more = len(checked.unsaved_formulas) - 5
        notes.append(
            f"{table.source}: sheet '{shown(table.sheet)}': {total:,} "
            f"{'cell holds a formula' if total == 1 else 'cells hold formulas'} saved without "
            f"a value, read as empty: column{'s' if len(checked.unsaved_formulas) > 1 else ''} "
            f"{columns}{f' and {more:,} more' if more > 0 else ''}"
            "; open the file in Excel or LibreOffice and save it to compute them"
        )
    return tuple(notes)


def _xlsx_table(
    source: str,
    title: str,
    header: Header,
    rows: Iterator[NumberedRow],
    stats: ReadStats,
    close: Callable[[], None],
) -> Table:
    return Table(
        source=source,
        kind="xlsx",
        header=header.header,
        header_row=header.header_row,
        title_rows=header.title_rows,
        encoding=None,
        delimiter=None,
        sheet=title,
        rows=rows,
        stats=stats,
        _close=close,
    )


def _sheet_index(
    source: str, sheet: str | None, worksheets: Sequence[str], charts: Sequence[str]
) -> int:
    """Which of ``worksheets`` to read: the first, or the one named ``sheet`` in any case."""
    if not worksheets:
        raise ExportError(
            f"{source}: the workbook has only chart sheets, no worksheet; "
            "export the deals as a table in CSV or XLSX"
        )
    if sheet is None:
        return 0
    wanted = sheet.casefold()
    for index, title in enumerate(worksheets):
        if title.casefold() == wanted:
            return index
    names = ", ".join(worksheets)
    if any(chart.casefold() == wanted for chart in charts):
        raise ExportError(
            f"{source}: sheet '{sheet}' is a chart, not a table; the sheets are: {names}"
        )
    raise ExportError(f"{source}: no sheet named '{sheet}'; the sheets are: {names}")


def _xlsx_no_header(
    source: str, title: str, buffered: list[tuple[int, Sequence[Cell]]], hint: str
) -> str:
    """The message for a sheet without a header row; ``hint`` names the other sheets."""
    if all(is_blank(cells) for _, cells in buffered):
        return f"{source}: sheet '{title}' is empty; export the deals with a header row{hint}"
    return f"{source}: sheet '{title}': {NO_HEADER}{hint}"


# --- XLSX: zip bombs ---------------------------------------------------------


def _refuse_zip_bomb(path: str | os.PathLike[str], source: str) -> None:
    """Refuse a file whose parts would inflate far beyond what real exports do.

    Only the ZIP's directory is read, nothing is inflated. Its sizes can be trusted: both
    readers stop at a part's declared size (calamine fails with "File is larger than its
    declared uncompressed size", openpyxl with a bad CRC), so they bound what a read costs.
    """
    try:
        archive = zipfile.ZipFile(path)
    except Exception:  # a damaged ZIP: the reader words the message
        return
    with archive:
        members = archive.infolist()
        for member in members:
            inflated, packed = member.file_size, member.compress_size
            if inflated > XLSX_RATIO_FLOOR and inflated > XLSX_MAX_RATIO * packed:
                raise ExportError(
                    f"{source}: {_part_name(archive, member.filename)} would inflate to "
                    f"{_size(inflated)} from {_size(packed)} ({inflated // max(packed, 1):,}x); "
                    "refusing what looks like a zip bomb; export the deals as CSV"
                )
        total = sum(member.file_size for member in members)
    if total > XLSX_MAX_INFLATED:
        raise ExportError(
            f"{source}: the workbook would inflate to {_size(total)}, more than the "
            f"{_size(XLSX_MAX_INFLATED)} funnel reads from an XLSX file; export the deals as CSV"
        )


def _part_name(archive: zipfile.ZipFile, name: str) -> str:
    """A part of the workbook as the user knows it: "sheet 'Deals'" rather than its path."""
    if posixpath.basename(name).casefold() == "sharedstrings.xml":
        return "the shared strings"
    title = _sheet_titles(archive).get(name)
    return f"part {name}" if title is None else f"sheet '{shown(title)}'"


_TAG = re.compile(r"<(?:[\w.-]+:)?(sheet|Relationship)\s([^>]*)>")
_ATTRIBUTE = re.compile(r"""([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_SMALL_PART = 1024 * 1024


def _sheet_titles(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part paths to sheet titles, from xl/workbook.xml and its relationships.

    Read with regular expressions, not an XML parser (no entity is expanded), and only
    when both parts are small; {} when anything is missing or odd.
    """
    try:
        workbook = _small_part(archive, "xl/workbook.xml")
        relationships = _small_part(archive, "xl/_rels/workbook.xml.rels")
    except Exception:  # no such part, or a damaged one
        return {}
    targets = {}
    for attributes in _tags(relationships, "Relationship"):
        if "Id" in attributes and "Target" in attributes:
            target = attributes["Target"]
            path = target[1:] if target.startswith("/") else posixpath.join("xl", target)
            targets[attributes["Id"]] = posixpath.normpath(path)
    titles = {}
    for attributes in _tags(workbook, "sheet"):
        ids = [value for key, value in attributes.items() if key.endswith(":id")]
        if "name" in attributes and ids and ids[0] in targets:
            titles[targets[ids[0]]] = attributes["name"]
    return titles


def _small_part(archive: zipfile.ZipFile, name: str) -> str:
    if archive.getinfo(name).file_size > _SMALL_PART:
        raise ValueError(f"{name} is too large to read for a message")
    return archive.read(name).decode("utf-8", "replace")


def _tags(xml: str, wanted: str) -> Iterator[dict[str, str]]:
    """The attributes of each ``<wanted ...>`` tag, in any namespace prefix."""
    for tag in _TAG.finditer(xml):
        if tag[1] == wanted:
            yield {
                attribute[1]: html.unescape(attribute[2] or attribute[3] or "")
                for attribute in _ATTRIBUTE.finditer(tag[2])
            }


def _size(count: int) -> str:
    """A byte count as people read it: 150 MiB, 2.1 GiB, 149 KiB, 620 bytes."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            value = count / scale
            shown_value = f"{value:.1f}".removesuffix(".0") if value < 10 else f"{value:,.0f}"
            return f"{shown_value} {unit}"
    return f"{count:,} bytes"


# --- XLSX: python-calamine ---------------------------------------------------


def _read_xlsx_calamine(
    path: str | os.PathLike[str],
    source: str,
    sheet: str | None,
    header_score: HeaderScore | None,
    hint: str = "",
) -> Table | None:
    """Read with python-calamine; None when it is not installed or cannot read the sheet.

    openpyxl then reads the file: a damaged file is reported in the same words whichever
    library is installed, and a file only openpyxl understands is still read. calamine
    parses the whole sheet into Rust values when the sheet is opened; the Python cells
    are made one row at a time.
    """
    try:
        # Here, not at the top: only an XLSX read pays for the import.
        from python_calamine import CalamineWorkbook, WorkbookClosed
    except ImportError:
        return None
    if not _holds_xlsx_workbook(path):
        return None
    try:
        workbook = CalamineWorkbook.from_path(os.fspath(path))
    except Exception:  # not a workbook, or a damaged one: openpyxl says which
        return None

    def close() -> None:
        with contextlib.suppress(WorkbookClosed):  # a second close is harmless
            workbook.close()

    try:
        picked = _calamine_sheet(workbook, source, sheet)
        if picked is None:
            close()
            return None
        title, rows, number, pad = picked
        buffered = lookahead(_calamine_numbered(rows, number, pad))
        no_header = _xlsx_no_header(source, title, buffered, hint)
        header = find_header(buffered, header_score, no_header)
    except BaseException:
        close()
        raise
    stats = ReadStats()
    number = buffered[-1][0] + 1  # the lookahead stopped right after its last row
    data = _calamine_rows(header.rest, rows, number, pad, len(header.header), stats, close)
    return _xlsx_table(source, title, header, data, stats, close)


def _holds_xlsx_workbook(path: str | os.PathLike[str]) -> bool:
    """Whether the ZIP file holds ``xl/workbook.xml``, as an XLSX package does.

    calamine would read an XLSB or ODS workbook as well, which the openpyxl path refuses.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            archive.getinfo("xl/workbook.xml")
    except Exception:  # no such member, or a damaged ZIP: openpyxl words the message
        return False
    return True


def _calamine_sheet(
    workbook: CalamineWorkbook, source: str, sheet: str | None
) -> tuple[str, Iterator[list[Any]], int, tuple[None, ...]] | None:
    """The sheet to read: its title, its rows, the Excel number of the first row, and the
    empty cells left of its first column; None to leave the file to openpyxl."""
    from python_calamine import SheetTypeEnum

    kinds = [(metadata.name, metadata.typ) for metadata in workbook.sheets_metadata]
    if any(kind not in (SheetTypeEnum.WorkSheet, SheetTypeEnum.ChartSheet) for _, kind in kinds):
        return None  # a dialog or macro sheet: openpyxl's idea of a worksheet decides
    worksheets = [name for name, kind in kinds if kind == SheetTypeEnum.WorkSheet]
    charts = [name for name, kind in kinds if kind == SheetTypeEnum.ChartSheet]
    title = worksheets[_sheet_index(source, sheet, worksheets, charts)]
    try:
        worksheet = workbook.get_sheet_by_name(title)
    except Exception:  # a damaged sheet: openpyxl names the row
        return None
    return (title, *_calamine_start(worksheet))


def _calamine_start(
    worksheet: CalamineSheet,
) -> tuple[Iterator[list[Any]], int, tuple[None, ...]]:
    """The rows, the Excel number of the first, and the cells left of the first column.

    calamine's rows begin at the sheet's first non-empty column, so the columns before it
    are put back as None, as openpyxl gives them. python-calamine 0.9 yields the empty
    rows above the first non-empty row, whose first row therefore is blank; a version that
    skipped them would start at that non-empty row.
    """
    start = worksheet.start
    if start is None:  # no cell holds a value
        return iter(()), 1, ()
    first_row, first_column = start
    rows: Iterator[list[Any]] = worksheet.iter_rows()
    number = 1
    if first_row:
        first = next(rows)
        if first.count("") != len(first):
            number = first_row + 1
        rows = itertools.chain((first,), rows)
    return rows, number, (None,) * first_column


def _calamine_numbered(
    rows: Iterator[list[Any]], number: int, pad: tuple[None, ...]
) -> Iterator[tuple[int, Sequence[Cell]]]:
    """Rows numbered as in Excel, for the lookahead; the hot loop is in _calamine_rows."""
    for values in rows:
        yield number, _from_calamine(values, pad)
        number += 1


def _from_calamine(values: list[Any], pad: tuple[None, ...]) -> tuple[Cell, ...]:
    """calamine's cells as openpyxl gives them: empty as None, ``42.0`` as 42, dates as
    datetime.datetime at midnight; times and durations become text, as in :func:`_plain`."""
    for index, value in enumerate(values):
        kind = type(value)
        if kind is str:
            if not value:
                values[index] = None
        elif kind is float:
            if value.is_integer() and -_INTEGRAL_BELOW < value < _INTEGRAL_BELOW:
                values[index] = int(value)
        elif kind is datetime.date:
            values[index] = datetime.datetime(value.year, value.month, value.day)
        elif kind not in _PLAIN_TYPES:
            values[index] = _as_text(value)
    return (*pad, *values) if pad else tuple(values)


def _calamine_rows(
    rest: list[tuple[int, Sequence[Cell]]],
    rows: Iterator[list[Any]],
    number: int,
    pad: tuple[None, ...],
    width: int,
    stats: ReadStats,
    close: Callable[[], None],
) -> Iterator[NumberedRow]:
    """The data rows: first those the lookahead buffered, then the rest of the sheet.

    As in :func:`csv_data_rows`, a blank row is counted before its cells are converted, and
    a row goes through :func:`data_row` only when it could be a footer, starts with an
    empty cell or is wider than the header; the others are yielded as they are.
    """
    footer, starts, odd_initials = footer_match, FOOTER_STARTS, FOOTER_ODD_INITIALS
    try:
        for row_number, cells in rest:
            row = data_row(cells, width, None, stats)
            if row is not None:
                yield row_number, row
        for values in rows:
            if values.count("") == len(values):  # calamine's empty cell is ''
                stats.blank_rows += 1
                number += 1
                continue
            cells = _from_calamine(values, pad)
            first = cells[0]
            if (
                first is None
                or len(cells) != width
                or (
                    type(first) is str
                    and (first[:2] in starts or first[0] in odd_initials)
                    and footer(first)
                )
            ):
                row = data_row(cells, width, None, stats)
                if row is not None:
                    yield number, row
            else:
                yield number, cells
            number += 1
    finally:
        close()


# --- XLSX: openpyxl ----------------------------------------------------------


def _read_xlsx_openpyxl(
    path: str | os.PathLike[str],
    source: str,
    sheet: str | None,
    header_score: HeaderScore | None,
    hint: str = "",
) -> Table:
    import openpyxl  # here, not at the top: the import costs ~130 ms a CSV read must not pay

    try:
        # A file object, not the path: openpyxl refuses a path whose suffix is not .xlsx.
        binary = open(path, "rb")  # noqa: SIM115 - closed by the stream or on error below
    except OSError as error:
        raise unreadable(source, error) from None
    try:
        with warnings.catch_warnings():  # "no default style" and the like: not the user's concern
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(binary, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises a zoo of types for a damaged file
        binary.close()
        raise ExportError(
            f"{source}: not a readable XLSX file ({_describe(error)}); re-export it"
        ) from None
    numbered: Generator[tuple[int, Sequence[Cell]], None, None] | None = None

    def close() -> None:
        if numbered is not None:
            numbered.close()
        workbook.close()
        binary.close()

    try:
        worksheet = _pick_sheet(workbook, source, sheet)
        title = str(worksheet.title)
        worksheet.reset_dimensions()  # some writers store a wrong size, which would cut rows
        numbered = _xlsx_numbered(worksheet, source, title)
        buffered = lookahead(numbered)
        no_header = _xlsx_no_header(source, title, buffered, hint)
        header = find_header(buffered, header_score, no_header)
    except BaseException:
        close()
        raise
    stats = ReadStats()
    rows = _xlsx_rows(header.rest, numbered, len(header.header), stats, close)
    return _xlsx_table(source, title, header, rows, stats, close)


def _describe(error: Exception) -> str:
    if isinstance(error, zipfile.BadZipFile):
        return "the ZIP container is damaged or truncated"
    message = error.args[0] if isinstance(error, KeyError) and error.args else error
    return " ".join(str(message).split()) or type(error).__name__


def _pick_sheet(workbook: Any, source: str, sheet: str | None) -> Any:
    worksheets = list(workbook.worksheets)
    titles = [str(worksheet.title) for worksheet in worksheets]
    charts = [str(chart.title) for chart in workbook.chartsheets]
    return worksheets[_sheet_index(source, sheet, titles, charts)]


def _xlsx_numbered(
    worksheet: Any, source: str, title: str
) -> Generator[tuple[int, Sequence[Cell]], None, None]:
    """Rows numbered as in Excel; openpyxl yields an empty row for each missing one."""
    number = 0
    try:
        for values in worksheet.iter_rows(values_only=True):
            number += 1
            yield number, _plain(values)
    except Exception as error:  # a damaged sheet fails in zipfile, zlib or the XML parser
        raise ExportError(
            f"{source}: not a readable XLSX file (sheet '{title}', row {number + 1}: "
            f"{_describe(error)}); re-export it"
        ) from None


def _plain(values: tuple[Any, ...]) -> tuple[Cell, ...]:
    """Cells as :data:`Cell` values; times and durations become text."""
    if all(type(value) in _PLAIN_TYPES for value in values):
        return values
    return tuple(value if type(value) in _PLAIN_TYPES else _as_text(value) for value in values)


def _as_text(value: object) -> str:
    if isinstance(value, datetime.time):
        return value.isoformat()
    return str(value)


def _xlsx_rows(
    rest: list[tuple[int, Sequence[Cell]]],
    numbered: Iterator[tuple[int, Sequence[Cell]]],
    width: int,
    stats: ReadStats,
    close: Callable[[], None],
) -> Iterator[NumberedRow]:
    try:
        for number, cells in itertools.chain(rest, numbered):
            row = data_row(cells, width, None, stats)
            if row is not None:
                yield number, row
    finally:
        close()
