"""Turn a CSV or XLSX file into a header and a stream of rows.

This module knows files, not CRMs: it finds the header row, the encoding and
the delimiter, and hands the data rows on one at a time, so a 100 MB export
never sits in memory. It skips blank rows and the footer rows some CRMs write
below the data (``Total``, ``Confidential Information ...``, ``Copyright ...``)
and counts what it skipped in :class:`ReadStats`.

Row numbers are physical: the 1-based line of a CSV file on which a row starts
(a quoted field can hold line breaks, so a row can span several lines), or the
1-based row of the worksheet. They are what the user sees in an editor or in
Excel, so messages can point at them.

Standard input (``-``), a pipe or any other file that is not a regular one is read once,
into a temporary copy the reader can open again (readers/sources.py). A CSV line is read
with a bound (:data:`RECORD_SIZE_LIMIT`), so a file of megabytes without a line break is
refused before it fills the memory.

A CSV file that is UTF-8 but for a few rows in cp1252 is read as both
(:data:`MIXED_ENCODING`), and :attr:`Table.encoding_note` says which rows.

A large CSV file's rows can be shared between processes by byte ranges
(:func:`split_rows`, :func:`read_csv_range`): each range is decoded and parsed as the
whole file would be, its rows keep their line numbers, and its skipped rows are counted
in its own :class:`ReadStats`, which :meth:`ReadStats.merge` adds up.

An XLSX file is first checked for parts that would inflate like a zip bomb (only the
ZIP's directory is read; see :data:`XLSX_MAX_RATIO`), then for a sheet whose cells would
blow up memory once read (:mod:`funnelcli.readers.xlsx_guard`, which also picks the sheet:
the active one when visible, else the first visible one). It is read with python-calamine
when it is installed, else with openpyxl; see :data:`USE_CALAMINE` for what differs.
calamine, a Rust parser, is about ten times faster on a large export, but it holds the
sheet's values in memory (the Python rows are still made one at a time); openpyxl
streams. Either is imported only when an XLSX file is read: openpyxl's import alone
costs about 130 ms, which a CSV report should not pay.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import html
import io
import itertools
import os
import posixpath
import re
import string
import sys
import threading
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Protocol, Self, TypeAlias

from funnelcli.errors import ExportError, shown
from funnelcli.readers.sources import local_path, unreadable
from funnelcli.readers.xlsx_guard import Checked, check_workbook, column_letters, other_sheets_hint

if TYPE_CHECKING:
    from python_calamine import CalamineSheet, CalamineWorkbook

Cell: TypeAlias = str | int | float | datetime.datetime | datetime.date | None
NumberedRow: TypeAlias = tuple[int, tuple[Cell, ...]]
HeaderScore: TypeAlias = Callable[[Sequence[str]], int]

FIELD_SIZE_LIMIT = 10 * 1024 * 1024
"""The largest CSV field accepted, in characters; Python's default is 128 KiB."""

RECORD_SIZE_LIMIT = 16 * 1024 * 1024
"""The longest CSV line accepted, in characters: a file of megabytes with no line break (a
binary dump, a one-line JSON) is refused while it is read, before it fills the memory.
Above :data:`FIELD_SIZE_LIMIT`, so that any field the reader takes fits in a line; the
compiled lane hands records over 8 MiB to the csv module, which applies both limits."""

HEADER_LOOKAHEAD = 50
"""How many non-blank rows are searched for the header row."""

FOOTER_MAX_CELLS = 3
"""A footer row (``Total 12 1,234.00``) has at most this many non-empty cells."""

_CHUNK = 1024 * 1024
_HEAD = 64 * 1024  # the first bytes, that tell the kind of file (and binary data)
_SNIFF_LINES = 20
_DELIMITERS = (",", ";", "\t", "|")
_FALLBACK_ERRORS = "funnelcli-latin-1"
_CP1252_ERRORS = "funnelcli-cp1252"
_SCAN_ERRORS = "funnelcli-scan-utf-8"

MIXED_ENCODING = "utf-8+cp1252"
"""The encoding of a CSV file that is UTF-8 but for a few rows in cp1252: UTF-8, with
each byte that is not UTF-8 read as cp1252. A registered codec, so the name can be given
as an encoding again when the file is read a second time."""

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

_FOOTER = re.compile(
    r"\s*(?:(?:(?:grand\s+)?total|confidential\s+information|copyright|generated\s+by)\b|©)",
    re.IGNORECASE,
).match
# How a cell _FOOTER matches can start: a cheap test before the regex on the hot path.
_FOOTER_STARTS = frozenset(
    first + second
    for word in ("to", "gr", "co", "ge")
    for first in (word[0], word[0].upper())
    for second in (word[1], word[1].upper())
)
_FOOTER_ODD_INITIALS = frozenset("©" + string.whitespace + "\u00a0\u3000")
_NUMBER = re.compile(r"[-+]?\d[\d,.\s]*%?").fullmatch
_DATE_LIKE = re.compile(
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[T\s].*)?|\d{1,2}:\d{2}(?::\d{2})?"
).fullmatch
_AMOUNT_LIKE = re.compile(
    r"(?:[$€£¥₹]|US\$|[A-Z]{3})\s?[-+]?\d[\d,.\s'\u00a0\u202f]*"
    r"|[-+]?\d[\d,.\s'\u00a0\u202f]*\s?(?:[$€£¥₹]|[A-Z]{3}|Kč|kr|zł|Ft)"
).fullmatch

_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0"
_OTHER_FORMATS = (
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"{\\rtf", "an RTF document"),
)
_CONTROL_BYTES = bytes(range(0x00, 0x09)) + bytes(range(0x0E, 0x20))
_PLAIN_TYPES = frozenset(
    {str, int, float, bool, datetime.datetime, datetime.date, type(None)},
)


def _decode_undefined_as_latin1(error: UnicodeError) -> tuple[str, int]:
    """Decode the 5 bytes cp1252 leaves undefined (81 8D 8F 90 9D) as latin-1 does."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error(_FALLBACK_ERRORS, _decode_undefined_as_latin1)


def _decode_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    """Decode the bytes the UTF-8 decoder refused as cp1252 (its 5 undefined as latin-1)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("cp1252", _FALLBACK_ERRORS), error.end


codecs.register_error(_CP1252_ERRORS, _decode_as_cp1252)

_refused = threading.local()
"""Where :func:`_record_refused` notes the bytes the UTF-8 decoder refused: ``runs``, a
list of (start, end) the scan sets before each chunk."""


