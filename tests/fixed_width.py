"""Reading the terminal's tables back: each table's title, headers and rows, as text.

The terminal draws a table as a header (one line or more: a stage's name may wrap), a rule
of ``─`` and rows whose columns are two or more spaces apart. Columns are found where every
row is blank, so a cell holding one space (``25% -> 30%``, ``James Ascencio``) stays whole.
A name that wrapped onto a second line (its other cells blank there) is joined back with a
space. A title is the line above the header that crosses a column's gap, or has text in
the first column alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len

RULE = "─"


@dataclass(frozen=True)
class TextTable:
    title: str | None
    headers: list[str]
    rows: list[list[str]]

    def column(self, header: str) -> list[str]:
        return [row[self.headers.index(header)] for row in self.rows]

    def row(self, name: str) -> dict[str, str]:
        """The cells of the row whose first cell is ``name`` (spaces ignored), by header."""
        key = "".join(name.split())
        for row in self.rows:
            if "".join(row[0].split()) == key:
                return dict(zip(self.headers, row, strict=True))
        raise AssertionError(f"no row {name!r} in {self.title or self.headers}")


def _spans(lines: list[str], width: int) -> list[tuple[int, int]]:
    """The columns' [start, end) positions: runs of text between gaps of 2+ blank cells."""
    blank = [all(i >= len(line) or line[i] == " " for line in lines) for i in range(width)]
    spans, start, i = [], None, 0
    while i < width:
        if not blank[i]:
            if start is None:
                start = i
            i += 1
            continue
        run = i
        while run < width and blank[run]:
            run += 1
        if start is not None and (run - i >= 2 or run == width):
            spans.append((start, i))
            start = None
        i = run
    if start is not None:
        spans.append((start, width))
    return spans


def _cells(line: str, spans: list[tuple[int, int]]) -> list[str]:
    return [line[start:end].strip() for start, end in spans]


def _crosses_a_gap(line: str, spans: list[tuple[int, int]]) -> bool:
    inside = {i for start, end in spans for i in range(start, end)}
    return any(char != " " and i not in inside for i, char in enumerate(line))


def _joined(parts: list[list[str]]) -> list[str]:
    return [" ".join(part for part in column if part) for column in zip(*parts, strict=True)]


def _wrapped(above: str, cells: list[str], lead_width: int) -> bool:
    """Whether the line of ``cells`` goes on the row above: a text cell of it wrapped (its
    name blank here), or its name wrapped: the other cells blank, and the name's first
    word too wide to have stayed on the line above (a row like ``Win rate`` with no
    figures in this table is a row of its own)."""
    if not cells[0]:
        return True
    first_word = cells[0].split()[0]
    return not any(cells[1:]) and cell_len(above) + 1 + cell_len(first_word) > lead_width


def read_tables(text: str, ends: tuple[str, ...] = ()) -> list[TextTable]:
    """Every table in ``text``; a table's rows end at a blank line or a line starting with
    one of ``ends`` (a footnote printed right under a table)."""
    lines = text.splitlines()
    tables = []
    for index, line in enumerate(lines):
        if not line.strip() or set(line.strip()) != {RULE}:
            continue
        width = cell_len(line.rstrip())
        body = []
        for row in lines[index + 1 :]:
            if not row.strip() or row.startswith(ends):
                break
            body.append(row.rstrip())
        above = []
        for row in reversed(lines[:index]):
            if not row.strip():
                break
            above.insert(0, row.rstrip())
        title = None
        spans = _spans(body + above[1:], width)
        if len(above) > 1 and (
            _crosses_a_gap(above[0], spans) or not any(_cells(above[0], spans)[1:])
        ):
            title = above.pop(0).strip()
        else:
            spans = _spans(body + above, width)
        headers = _joined([_cells(row, spans) for row in above])
        rows: list[list[list[str]]] = []
        lead_width = spans[0][1] - spans[0][0] if spans else 0
        for row in body:
            cells = _cells(row, spans)
            if rows and _wrapped(rows[-1][-1][0], cells, lead_width):
                rows[-1].append(cells)
            else:
                rows.append([cells])
        tables.append(TextTable(title, headers, [_joined(row) for row in rows]))
    return tables
