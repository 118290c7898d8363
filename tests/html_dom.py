"""An HTML page read back with the standard library's parser: its elements, text and tables.

The tests of the HTML pages compare what a reader sees (table cells, chart labels, cards)
with the JSON of the same command; this parser is their only way in, so that a test never
leans on the writer's own code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import NamedTuple

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"})
HIDDEN = frozenset({"style", "script", "title", "desc"})


class Element(NamedTuple):
    tag: str
    attrs: dict[str, str | None]


class Cell(NamedTuple):
    """A table cell: its visible text, and the mark after it (▼, ★) with its words."""

    text: str
    mark: str
    tag: str  # th or td
    attrs: dict[str, str | None]


@dataclass
class Table:
    caption: str = ""
    header: list[Cell] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)

    def column(self, name: str) -> int:
        return [cell.text for cell in self.header].index(name)

    def row(self, name: str) -> list[Cell]:
        """The row whose first cell is ``name``."""
        matches = [row for row in self.rows if row[0].text == name]
        assert len(matches) == 1, (name, [row[0].text for row in self.rows])
        return matches[0]

    def cell(self, row: str, column: str) -> Cell:
        return self.row(row)[self.column(column)]


@dataclass
class Card:
    label: str = ""
    figure: str = ""
    detail: str = ""


class Dom(HTMLParser):
    """Every element with its attributes, the document's title, the visible text, the
    tables, the cards, and the texts of the SVG charts (one list per chart)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.title = ""
        self.text = ""
        self.tables: list[Table] = []
        self.cards: list[Card] = []
        self.charts: list[list[str]] = []
        self.chart_titles: list[str] = []  # each chart's <title> and <desc>, as read
        self._stack: list[Element] = []
        self._table: Table | None = None
        self._cell: list[str] | None = None
        self._mark: list[str] = []
        self._cell_element: Element | None = None
        self._in_head = False
        self._row: list[Cell] | None = None
        self._card_part = ""
        self.feed(html)
        self.close()

    # --- where we are ------------------------------------------------------------------

    def _inside(self, tag: str) -> bool:
        return any(element.tag == tag for element in self._stack)

    def _classes(self) -> set[str]:
        return {
            name for element in self._stack for name in (element.attrs.get("class") or "").split()
        }

    # --- the parser's events -----------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag in VOID:
            return
        self._stack.append(element)
        classes = set((element.attrs.get("class") or "").split())
        if tag == "svg":
            self.charts.append([])
        elif tag == "table":
            self._table = Table()
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td") and self._table is not None:
            self._cell, self._mark, self._cell_element = [], [], element
        elif tag == "div" and "card" in classes:
            self.cards.append(Card())
        for part in ("card-label", "card-figure", "card-detail"):
            if part in classes:
                self._card_part = part.removeprefix("card-")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            element = self._stack.pop()
            self._close(element)
            if element.tag == tag:
                break

    def _close(self, element: Element) -> None:
        tag = element.tag
        if tag in ("th", "td") and self._cell is not None and self._row is not None:
            assert self._cell_element is not None
            cell = Cell(
                " ".join("".join(self._cell).split()),
                " ".join("".join(self._mark).split()),
                tag,
                self._cell_element.attrs,
            )
            self._row.append(cell)
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._inside("thead"):
                self._table.header = self._row
            else:
                self._table.rows.append(self._row)
            self._row = None
        elif tag == "table" and self._table is not None:
            self.tables.append(self._table)
            self._table = None
        elif (
            tag == "div" and self._card_part and element.attrs.get("class", "").startswith("card-")
        ):
            self._card_part = ""

    def handle_data(self, data: str) -> None:
        in_svg = self._inside("svg")
        if self._inside("title") and not in_svg:
            self.title += data
            return
        if in_svg:
            innermost, parent = self._stack[-1], self._stack[-2]
            if innermost.tag in ("title", "desc") and parent.tag == "svg":
                self.chart_titles.append(data)
            elif self._inside("text"):
                self.charts[-1].append(data)
        if any(self._inside(tag) for tag in HIDDEN):
            return
        classes = self._classes()
        if self._cell is not None:
            if "mark" in classes or "vh" in classes:
                self._mark.append(data)
            else:
                self._cell.append(data)
        if self._card_part and self.cards:
            card = self.cards[-1]
            setattr(card, self._card_part, getattr(card, self._card_part) + data.strip())
        if self._table is not None and self._inside("caption"):
            self._table.caption += data
        self.text += data

    # --- what the tests ask ------------------------------------------------------------

    def table(self, caption: str) -> Table:
        """The table whose caption starts with ``caption``."""
        matches = [table for table in self.tables if table.caption.strip().startswith(caption)]
        assert len(matches) == 1, (caption, [table.caption for table in self.tables])
        return matches[0]

    def card(self, label: str) -> Card:
        matches = [card for card in self.cards if card.label == label]
        assert len(matches) == 1, (label, [card.label for card in self.cards])
        return matches[0]

    def tags(self) -> set[str]:
        return {element.tag for element in self.elements}

    def flat_text(self) -> str:
        return " ".join(self.text.split())