def _record_refused(error: UnicodeError) -> tuple[str, int]:
    """Note where the UTF-8 decoder refused bytes, and drop them."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    _refused.runs.append((error.start, error.end))
    return "", error.end


codecs.register_error(_SCAN_ERRORS, _record_refused)


def _decode_mixed(data: Any, errors: str = "strict", /) -> tuple[str, int]:
    return codecs.utf_8_decode(data, _CP1252_ERRORS, True)


class _MixedDecoder(codecs.BufferedIncrementalDecoder):
    """UTF-8 with the bytes that are not UTF-8 read as cp1252; it never fails."""

    def _buffer_decode(self, data: Any, errors: str, final: bool) -> tuple[str, int]:
        return codecs.utf_8_decode(data, _CP1252_ERRORS, final)


def _find_mixed_codec(name: str) -> codecs.CodecInfo | None:
    """The codec of :data:`MIXED_ENCODING`, a name codecs.lookup gives as 'utf_8_cp1252'."""
    if name.replace("-", "_").replace("+", "_") != "utf_8_cp1252":
        return None
    return codecs.CodecInfo(
        codecs.utf_8_encode,
        _decode_mixed,
        incrementalencoder=codecs.getincrementalencoder("utf-8"),
        incrementaldecoder=_MixedDecoder,
        name=MIXED_ENCODING,
    )


codecs.register(_find_mixed_codec)


@dataclass
class ReadStats:
    """What the reader skipped below the header; the counts grow while rows are consumed."""

    blank_rows: int = 0
    """Rows whose cells are all empty ('' or None); whitespace counts as content."""
    footer_rows: int = 0
    """Rows like ``Total``, ``Confidential Information ...``, ``Copyright ...``."""
    footer_text: str | None = None
    """The first non-empty cell of the first footer row, stripped, e.g. ``'Total'``."""

    def merge(self, later: ReadStats) -> None:
        """Add the counts of the rows that follow these in the file (another process's share)."""
        self.blank_rows += later.blank_rows
        self.footer_rows += later.footer_rows
        if self.footer_text is None:
            self.footer_text = later.footer_text


def _nothing_to_close() -> None:
    """The default closer of a :class:`Table` built by hand."""


@dataclass
class Table:
    """A header and a lazy stream of data rows read from one CSV or XLSX file.

    ``rows`` can be consumed once. It yields ``(row number, cells)`` where the
    row number is physical (see the module docstring) and ``cells`` has exactly
    ``len(header)`` cells, padded with ``''`` (CSV) or ``None`` (XLSX), unless
    the row has non-empty cells beyond the header, which are kept. The file is
    closed when ``rows`` is exhausted or :meth:`close` is called; ``with
    read_table(path) as table:`` does the latter.
    """

    source: str
    kind: str
    header: tuple[str, ...]
    header_row: int
    title_rows: int
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    rows: Iterator[NumberedRow]
    stats: ReadStats
    encoding_note: str | None = None
    """One line for the user when the detected encoding is a guess worth knowing: a UTF-8
    file with rows in cp1252 (:data:`MIXED_ENCODING`); None otherwise."""
    notes: tuple[str, ...] = ()
    """XLSX: lines for the user about what was read: which sheet, when not the first, and
    the formulas saved without a value, read as empty cells."""
    _close: Callable[[], None] = field(default=_nothing_to_close, repr=False, compare=False)
    _csv: _CsvCursor | None = field(default=None, repr=False, compare=False)
    """Where a CSV table's reader is, for :func:`split_rows`; None for XLSX."""

    @property
    def overran(self) -> bool:
        """Whether a row straddled the end :func:`split_rows` gave the rows, which then went
        on to the end of the file: the ranges it returned must be dropped, not merged."""
        return self._csv is not None and self._csv.end.overran

    def close(self) -> None:
        """Close the file before the rows are exhausted; calling it twice is harmless."""
        self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def read_table(
    path: str | os.PathLike[str],
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    header_score: HeaderScore | None = None,
) -> Table:
    """Open a CSV or XLSX file, find its header row, and stream its data rows.

    The kind of file is decided by its first bytes, not its name. ``sheet``
    (XLSX only) picks a worksheet by name, case-insensitively; the first
    worksheet otherwise. ``encoding`` (CSV only) overrides the detection.
    ``header_score`` returns how many cells of a row the caller recognises as
    column names. Within the first 50 non-blank rows, the header is the first row
    of at least two cells, all text (no number, date or amount), that scores above
    zero or has at least half as many cells as the widest row below it; a later such
    row replaces it only when it is clearly a better header (a title or notes above
    the table; see :func:`_choose_header`). A row of data is never preferred over an
    earlier row of text.
    With no such row, the first row with the highest score above zero, else the
    first of at least two cells, none a plain number, as wide as half the widest below.

    Raises :class:`ExportError` with a one-line message for every problem of
    the file, including a decoding error found while ``rows`` is consumed.
    """
    source = os.fspath(path)
    # A stream (standard input, a pipe) is read once, into a file that can be read again.
    path = local_path(source)
    head = _read_head(path, source)
    if sniff_kind(source, head) == "xlsx":
        return _read_xlsx(path, source, sheet, header_score)
    return _read_csv(path, source, head, encoding, header_score)


# --- kind of file ------------------------------------------------------------


def _read_head(path: str | os.PathLike[str], source: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read(_HEAD)
    except OSError as error:
        raise unreadable(source, error) from None


def sniff_kind(source: str, head: bytes) -> str:
    """Return "xlsx" or "csv" from the first bytes (up to 64 KiB), or raise for anything
    else; a stream is checked so before it is copied (readers/sources.py)."""
    if not head:
        raise ExportError(f"{source}: the file is empty; export the deals with a header row")
    if head.startswith(_ZIP_SIGNATURES):
        if b"mimetypeapplication/vnd.oasis.opendocument" in head[:128]:
            raise ExportError(
                f"{source}: an OpenDocument spreadsheet (.ods), which cannot be read; "
                "save it as .xlsx or CSV"
            )
        return "xlsx"
    if head.startswith(_OLE_SIGNATURE):
        raise ExportError(
            f"{source}: an old Excel 97-2003 .xls workbook, which cannot be read; "
            "open it in Excel and save it as .xlsx or CSV"
        )
    for signature, what in _OTHER_FORMATS:
        if head.startswith(signature):
            raise ExportError(_not_tabular(source, head, what))
    if _bom_encoding(head) is None and _utf16_without_bom(head) is None and _is_binary(head):
        raise ExportError(_not_tabular(source, head, "binary data"))
    return "csv"


def _not_tabular(source: str, head: bytes, what: str) -> str:
    first = " ".join(f"{byte:02X}" for byte in head[:4])
    return (
        f"{source}: not a CSV or XLSX file (starts with bytes {first}, {what}); "
        "export the deals as CSV or XLSX"
    )


_BINARY_CONTROLS = 8
"""Fewer control bytes than this are CRM text (an ESC or BEL pasted into a deal name,
which the outputs strip), however short the file."""


def _is_binary(head: bytes) -> bool:
    """Whether more than 1% of the first 64 KiB, and at least 8 bytes, are control bytes
    no text file has.

    Text in any 8-bit encoding has none of them, or a few pasted into a field (tab, line
    ends, the vertical tab and form feed are not counted); random or compressed bytes
    have about 10%.
    """
    sample = head[:_HEAD]
    # NUL is left out: stray NULs in a text export are stripped, not refused.
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES[1:]))
    return controls >= _BINARY_CONTROLS and controls * 100 > len(sample)


