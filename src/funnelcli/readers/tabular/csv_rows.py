"""A CSV file's rows: its delimiter, its header (found by readers/tabular/header.py) and its
data rows, streamed one at a time, with every error in one line that names the row.

A CSV line is read with a bound (:data:`RECORD_SIZE_LIMIT`), so a file of megabytes
without a line break is refused before it fills the memory.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Protocol

from funnelcli.errors import ExportError, shown
from funnelcli.readers.sources import unreadable
from funnelcli.readers.tabular.encoding import (
    DetectedEncoding,
    check_encoding,
    detect_encoding,
    find_undecodable,
    unknown_encoding,
)
from funnelcli.readers.tabular.header import (
    FOOTER_ODD_INITIALS,
    FOOTER_STARTS,
    NO_HEADER,
    data_row,
    find_header,
    footer_match,
    is_blank,
    lookahead,
)
from funnelcli.readers.tabular.table import Cell, HeaderScore, NumberedRow, ReadStats, Table

FIELD_SIZE_LIMIT = 10 * 1024 * 1024
"""The largest CSV field accepted, in characters; Python's default is 128 KiB."""

RECORD_SIZE_LIMIT = 16 * 1024 * 1024
"""The longest CSV line accepted, in characters: a file of megabytes with no line break (a
binary dump, a one-line JSON) is refused while it is read, before it fills the memory.
Above :data:`FIELD_SIZE_LIMIT`, so that any field the reader takes fits in a line; the
compiled lane hands records over 8 MiB to the csv module, which applies both limits."""

_SNIFF_LINES = 20
_DELIMITERS = (",", ";", "\t", "|")


class _CsvReader(Protocol):
    """What ``csv.reader`` returns: rows of text, and the count of lines read so far."""

    @property
    def line_num(self) -> int: ...

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


@dataclass(frozen=True)
class CsvFile:
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


