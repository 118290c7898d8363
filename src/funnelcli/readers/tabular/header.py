"""The header row among the first rows of a file, and the blank and footer rows below it.

Both readers (CSV and XLSX) hand their first rows to :func:`lookahead` and
:func:`find_header`, and each data row to :func:`data_row`, which skips blank rows and
the footer rows some CRMs write below the data (``Total``, ``Confidential Information
...``, ``Copyright ...``) and counts them in
:class:`~funnelcli.readers.tabular.table.ReadStats`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from funnelcli.errors import ExportError
from funnelcli.readers.tabular.table import Cell, HeaderScore, ReadStats

HEADER_LOOKAHEAD = 50
"""How many non-blank rows are searched for the header row."""

FOOTER_MAX_CELLS = 3
"""A footer row (``Total 12 1,234.00``) has at most this many non-empty cells."""


footer_match = re.compile(
    r"\s*(?:(?:(?:grand\s+)?total|confidential\s+information|copyright|generated\s+by)\b|©)",
    re.IGNORECASE,
).match
# How a cell footer_match matches can start: a cheap test before the regex on the hot path.
FOOTER_STARTS = frozenset(
    first + second
    for word in ("to", "gr", "co", "ge")
    for first in (word[0], word[0].upper())
    for second in (word[1], word[1].upper())
)
FOOTER_ODD_INITIALS = frozenset("©" + string.whitespace + "\u00a0\u3000")
_NUMBER = re.compile(r"[-+]?\d[\d,.\s]*%?").fullmatch
_DATE_LIKE = re.compile(
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[T\s].*)?|\d{1,2}:\d{2}(?::\d{2})?"
).fullmatch
_AMOUNT_LIKE = re.compile(
    r"(?:[$€£¥₹]|US\$|[A-Z]{3})\s?[-+]?\d[\d,.\s'\u00a0\u202f]*"
    r"|[-+]?\d[\d,.\s'\u00a0\u202f]*\s?(?:[$€£¥₹]|[A-Z]{3}|Kč|kr|zł|Ft)"
).fullmatch

NO_HEADER = (
    f"no header row in the first {HEADER_LOOKAHEAD} non-blank rows "
    "(a header row has at least two text cells); export the deals with a header row"
)


@dataclass(frozen=True)
class Header:
    header: tuple[str, ...]
    header_row: int
    title_rows: int
    rest: list[tuple[int, Sequence[Cell]]]
    """Rows the lookahead read below the header, blank ones included."""


def lookahead(numbered: Iterator[tuple[int, Sequence[Cell]]]) -> list[tuple[int, Sequence[Cell]]]:
    """Read rows until HEADER_LOOKAHEAD non-blank ones; the rest stays in the file."""
    buffered: list[tuple[int, Sequence[Cell]]] = []
    non_blank = 0
    for number, cells in numbered:
        buffered.append((number, cells))
        if not is_blank(cells):
            non_blank += 1
            if non_blank == HEADER_LOOKAHEAD:
                break
    return buffered


def find_header(
    buffered: list[tuple[int, Sequence[Cell]]],
    header_score: HeaderScore | None,
    no_header: str,
) -> Header:
    """Pick the header among the buffered rows; raise ``no_header`` when none qualifies."""
    positions = [index for index, (_, cells) in enumerate(buffered) if not is_blank(cells)]
    candidates = [buffered[index][1] for index in positions]
    chosen = _choose_header(candidates, header_score)
    if chosen is None:
        raise ExportError(no_header)
    position = positions[chosen]
    return Header(
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


def is_blank(cells: Sequence[Cell]) -> bool:
    return all(cell is None or cell == "" for cell in cells)


def _count_filled(cells: Sequence[Cell]) -> int:
    return sum(1 for cell in cells if cell is not None and cell != "")


def data_row(
    cells: Sequence[Cell], width: int, filler: Cell, stats: ReadStats
) -> tuple[Cell, ...] | None:
    """A data row fitted to ``width``, or None for a blank or footer row (counted in stats)."""
    first = next((cell for cell in cells if cell is not None and cell != ""), None)
    if first is None:
        stats.blank_rows += 1
        return None
    if isinstance(first, str) and footer_match(first) and _count_filled(cells) <= FOOTER_MAX_CELLS:
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
