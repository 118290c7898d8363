"""What a read of a CSV or XLSX file returns: a header and a lazy stream of rows.

Row numbers are physical: the 1-based line of a CSV file on which a row starts
(a quoted field can hold line breaks, so a row can span several lines), or the
1-based row of the worksheet. They are what the user sees in an editor or in
Excel, so messages can point at them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypeAlias

if TYPE_CHECKING:
    from funnelcli.readers.tabular.csv_rows import CsvCursor

Cell: TypeAlias = str | int | float | datetime.datetime | datetime.date | None
NumberedRow: TypeAlias = tuple[int, tuple[Cell, ...]]
HeaderScore: TypeAlias = Callable[[Sequence[str]], int]


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
    _csv: CsvCursor | None = field(default=None, repr=False, compare=False)
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