# --- CSV: encoding -----------------------------------------------------------


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """Recognise UTF-16 text by its NUL bytes: ASCII is every other byte zero."""
    sample = head[: len(head[:1024]) // 2 * 2]
    pairs = len(sample) // 2
    if pairs == 0:
        return None
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    if odd_nuls * 10 >= pairs * 3 and even_nuls * 20 <= pairs:
        return "utf-16-le"
    if even_nuls * 10 >= pairs * 3 and odd_nuls * 20 <= pairs:
        return "utf-16-be"
    return None


@dataclass(frozen=True)
class _Detected:
    """How a CSV file without a given encoding is to be decoded."""

    encoding: str
    errors: str
    has_nul: bool
    note: str | None = None


def _detect_encoding(path: str | os.PathLike[str], source: str, head: bytes) -> _Detected:
    """A BOM, else UTF-16 by its NULs, else UTF-8 if the whole file is, else cp1252.

    A file that is not UTF-8 but holds valid multi-byte UTF-8 characters is UTF-8 with
    some rows in cp1252 (pasted from another system): it is read as
    :data:`MIXED_ENCODING`, which gives both kinds of rows right, with a note naming the
    rows. A file without them reads the same either way, as cp1252, without a word.
    """
    found = _bom_encoding(head) or _utf16_without_bom(head)
    if found is not None:
        return _Detected(found, "strict", has_nul=False)
    is_utf8, has_nul = _scan_utf8(path)
    if is_utf8:
        return _Detected("utf-8", "strict", has_nul)
    scan = _scan_not_utf8(path)
    if not scan.multibyte:
        return _Detected("cp1252", _FALLBACK_ERRORS, scan.has_nul)
    return _Detected(MIXED_ENCODING, "strict", scan.has_nul, _mixed_note(source, scan))


def _scan_utf8(path: str | os.PathLike[str]) -> tuple[bool, bool]:
    """Whether the whole file is valid UTF-8, and whether it holds a NUL byte.

    Reads 1 MiB at a time, so memory stays small however large the file. Stops at the
    first byte that is not UTF-8 (the NUL answer is then for the bytes before it).
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    has_nul = False
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            has_nul = has_nul or b"\x00" in chunk
            if not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    return False, has_nul
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False, has_nul
    return True, has_nul


@dataclass(frozen=True)
class _NotUtf8:
    """What a file that is not UTF-8 holds, for choosing how to read it."""

    has_nul: bool
    multibyte: bool
    """Whether valid multi-byte UTF-8 characters appear."""
    bad_lines: int
    """How many lines hold bytes that are not UTF-8."""
    first_bad_line: int
    """The first of them, 1-based; the note calls it a row, as it is unless a quoted field
    spans several lines (then it is a line of that row)."""
    first_bad_bytes: bytes
    """The first bytes the UTF-8 decoder refused, as one error (1 to 3 bytes)."""


def _scan_not_utf8(path: str | os.PathLike[str]) -> _NotUtf8:
    """Whether a file that is not UTF-8 holds valid multi-byte UTF-8 characters; if so,
    where its bytes that are not UTF-8 are."""
    has_nul = False
    decoder = codecs.getincrementaldecoder("utf-8")("ignore")
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            has_nul = has_nul or b"\x00" in chunk
            if not decoder.decode(chunk).isascii():
                return _count_not_utf8(path)
    return _NotUtf8(has_nul, multibyte=False, bad_lines=0, first_bad_line=0, first_bad_bytes=b"")


def _count_not_utf8(path: str | os.PathLike[str]) -> _NotUtf8:
    """Decode the whole file as UTF-8, 1 MiB at a time, noting the bytes that are not UTF-8;
    for a file known to hold valid multi-byte UTF-8 characters.

    The decoding and the line counting run in C; Python only sees each refused byte, via
    the error handler, and each line holding one.
    """
    has_nul = after_cr = False
    line, bad_lines, last_bad, first_line, first_bytes = 1, 0, 0, 0, b""
    tail = b""  # a character cut by the end of the previous chunk
    with open(path, "rb") as file:
        while True:
            chunk = file.read(_CHUNK)
            has_nul = has_nul or b"\x00" in chunk
            data = tail + chunk
            refused: list[tuple[int, int]] = []
            _refused.runs = refused
            consumed = codecs.utf_8_decode(data, _SCAN_ERRORS, not chunk)[1]
            position = 0
            for start, end in refused:
                line += _count_byte_line_breaks(data, position, start, after_cr)
                position, after_cr = start, False  # a refused byte is no line break
                if line == last_bad:
                    continue
                if not bad_lines:
                    first_line, first_bytes = line, data[start:end]
                bad_lines, last_bad = bad_lines + 1, line
            line += _count_byte_line_breaks(data, position, consumed, after_cr)
            after_cr = data[consumed - 1 : consumed] == b"\r" if consumed > position else after_cr
            tail = data[consumed:]
            if not chunk:
                return _NotUtf8(has_nul, True, bad_lines, first_line, first_bytes)


def _count_byte_line_breaks(data: bytes, start: int, end: int, after_cr: bool) -> int:
    """:func:`_count_line_breaks` for ``data[start:end]``, without copying it."""
    breaks = data.count(b"\n", start, end)
    if data.find(b"\r", start, end) >= 0:  # counting \r and \r\n costs more than finding one
        breaks += data.count(b"\r", start, end) - data.count(b"\r\n", start, end)
    return breaks - 1 if after_cr and data.startswith(b"\n", start, end) else breaks


def _mixed_note(source: str, scan: _NotUtf8) -> str:
    """The warning for a UTF-8 file with rows in cp1252, which says how it was read."""
    if scan.bad_lines == 1:
        rows = f"row {scan.first_bad_line} is not UTF-8"
    else:
        rows = f"{scan.bad_lines:,} rows are not UTF-8 (the first is row {scan.first_bad_line})"
    first = scan.first_bad_bytes
    example = shown(first.decode("cp1252", _FALLBACK_ERRORS))
    return (
        f"{source}: {rows} though the rest of the file is; read the bytes that are not "
        f"UTF-8 as cp1252 ({first.hex(' ').upper()} as '{example}') and the rest as UTF-8; "
        "pass --encoding utf-8 or --encoding cp1252 to choose"
    )


def _check_encoding(source: str, encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise _unknown_encoding(source, encoding) from None


def _unknown_encoding(source: str, encoding: str) -> ExportError:
    return ExportError(
        f"{source}: unknown encoding {encoding!r}; use one such as utf-8, cp1252 or utf-16"
    )


class _CsvReader(Protocol):
    """What ``csv.reader`` returns: rows of text, and the count of lines read so far."""

    @property
    def line_num(self) -> int: ...

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


@dataclass(frozen=True)
class _CsvFile:
    """What a CSV error message needs to know about the file being read."""

    path: str | os.PathLike[str]
    source: str
    encoding: str
    encoding_given: bool


class _LineTooLong(csv.Error):
    """A line of more than :data:`RECORD_SIZE_LIMIT` characters; ``field`` when a field alone
    is over :data:`FIELD_SIZE_LIMIT`, which the message then says."""

    def __init__(self, field: bool) -> None:
        super().__init__("line too long")
        self.field = field


def _bounded_lines(text: IO[str], delimiter: str) -> Iterator[str]:
    """The lines of ``text``, each read with a bound: one longer than
    :data:`RECORD_SIZE_LIMIT` raises :class:`_LineTooLong` with only that much of it read."""
    readline, limit = text.readline, RECORD_SIZE_LIMIT
    while line := readline(limit + 1):
        if len(line) > limit:
            raise _LineTooLong(_holds_long_field(line, delimiter))
        yield line


def _holds_long_field(line: str, delimiter: str) -> bool:
    """Whether the first part of a too long line holds a field over FIELD_SIZE_LIMIT; split
    only when it has few delimiters, so that a line of a million tiny fields costs little."""
    if line.count(delimiter) > 1000:
        return False
    return max(len(part) for part in line.split(delimiter)) > FIELD_SIZE_LIMIT


def _lines(text: IO[str], path: str | os.PathLike[str], delimiter: str) -> Iterable[str]:
    """``text`` itself (the fastest way to hand lines to csv), or its lines read with a bound
    when the file is large enough to hold a line over RECORD_SIZE_LIMIT (it has at least as
    many bytes as characters)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        size = RECORD_SIZE_LIMIT + 1
    return _bounded_lines(text, delimiter) if size > RECORD_SIZE_LIMIT else text


def _csv_failure(error: UnicodeError | csv.Error, file: _CsvFile, row: int) -> ExportError:
    """Turn an error met while reading row ``row`` into a one-line message."""
    if isinstance(error, _LineTooLong) and not error.field:
        return ExportError(
            f"{file.source}: row {row}: a line is longer than "
            f"{RECORD_SIZE_LIMIT // (1024 * 1024)} MiB characters; is this really a CSV export?"
        )
    if isinstance(error, _LineTooLong) or "field larger than field limit" in str(error):
        return ExportError(
            f"{file.source}: row {row}: a field is larger than 10 MiB; is this really a CSV export?"
        )
    if isinstance(error, UnicodeDecodeError):
        return _decode_failure(file)
    if isinstance(error, UnicodeError):
        return _codec_failure(file, error)
    return ExportError(f"{file.source}: row {row}: cannot parse the CSV ({error}); re-export it")


def _codec_failure(file: _CsvFile, error: UnicodeError) -> ExportError:
    """A codec failing otherwise than on some bytes: utf-16 without a BOM, for one."""
    reason = " ".join(str(error).split()) or type(error).__name__
    fix = "leave --encoding out to detect it" if file.encoding_given else "re-export it as UTF-8"
    return ExportError(
        f"{file.source}: cannot read the file as {file.encoding} ({shown(reason)}); {fix}"
    )


def _decode_failure(file: _CsvFile) -> ExportError:
    try:
        line, undecodable = _find_undecodable(file.path, file.encoding)
    except UnicodeError as error:  # the codec fails otherwise on a second read
        return _codec_failure(file, error)
    utf8 = codecs.lookup(file.encoding).name in ("utf-8", "utf-8-sig")
    fix = f"try --encoding {'cp1252' if utf8 else 'utf-8'}"
    if file.encoding_given:
        fix += ", or leave --encoding out to detect it"
    if not undecodable:
        problem = f"the file ends in the middle of a {file.encoding} character"
    elif len(undecodable) == 1:
        problem = f"byte {undecodable.hex(' ').upper()} is not valid {file.encoding}"
    else:
        problem = f"bytes {undecodable[:4].hex(' ').upper()} are not valid {file.encoding}"
    return ExportError(f"{file.source}: line {line}: {problem}; {fix}")


def _find_undecodable(path: str | os.PathLike[str], encoding: str) -> tuple[int, bytes]:
    """The 1-based line of the first bytes ``encoding`` cannot decode, and those bytes.

    Only called after a decoding error: the text layer decodes 8 KB at a time,
    so the row being parsed when it fails is not where the bad byte is.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    line, after_cr = 1, False
    with open(path, "rb") as file:
        while True:
            chunk = file.read(_CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                decoded = bytes(error.object[: error.start]).decode(encoding, "replace")
                line += _count_line_breaks(decoded, after_cr)
                return line, bytes(error.object[error.start : error.end])
            if not chunk:
                return line, b""
            line += _count_line_breaks(text, after_cr)
            after_cr = text.endswith("\r")


def _count_line_breaks(text: str, after_cr: bool) -> int:
    """Count \\r\\n, \\n and \\r line ends, as csv's line_num does."""
    breaks = text.count("\n") + text.count("\r") - text.count("\r\n")
    return breaks - 1 if after_cr and text.startswith("\n") else breaks


# --- CSV: reading ------------------------------------------------------------


def _read_csv(
    path: str | os.PathLike[str],
    source: str,
    head: bytes,
    encoding: str | None,
    header_score: HeaderScore | None,
) -> Table:
    if encoding is None:
        detected = _detect_encoding(path, source, head)
        file = _CsvFile(path, source, detected.encoding, encoding_given=False)
    else:
        _check_encoding(source, encoding)
        detected = _Detected(encoding, "strict", has_nul=False)
        file = _CsvFile(path, source, encoding, encoding_given=True)
    errors, has_nul = detected.errors, detected.has_nul
    csv.field_size_limit(FIELD_SIZE_LIMIT)  # exports hold long notes; the default is 128 KiB
    text = _open_text(file, errors)
    try:
        sample = _read_sample(text, file)
        delimiter = _sniff_delimiter(sample)
        strip_nul = has_nul or any("\x00" in line for line in sample)
        parsing = _CsvParsing(file, errors, strip_nul, delimiter)
        reader = parsing.reader(itertools.chain(sample, _lines(text, path, delimiter)))
        buffered = _lookahead(_csv_numbered(reader, file))
        header = _find_header(buffered, header_score, _csv_no_header(source, buffered))
    except BaseException:
        text.close()
        raise
    stats = ReadStats()
    # The first record after the header (blank or not) starts the data: where a read of
    # the data rows by bytes starts (see data_share).
    data_line = header.rest[0][0] if header.rest else None
    cursor = _CsvCursor(
        parsing,
        reader,
        lines_before=0,
        end=_RowsEnd(),
        data_line=data_line,
        lookahead_line=header.rest[-1][0] if header.rest else 0,
    )
    rows = _csv_rows(header.rest, cursor, len(header.header), stats, text.close)
    return Table(
        source=source,
        kind="csv",
        header=header.header,
        header_row=header.header_row,
        title_rows=header.title_rows,
        encoding=file.encoding,
        delimiter=delimiter,
        sheet=None,
        rows=rows,
        stats=stats,
        encoding_note=detected.note,
        _close=text.close,
        _csv=cursor,
    )


def _open_text(file: _CsvFile, errors: str) -> IO[str]:
    try:
        return open(file.path, encoding=file.encoding, errors=errors, newline="")
    except LookupError:  # a codec that is not a text encoding, such as "hex"
        raise _unknown_encoding(file.source, file.encoding) from None
    except UnicodeError as error:
        raise _codec_failure(file, error) from None
    except OSError as error:
        raise unreadable(file.source, error) from None


def _read_sample(text: IO[str], file: _CsvFile) -> list[str]:
    """The first lines, to guess the delimiter from; the reader reads them again."""
    sample: list[str] = []
    try:
        while len(sample) < _SNIFF_LINES and (line := text.readline(RECORD_SIZE_LIMIT + 1)):
            if len(line) > RECORD_SIZE_LIMIT:
                delimiter = max(_DELIMITERS, key=line.count)
                raise _LineTooLong(_holds_long_field(line, delimiter))
            sample.append(line)
    except (UnicodeError, _LineTooLong) as error:
        raise _csv_failure(error, file, len(sample) + 1) from None
    return sample


def _sniff_delimiter(sample: list[str]) -> str:
    """The delimiter that splits the largest share of sample rows into one count (> 1) of fields.

    Parsing with the csv module ignores delimiters inside quoted fields. Ties go
    to the delimiter giving more fields, then to the earlier of , ; tab |.
    """
    best, best_key = ",", (0.0, 0)
    for delimiter in _DELIMITERS:
        counts = _field_counts(sample, delimiter)
        if not counts:
            continue
        fields, rows = Counter(counts).most_common(1)[0]
        key = (rows / len(counts), fields)
        if fields > 1 and key > best_key:
            best, best_key = delimiter, key
    return best


def _field_counts(sample: list[str], delimiter: str) -> list[int]:
    counts: list[int] = []
    try:
        for cells in csv.reader(sample, delimiter=delimiter, quotechar='"'):
            if any(cells):
                counts.append(len(cells))
    except csv.Error:  # a huge field; the real reader reports it with its row
        pass
    return counts


def _csv_numbered(reader: _CsvReader, file: _CsvFile) -> Iterator[tuple[int, Sequence[Cell]]]:
    """Rows with the line each starts on; for the lookahead only, the hot loop is inlined."""
    line = reader.line_num
    try:
        for cells in reader:
            yield line + 1, cells
            line = reader.line_num
    except (UnicodeError, csv.Error) as error:
        raise _csv_failure(error, file, line + 1) from None


def csv_data_row(
    cells: list[str], width: int, stats: ReadStats, *, fit: bool = False
) -> tuple[Cell, ...] | None:
    """What :func:`_csv_rows` makes of one record, for a reader of records it split
    itself (readers/lane.py): the row fitted to ``width``, or None for a blank or footer
    row, counted in ``stats``. ``fit``: a record read ahead to find the header, which
    _csv_rows fits with _data_row (its footer test is wider than the hot loop's). _csv_rows inlines the same steps in its hot loop; tests/test_lane.py holds the
    two to the same rows.
    """
    if fit:
        return _data_row(cells, width, "", stats)
    if not any(cells):
        stats.blank_rows += 1
        return None
    first = cells[0]
    if (
        not first
        or len(cells) != width
        or ((first[:2] in _FOOTER_STARTS or first[0] in _FOOTER_ODD_INITIALS) and _FOOTER(first))
    ):
        return _data_row(cells, width, "", stats)
    return tuple(cells)


def _csv_rows(
    rest: list[tuple[int, Sequence[Cell]]],
    cursor: _CsvCursor,
    width: int,
    stats: ReadStats,
    close: Callable[[], None],
) -> Iterator[NumberedRow]:
    """The data rows: first those the lookahead buffered, then the rest of the file, or
    of its share up to ``cursor.end`` (see :func:`split_rows`).

    The loop over the reader is the hot path of a large export: per row it
    costs a C-level ``any``, a look at the first two characters of the first
    cell (the footer regex runs only when they could start a footer) and a tuple.
    """
    footer, starts, odd_initials = _FOOTER, _FOOTER_STARTS, _FOOTER_ODD_INITIALS
    # ``line`` counts the reader's lines; a row's number, the file's: the reader's first
    # line is the file's ``line_one``.
    reader, line_one, end = cursor.reader, cursor.lines_before + 1, cursor.end
    line = reader.line_num
    try:
        for number, cells in rest:
            row = _data_row(cells, width, "", stats)
            if row is not None:
                yield number, row
        for cells in reader:
            number = line + line_one
            line = reader.line_num
            if line >= end.line:  # the last row of this share, or one straddling its end
                # Fitted as the loop below fits it: a share's end must not change a row.
                row = csv_data_row(cells, width, stats)
                if row is not None:
                    yield number, row
                if line == end.line:
                    return
                end.read_on()
                continue
            if not any(cells):
                stats.blank_rows += 1
                continue
            first = cells[0]
            if (
                not first
                or len(cells) != width
                or ((first[:2] in starts or first[0] in odd_initials) and footer(first))
            ):
                row = _data_row(cells, width, "", stats)
                if row is not None:
                    yield number, row
                continue
            yield number, tuple(cells)
    except (UnicodeError, csv.Error) as error:
        raise _csv_failure(error, cursor.parsing.file, line + line_one) from None
    finally:
        close()


def _csv_no_header(source: str, buffered: list[tuple[int, Sequence[Cell]]]) -> str:
    if all(_is_blank(cells) for _, cells in buffered):
        return f"{source}: the file has only blank lines; export the deals with a header row"
    return f"{source}: {_NO_HEADER}"


_NO_HEADER = (
    f"no header row in the first {HEADER_LOOKAHEAD} non-blank rows "
    "(a header row has at least two text cells); export the deals with a header row"
)


# --- CSV: shares of the rows for other processes -----------------------------

SPLIT_ENCODINGS = frozenset(
    {"utf-8", "utf-8-sig", "ascii", MIXED_ENCODING}
    | {f"cp{number}" for number in range(1250, 1259)}
    | {f"iso8859-{number}" for number in range(1, 17)}
)
"""Codec names (as codecs.lookup gives them) of the encodings :func:`split_rows` splits by
bytes: in each, the bytes of a line break and of a quote are those of ASCII and never part
of another character, so a line break outside quotes is a place to start decoding afresh.
UTF-16 and UTF-32 (and multi-byte legacy encodings) are not: their files are read whole."""

_SPLIT_SEARCH = _CHUNK
"""How far past the place it aims for :func:`split_rows` looks for a line break outside
quotes: a quoted field longer than this across the middle leaves the file unsplit."""


@dataclass(frozen=True)
class _CsvParsing:
    """How a CSV file's bytes become rows, so that a share of it is read the same way."""

    file: _CsvFile
    errors: str
    strip_nul: bool
    delimiter: str

    def reader(self, lines: Iterable[str]) -> _CsvReader:
        if self.strip_nul:
            lines = (line.replace("\x00", "") for line in lines)
        return csv.reader(lines, delimiter=self.delimiter, quotechar='"')


@dataclass(slots=True)
class _RowsEnd:
    """The line a CSV table's rows end on (with the record ending there), if not the last,
    counted as its reader counts them (from the reader's first line, not the file's).

    :func:`split_rows` sets it while the rows are being read; a record straddling it
    means the split was not between records, and the rows then read on to the end of
    the file (``overran``)."""

    line: int = sys.maxsize
    overran: bool = False

    def read_on(self) -> None:
        self.line, self.overran = sys.maxsize, True


@dataclass
class _CsvCursor:
    """A CSV table's reader, and where its lines are in the file."""

    parsing: _CsvParsing
    reader: _CsvReader
    lines_before: int
    """Lines of the file before the reader's first: row numbers are counted from there."""
    end: _RowsEnd
    data_line: int | None = None
    """The line the first record after the header starts on; None if not known."""
    lookahead_line: int = 0
    """The line the last record read ahead to find the header starts on: _csv_rows fits
    those records with _data_row, whose footer test is wider than its hot loop's."""


@dataclass(frozen=True)
class CsvRange:
    """A share of a CSV table's data rows, for another process to read with
    :func:`read_csv_range`: the records from byte ``start`` (just after a line break) up
    to the one ending on line ``last_line`` (``sys.maxsize``: to the end of the file)."""

    start: int
    lines_before: int
    """Lines of the file before ``start``; the share's first row is on the next line."""
    last_line: int
    header: tuple[str, ...]
    header_row: int
    title_rows: int
    parsing: _CsvParsing
    fit_until: int = 0
    """Records starting on lines up to this one are fitted with _data_row (see
    _CsvCursor.lookahead_line); 0 for a range after the rows read ahead."""


def split_rows(table: Table, parts: int) -> list[CsvRange]:
    """End a CSV table's rows about 1/``parts`` of the way into the file, and return the
    rest as up to ``parts - 1`` ranges of about as many bytes, for other processes.

    Each range begins just after the first b"\\n" past its share of the bytes with an even
    count of b'"' before it in the file: outside quotes, as quotes open and close in
    pairs (an escaped quote is two). Only the rows not read yet are shared. [] (the table
    reads on alone) for an XLSX table, an encoding not in :data:`SPLIT_ENCODINGS`, a file
    with no such line break near the middle (an unbalanced quote), or one too short.

    A quote alone inside an unquoted field (``24" screen``) breaks the count; then a
    record can straddle a range's start. The rows before the range notice (a record ends
    on a later line than the one before the range) and read on to the end of the file,
    as :attr:`Table.overran` says: whoever reads the shares must drop the later ones then.
    """
    cursor = table._csv
    if cursor is None or parts < 2 or cursor.end.line != sys.maxsize:
        return []
    if codecs.lookup(cursor.parsing.file.encoding).name not in SPLIT_ENCODINGS:
        return []
    read = cursor.lines_before + cursor.reader.line_num
    try:
        splits = _find_splits(cursor.parsing.file.path, parts, read)
    except OSError:
        return []
    if not splits:
        return []
    cursor.end.line = splits[0][1] - cursor.lines_before
    last_lines = [lines for _, lines in splits[1:]] + [sys.maxsize]
    return [
        CsvRange(
            start, lines, last, table.header, table.header_row, table.title_rows, cursor.parsing
        )
        for (start, lines), last in zip(splits, last_lines, strict=True)
    ]


def data_share(table: Table) -> CsvRange | None:
    """All of a CSV table's data rows as a range of bytes, from the first record after
    the header to the end of the file, rows already taken from ``table.rows`` included
    (to end where :func:`split_rows`' shares begin, replace its ``last_line``). None for an XLSX table, an encoding not split by bytes, or a header with
    no record after it among the rows read to find it.
    """
    cursor = table._csv
    if cursor is None or cursor.data_line is None:
        return None
    if codecs.lookup(cursor.parsing.file.encoding).name not in SPLIT_ENCODINGS:
        return None
    try:
        start = _line_offset(cursor.parsing.file.path, cursor.data_line)
    except OSError:
        return None
    if start is None:
        return None
    return CsvRange(
        start,
        cursor.data_line - 1,
        sys.maxsize,
        table.header,
        table.header_row,
        table.title_rows,
        cursor.parsing,
        cursor.lookahead_line,
    )


def _line_offset(path: str | os.PathLike[str], line: int) -> int | None:
    """The byte offset line ``line`` starts at, counting line breaks as csv does (\\r\\n,
    \\r and \\n); None when the file has fewer lines."""
    breaks = line - 1
    data = b""
    with open(path, "rb") as file:
        while True:
            chunk = file.read(_CHUNK)
            data += chunk
            for found, match in enumerate(_LINE_BREAK.finditer(data), 1):
                # A \r at the end of what is read so far may be the start of a \r\n.
                if found == breaks and (match.end() < len(data) or not chunk):
                    return match.end()
            if not chunk:
                return None if breaks > 0 else 0


_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def read_csv_range(share: CsvRange) -> Table:
    """The data rows of a share of a CSV file, numbered, skipped and counted as the whole
    table's rows are; an error gives the message (and row) a read of the whole file gives."""
    parsing = share.parsing
    file = parsing.file
    try:
        binary = open(file.path, "rb")  # noqa: SIM115 - closed with the text below
    except OSError as error:
        raise unreadable(file.source, error) from None
    # utf-8-sig drops a BOM at the start of what it decodes; in mid-file it is a character.
    encoding = "utf-8" if codecs.lookup(file.encoding).name == "utf-8-sig" else file.encoding
    try:
        binary.seek(share.start)
        text = io.TextIOWrapper(binary, encoding=encoding, errors=parsing.errors, newline="")
    except BaseException:
        binary.close()
        raise
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    cursor = _CsvCursor(
        parsing,
        parsing.reader(_lines(text, file.path, parsing.delimiter)),
        share.lines_before,
        _RowsEnd(share.last_line - share.lines_before),
    )
    stats = ReadStats()
    rows = _csv_rows([], cursor, len(share.header), stats, text.close)
    if share.fit_until > share.lines_before:
        rows = _fit_read_ahead(rows, share.fit_until, len(share.header), stats)
    return Table(
        source=file.source,
        kind="csv",
        header=share.header,
        header_row=share.header_row,
        title_rows=share.title_rows,
        encoding=file.encoding,
        delimiter=parsing.delimiter,
        sheet=None,
        rows=rows,
        stats=stats,
        _close=text.close,
        _csv=cursor,
    )


def _fit_read_ahead(
    rows: Iterator[NumberedRow], until: int, width: int, stats: ReadStats
) -> Iterator[NumberedRow]:
    """Rows starting on lines up to ``until`` fitted again with _data_row, as the rows read
    ahead to find the header are (its footer test is wider than _csv_rows' hot loop's;
    fitting twice changes nothing else)."""
    for number, cells in rows:
        if number <= until:
            fitted = _data_row(cells, width, "", stats)
            if fitted is not None:
                yield number, fitted
        else:
            yield number, cells


def _find_splits(
    path: str | os.PathLike[str], parts: int, after_line: int
) -> list[tuple[int, int]]:
    """Where :func:`split_rows` splits the file: (byte offset, lines before it) pairs,
    rising, each after line ``after_line`` and before the end of the file.

    One pass over the first part of the file, 1 MiB at a time (C-level counts), and over
    the other parts' first line or few.
    """
    splits: list[tuple[int, int]] = []
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        scan = _ByteScan(file)
        for part in range(1, parts):
            scan.skip_to(size * part // parts)
            found = scan.next_split(after_line, scan.position + _SPLIT_SEARCH)
            if found is None:
                continue
            if found[0] >= size:
                break
            splits.append(found)
            after_line = found[1]
    return splits


class _ByteScan:
    """A file read forwards, counting quote bytes and line breaks (as csv counts them)."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.position = 0
        self.quotes = 0
        self.lines = 0
        self.after_cr = False

    def skip_to(self, offset: int) -> None:
        while self.position < offset:
            chunk = self.file.read(min(_CHUNK, offset - self.position))
            if not chunk:
                return
            self._count(chunk, 0, len(chunk))
            self.position += len(chunk)

    def next_split(self, after_line: int, limit: int) -> tuple[int, int] | None:
        """The first offset from here, before ``limit``, just after a b"\\n" with an even
        count of quotes before it and more than ``after_line`` lines; with that count."""
        while self.position < limit:
            window = self.file.read(min(_CHUNK, limit - self.position))
            if not window:
                return None
            start = 0
            while (newline := window.find(b"\n", start)) >= 0:
                self._count(window, start, newline + 1)
                start = newline + 1
                if self.quotes % 2 == 0 and self.lines > after_line:
                    self.position += start
                    self.file.seek(self.position)
                    return self.position, self.lines
            self._count(window, start, len(window))
            self.position += len(window)
        return None

    def _count(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self.quotes += data.count(b'"', start, end)
            self.lines += _count_byte_line_breaks(data, start, end, self.after_cr)
            self.after_cr = data[end - 1] == ord("\r")  # its \n may start the next chunk


# --- XLSX --------------------------------------------------------------------

USE_CALAMINE = True
"""Read XLSX with python-calamine when it is installed, else with openpyxl.

calamine parses in Rust, about ten times faster, but holds the whole sheet in memory
(about 90 MB per 100,000 rows of 13 columns) where openpyxl streams. Both paths give the
same header, rows and counts (tests/test_xlsx_calamine.py holds them to it) except where
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


def _read_xlsx(
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
    header: _Header,
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
    if all(_is_blank(cells) for _, cells in buffered):
        return f"{source}: sheet '{title}' is empty; export the deals with a header row{hint}"
    return f"{source}: sheet '{title}': {_NO_HEADER}{hint}"


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
        buffered = _lookahead(_calamine_numbered(rows, number, pad))
        no_header = _xlsx_no_header(source, title, buffered, hint)
        header = _find_header(buffered, header_score, no_header)
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

    As in :func:`_csv_rows`, a blank row is counted before its cells are converted, and
    a row goes through :func:`_data_row` only when it could be a footer, starts with an
    empty cell or is wider than the header; the others are yielded as they are.
    """
    footer, starts, odd_initials = _FOOTER, _FOOTER_STARTS, _FOOTER_ODD_INITIALS
    try:
        for row_number, cells in rest:
            row = _data_row(cells, width, None, stats)
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
                row = _data_row(cells, width, None, stats)
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
        buffered = _lookahead(numbered)
        no_header = _xlsx_no_header(source, title, buffered, hint)
        header = _find_header(buffered, header_score, no_header)
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
            row = _data_row(cells, width, None, stats)
            if row is not None:
                yield number, row
    finally:
        close()


# --- header and data rows, for both kinds -----------------------------------


@dataclass(frozen=True)
class _Header:
    header: tuple[str, ...]
    header_row: int
    title_rows: int
    rest: list[tuple[int, Sequence[Cell]]]
    """Rows the lookahead read below the header, blank ones included."""


def _lookahead(numbered: Iterator[tuple[int, Sequence[Cell]]]) -> list[tuple[int, Sequence[Cell]]]:
    """Read rows until HEADER_LOOKAHEAD non-blank ones; the rest stays in the file."""
    buffered: list[tuple[int, Sequence[Cell]]] = []
    non_blank = 0
    for number, cells in numbered:
        buffered.append((number, cells))
        if not _is_blank(cells):
            non_blank += 1
            if non_blank == HEADER_LOOKAHEAD:
                break
    return buffered


def _find_header(
    buffered: list[tuple[int, Sequence[Cell]]],
    header_score: HeaderScore | None,
    no_header: str,
) -> _Header:
    """Pick the header among the buffered rows; raise ``no_header`` when none qualifies."""
    positions = [index for index, (_, cells) in enumerate(buffered) if not _is_blank(cells)]
    candidates = [buffered[index][1] for index in positions]
    chosen = _choose_header(candidates, header_score)
    if chosen is None:
        raise ExportError(no_header)
    position = positions[chosen]
    return _Header(
        header=_header_cells(buffered[position][1]),
        header_row=buffered[position][0],
        title_rows=chosen,
        rest=buffered[position + 1 :],
    )


def _choose_header(rows: list[Sequence[Cell]], header_score: HeaderScore | None) -> int | None:
    """Index of the header among non-blank rows.

    Rows of text only (no number, date or amount: :func:`_looks_like_data`) come first:
    the first that the caller's score recognises or the shape rule accepts is the header,
    unless a later one is clearly a better header (the earlier one was a title or a note
    above the table, not a header of names nobody knows): counting only its cells that
    do not come again in the same column below it (a header's names do not; a data
    row's ``Won`` or ``Pipeline`` do), it scores higher, and it fills more cells or
    scores at least 2. A data row never wins over an earlier text row, whatever its cells
    read. Without a text row, the first row with the highest score above zero, else the
    first row of the shape rule with plain numbers as the only data.
    """
    filled = [_count_filled(cells) for cells in rows]
    widest_below = _widest_below(filled)
    scores = [header_score(_header_cells(cells)) if header_score else 0 for cells in rows]
    chosen: int | None = None
    for index, cells in enumerate(rows):
        if filled[index] < 2 or any(_looks_like_data(cell) for cell in cells):
            continue
        if scores[index] <= 0 and filled[index] * 2 < widest_below[index]:
            continue  # a title row, narrower than the table below it
        if chosen is None:
            chosen = index
        elif header_score is not None and scores[index] > scores[chosen]:
            distinct = header_score(_unrepeated(rows, index))
            if distinct > scores[chosen] and (filled[index] > filled[chosen] or distinct >= 2):
                chosen = index
    if chosen is not None:
        return chosen
    if scores and max(scores) > 0:
        return scores.index(max(scores))
    for index, cells in enumerate(rows):
        if (
            filled[index] >= 2
            and filled[index] * 2 >= widest_below[index]
            and all(_is_label(cell) for cell in cells if not _is_empty(cell))
        ):
            return index
    return None


def _unrepeated(rows: list[Sequence[Cell]], index: int) -> tuple[str, ...]:
    """Row ``index``'s names, each blanked when the same text comes again in its column in
    a row below: a column's values repeat (a status, a pipeline), its name does not."""
    below: list[set[str]] = []
    for cells in rows[index + 1 :]:
        for column, name in enumerate(_header_cells(cells)):
            while len(below) <= column:
                below.append(set())
            below[column].add(name)
    return tuple(
        "" if column < len(below) and name in below[column] else name
        for column, name in enumerate(_header_cells(rows[index]))
    )


def _widest_below(filled: list[int]) -> list[int]:
    """For each row, the most non-empty cells of any row below it (0 for the last)."""
    widest, running = [0] * len(filled), 0
    for index in range(len(filled) - 1, -1, -1):
        widest[index] = running
        running = max(running, filled[index])
    return widest


def _header_cells(cells: Sequence[Cell]) -> tuple[str, ...]:
    """Header names: stripped, BOM removed, None as '', trailing empty cells dropped."""
    names = ["" if cell is None else str(cell).replace("\ufeff", "").strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    return tuple(names)


def _is_label(cell: Cell) -> bool:
    """Whether a cell can be a column name: text that is not a plain number."""
    return isinstance(cell, str) and _NUMBER(cell.strip()) is None


def _looks_like_data(cell: Cell) -> bool:
    """Whether a cell reads as a value rather than a name: a number, a date or time, or an
    amount with a currency sign or code (``USD 1,000.00``, ``1 000 Kč``)."""
    if _is_empty(cell):
        return False
    if not isinstance(cell, str):
        return True
    text = cell.strip()
    return bool(_NUMBER(text) or _DATE_LIKE(text) or _AMOUNT_LIKE(text))


def _is_empty(cell: Cell) -> bool:
    return cell is None or cell == ""


def _is_blank(cells: Sequence[Cell]) -> bool:
    return all(cell is None or cell == "" for cell in cells)


def _count_filled(cells: Sequence[Cell]) -> int:
    return sum(1 for cell in cells if cell is not None and cell != "")


def _data_row(
    cells: Sequence[Cell], width: int, filler: Cell, stats: ReadStats
) -> tuple[Cell, ...] | None:
    """A data row fitted to ``width``, or None for a blank or footer row (counted in stats)."""
    first = next((cell for cell in cells if cell is not None and cell != ""), None)
    if first is None:
        stats.blank_rows += 1
        return None
    if isinstance(first, str) and _FOOTER(first) and _count_filled(cells) <= FOOTER_MAX_CELLS:
        stats.footer_rows += 1
        if stats.footer_text is None:
            stats.footer_text = first.strip()
        return None
    return _fit(cells, width, filler)


def _fit(cells: Sequence[Cell], width: int, filler: Cell) -> tuple[Cell, ...]:
    """Pad a short row; drop cells beyond ``width`` only while they are empty."""
    size = len(cells)
    if size < width:
        return (*cells, *(filler,) * (width - size))
    end = size
    while end > width and _is_empty(cells[end - 1]):
        end -= 1
    return tuple(cells[:end])
