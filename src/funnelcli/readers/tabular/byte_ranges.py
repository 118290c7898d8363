"""A large CSV file's rows shared between processes by byte ranges (:func:`split_rows`,
:func:`read_csv_range`): each range is decoded and parsed as the whole file would be, its
rows keep their line numbers, and its skipped rows are counted in its own
:class:`~funnelcli.readers.tabular.table.ReadStats`, which ``ReadStats.merge`` adds up.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from funnelcli.readers.sources import unreadable
from funnelcli.readers.tabular.csv_rows import (
    FIELD_SIZE_LIMIT,
    CsvCursor,
    CsvParsing,
    RowsEnd,
    csv_data_rows,
    csv_lines,
)
from funnelcli.readers.tabular.encoding import MIXED_ENCODING, count_byte_line_breaks
from funnelcli.readers.tabular.header import data_row
from funnelcli.readers.tabular.table import NumberedRow, ReadStats, Table

_CHUNK = 1024 * 1024

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
class CsvRange:
    """A byte range of a CSV table's data rows, for another process to read with
    :func:`read_csv_range`: the records from byte ``start`` (just after a line break) up
    to the one ending on line ``last_line`` (``sys.maxsize``: to the end of the file)."""

    start: int
    lines_before: int
    """Lines of the file before ``start``; the range's first row is on the next line."""
    last_line: int
    header: tuple[str, ...]
    header_row: int
    title_rows: int
    parsing: CsvParsing
    fit_until: int = 0
    """Records starting on lines up to this one are fitted with data_row (see
    CsvCursor.lookahead_line); 0 for a range after the rows read ahead."""


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
    as :attr:`Table.overran` says: whoever reads the ranges must drop the later ones then.
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


def data_range(table: Table) -> CsvRange | None:
    """All of a CSV table's data rows as a range of bytes, from the first record after
    the header to the end of the file, rows already taken from ``table.rows`` included
    (to end where :func:`split_rows`' ranges begin, replace its ``last_line``). None for an XLSX table, an encoding not split by bytes, or a header with
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


def read_csv_range(byte_range: CsvRange) -> Table:
    """The data rows of a byte range of a CSV file, numbered, skipped and counted as the whole
    table's rows are; an error gives the message (and row) a read of the whole file gives."""
    parsing = byte_range.parsing
    file = parsing.file
    try:
        binary = open(file.path, "rb")  # noqa: SIM115 - closed with the text below
    except OSError as error:
        raise unreadable(file.source, error) from None
    # utf-8-sig drops a BOM at the start of what it decodes; in mid-file it is a character.
    encoding = "utf-8" if codecs.lookup(file.encoding).name == "utf-8-sig" else file.encoding
    try:
        binary.seek(byte_range.start)
        text = io.TextIOWrapper(binary, encoding=encoding, errors=parsing.errors, newline="")
    except BaseException:
        binary.close()
        raise
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    cursor = CsvCursor(
        parsing,
        parsing.reader(csv_lines(text, file.path, parsing.delimiter)),
        byte_range.lines_before,
        RowsEnd(byte_range.last_line - byte_range.lines_before),
    )
    stats = ReadStats()
    rows = csv_data_rows([], cursor, len(byte_range.header), stats, text.close)
    if byte_range.fit_until > byte_range.lines_before:
        rows = _fit_read_ahead(rows, byte_range.fit_until, len(byte_range.header), stats)
    return Table(
        source=file.source,
        kind="csv",
        header=byte_range.header,
        header_row=byte_range.header_row,
        title_rows=byte_range.title_rows,
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
    """Rows starting on lines up to ``until`` fitted again with data_row, as the rows read
    ahead to find the header are (its footer test is wider than csv_data_rows' hot loop's;
    fitting twice changes nothing else)."""
    for number, cells in rows:
        if number <= until:
            fitted = data_row(cells, width, "", stats)
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
            self.lines += count_byte_line_breaks(data, start, end, self.after_cr)
            self.after_cr = data[end - 1] == ord("\r")  # its \n may start the next chunk


# --- XLSX --------------------------------------------------------------------