def csv_lines(text: IO[str], path: str | os.PathLike[str], delimiter: str) -> Iterable[str]:
    """``text`` itself (the fastest way to hand lines to csv), or its lines read with a bound
    when the file is large enough to hold a line over RECORD_SIZE_LIMIT (it has at least as
    many bytes as characters)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        size = RECORD_SIZE_LIMIT + 1
    return _bounded_lines(text, delimiter) if size > RECORD_SIZE_LIMIT else text


def _csv_failure(error: UnicodeError | csv.Error, file: CsvFile, row: int) -> ExportError:
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


def _codec_failure(file: CsvFile, error: UnicodeError) -> ExportError:
    """A codec failing otherwise than on some bytes: utf-16 without a BOM, for one."""
    reason = " ".join(str(error).split()) or type(error).__name__
    fix = "leave --encoding out to detect it" if file.encoding_given else "re-export it as UTF-8"
    return ExportError(
        f"{file.source}: cannot read the file as {file.encoding} ({shown(reason)}); {fix}"
    )


def _decode_failure(file: CsvFile) -> ExportError:
    try:
        line, undecodable = find_undecodable(file.path, file.encoding)
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


def read_csv(
    path: str | os.PathLike[str],
    source: str,
    head: bytes,
    encoding: str | None,
    header_score: HeaderScore | None,
) -> Table:
    if encoding is None:
        detected = detect_encoding(path, source, head)
        file = CsvFile(path, source, detected.encoding, encoding_given=False)
    else:
        check_encoding(source, encoding)
        detected = DetectedEncoding(encoding, "strict", has_nul=False)
        file = CsvFile(path, source, encoding, encoding_given=True)
    errors, has_nul = detected.errors, detected.has_nul
    csv.field_size_limit(FIELD_SIZE_LIMIT)  # exports hold long notes; the default is 128 KiB
    text = _open_text(file, errors)
    try:
        sample = _read_sample(text, file)
        delimiter = _sniff_delimiter(sample)
        strip_nul = has_nul or any("\x00" in line for line in sample)
        parsing = CsvParsing(file, errors, strip_nul, delimiter)
        reader = parsing.reader(itertools.chain(sample, csv_lines(text, path, delimiter)))
        buffered = lookahead(_csv_numbered(reader, file))
        header = find_header(buffered, header_score, _csv_no_header(source, buffered))
    except BaseException:
        text.close()
        raise
    stats = ReadStats()
    # The first record after the header (blank or not) starts the data: where a read of
    # the data rows by bytes starts (see data_range).
    data_line = header.rest[0][0] if header.rest else None
    cursor = CsvCursor(
        parsing,
        reader,
        lines_before=0,
        end=RowsEnd(),
        data_line=data_line,
        lookahead_line=header.rest[-1][0] if header.rest else 0,
    )
    rows = csv_data_rows(header.rest, cursor, len(header.header), stats, text.close)
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


def _open_text(file: CsvFile, errors: str) -> IO[str]:
    try:
        return open(file.path, encoding=file.encoding, errors=errors, newline="")
    except LookupError:  # a codec that is not a text encoding, such as "hex"
        raise unknown_encoding(file.source, file.encoding) from None
    except UnicodeError as error:
        raise _codec_failure(file, error) from None
    except OSError as error:
        raise unreadable(file.source, error) from None


def _read_sample(text: IO[str], file: CsvFile) -> list[str]:
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


def _csv_numbered(reader: _CsvReader, file: CsvFile) -> Iterator[tuple[int, Sequence[Cell]]]:
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
    """What :func:`csv_data_rows` makes of one record, for a reader of records it split
    itself (readers/lane.py): the row fitted to ``width``, or None for a blank or footer
    row, counted in ``stats``. ``fit``: a record read ahead to find the header, which
    csv_data_rows fits with data_row (its footer test is wider than the hot loop's). csv_data_rows inlines the same steps in its hot loop; tests/readers/test_lane.py holds the
    two to the same rows.
    """
    if fit:
        return data_row(cells, width, "", stats)
    if not any(cells):
        stats.blank_rows += 1
        return None
    first = cells[0]
    if (
        not first
        or len(cells) != width
        or ((first[:2] in FOOTER_STARTS or first[0] in FOOTER_ODD_INITIALS) and footer_match(first))
    ):
        return data_row(cells, width, "", stats)
    return tuple(cells)


def csv_data_rows(
    rest: list[tuple[int, Sequence[Cell]]],
    cursor: CsvCursor,
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
    footer, starts, odd_initials = footer_match, FOOTER_STARTS, FOOTER_ODD_INITIALS
    # ``line`` counts the reader's lines; a row's number, the file's: the reader's first
    # line is the file's ``line_one``.
    reader, line_one, end = cursor.reader, cursor.lines_before + 1, cursor.end
    line = reader.line_num
    try:
        for number, cells in rest:
            row = data_row(cells, width, "", stats)
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
                row = data_row(cells, width, "", stats)
                if row is not None:
                    yield number, row
                continue
            yield number, tuple(cells)
    except (UnicodeError, csv.Error) as error:
        raise _csv_failure(error, cursor.parsing.file, line + line_one) from None
    finally:
        close()


def _csv_no_header(source: str, buffered: list[tuple[int, Sequence[Cell]]]) -> str:
    if all(is_blank(cells) for _, cells in buffered):
        return f"{source}: the file has only blank lines; export the deals with a header row"
    return f"{source}: {NO_HEADER}"


@dataclass(frozen=True)
class CsvParsing:
    """How a CSV file's bytes become rows, so that a share of it is read the same way."""

    file: CsvFile
    errors: str
    strip_nul: bool
    delimiter: str

    def reader(self, lines: Iterable[str]) -> _CsvReader:
        if self.strip_nul:
            lines = (line.replace("\x00", "") for line in lines)
        return csv.reader(lines, delimiter=self.delimiter, quotechar='"')


@dataclass(slots=True)
class RowsEnd:
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
class CsvCursor:
    """A CSV table's reader, and where its lines are in the file."""

    parsing: CsvParsing
    reader: _CsvReader
    lines_before: int
    """Lines of the file before the reader's first: row numbers are counted from there."""
    end: RowsEnd
    data_line: int | None = None
    """The line the first record after the header starts on; None if not known."""
    lookahead_line: int = 0
    """The line the last record read ahead to find the header starts on: csv_data_rows fits
    those records with data_row, whose footer test is wider than its hot loop's."""
