"""What every Rich renderable shares: the console, the guard against control characters,
and the funnel chart. The report's and the plan's renderables are in ``console_report``
and ``console_plan``; the table that fits the terminal by moving, never dropping, columns
(:class:`FittedTable`) is here, for both."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderableType, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from funnelcli.render.neutralise import printable

CHART_WIDTH = 40


def make_console(*, no_color: bool = False, stderr: bool = False) -> Console:
    """A console that drops colour when asked, when NO_COLOR is set, or when not a terminal.

    Markup and emoji codes are off: CRM values like ``[link=javascript:...]`` or ``[/]``
    are text to show, never markup to obey (our own styling uses Text styles).
    """
    return Console(
        stderr=stderr,
        no_color=no_color or None,
        highlight=False,
        soft_wrap=False,
        markup=False,
        emoji=False,
    )


class Printable:
    """A renderable whose text reaches the terminal (or the HTML page) without controls.

    Every name from a CRM, a funnel file or a file name passes through here on its way out,
    so a deal named ``ESC[2J`` shows as ``[2J`` instead of clearing the screen. Rich keeps
    its own colours and cursor moves apart from the text (styles and control segments),
    so those are left alone.
    """

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.renderable, options):
            if segment.control:
                yield segment
            else:
                yield Segment(printable(segment.text), segment.style)


def funnel_chart(labels: Sequence[str], counts: Sequence[int], width: int = CHART_WIDTH) -> Text:
    """Centred bars, widest at the top, each as wide as its count relative to the first.

    Bars are at least one cell wide so a small won count still shows.
    """
    largest = max(counts, default=0) or 1
    label_width = max((len(label) for label in labels), default=0)
    text = Text()
    for label, count in zip(labels, counts, strict=True):
        cells = max(1, round(width * count / largest)) if count else 0
        padding = (width - cells) // 2
        text.append(" " * (label_width - cell_len(label)) + label + " ")
        text.append(" " * padding)
        text.append("█" * cells, style="cyan")
        text.append(" " * (width - cells - padding))
        text.append(f" {count:,}\n")
    text.rstrip()
    return text


class FunnelChart:
    """The funnel chart, as wide as :data:`CHART_WIDTH` or as the terminal allows."""

    def __init__(self, labels: Sequence[str], counts: Sequence[int]) -> None:
        self.labels = labels
        self.counts = counts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        label_width = max((cell_len(label) for label in self.labels), default=0)
        count_width = max((len(f"{count:,}") for count in self.counts), default=0)
        room = options.max_width - label_width - count_width - 2
        yield funnel_chart(self.labels, self.counts, width=max(5, min(CHART_WIDTH, room)))


# --- tables no wider than the terminal ------------------------------------------------------

GAP = 2
"""Cells between two columns: a cell's right padding and the box's blank separator."""


@dataclass(frozen=True)
class Column:
    """A column of a :class:`FittedTable`.

    ``folds``: text (a name) that may wrap onto more lines; otherwise a figure, which is
    never wrapped or cut. ``wrap_header``: the header (a stage's name, or words like
    ``Days before loss``) may wrap at its spaces when the table is short of room.
    """

    header: str
    justify: JustifyMethod = "right"
    folds: bool = False
    wrap_header: bool = False


Cell = str | Text


def _width(cell: Cell) -> int:
    return cell_len(cell.plain if isinstance(cell, Text) else cell)


def _widest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


def natural_widths(columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> list[int]:
    """Each column as wide as its widest cell or header: nothing wraps."""
    return [
        max([cell_len(column.header), *(_width(row[index]) for row in rows)])
        for index, column in enumerate(columns)
    ]


def compact_widths(
    columns: Sequence[Column], rows: Sequence[Sequence[Cell]], max_width: int
) -> list[int]:
    """The widths when the natural ones do not fit: a name (a text column) takes at most a
    third of the width and wraps past it; then headers that may wrap do so at their spaces,
    the one that saves most first, until the table fits. A figure keeps its full width."""
    widths = natural_widths(columns, rows)
    for index, column in enumerate(columns):
        if column.folds:
            widths[index] = min(widths[index], max(cell_len(column.header), max_width // 3))
    wrapped = {
        index: max([_widest_word(column.header), *(_width(row[index]) for row in rows)])
        for index, column in enumerate(columns)
        if column.wrap_header
    }
    for index in sorted(wrapped, key=lambda index: wrapped[index] - widths[index]):
        excess = table_width(widths) - max_width
        if excess <= 0:
            break
        # No narrower than needed: "Days before loss" goes on two lines, not three.
        widths[index] = max(wrapped[index], widths[index] - excess)
    return widths


def table_width(widths: Sequence[int]) -> int:
    return sum(widths) + GAP * (len(widths) - 1)


def split_columns(
    widths: Sequence[int], max_width: int, give_up: Sequence[Sequence[int]] = ()
) -> list[list[int]]:
    """The columns (by index) of each table, the first column (the row's name) leading each.

    The first table takes every column that fits; when they do not all fit, the group of
    columns first in ``give_up`` (the least needed; then single columns from the right)
    moves to the next table, and so on. A group moves as one: a figure and its change.
    Every column lands in exactly one table and keeps its order there: no figure is
    dropped, a narrow terminal only gets more tables.
    """
    grouped = {index for group in give_up for index in group}
    order = [
        *(list(group) for group in give_up),
        *([index] for index in range(len(widths) - 1, 0, -1) if index not in grouped),
    ]
    remaining = list(range(1, len(widths)))
    tables = []
    while remaining:
        taken = list(remaining)
        while table_width([widths[0], *(widths[i] for i in taken)]) > max_width:
            group = next(group for group in order if set(group) & set(taken))
            if set(taken) <= set(group):
                break  # the last group left: it takes a table of its own, however wide
            taken = [index for index in taken if index not in group]
        tables.append(taken)
        remaining = [index for index in remaining if index not in taken]
    return tables or [[]]


class FittedTable:
    """A table as wide as the terminal allows, without losing a figure.

    When every column fits, one table. When not, names wrap (see :func:`compact_widths`)
    and the columns that still do not fit move to a table below, headed ``continued``
    and led again by the first column, so each row can be found by its name. No cell
    is cut short or ends in an ellipsis.
    """

    def __init__(
        self,
        columns: Sequence[Column],
        rows: Sequence[Sequence[Cell]],
        *,
        title: str | None = None,
        continued: str,
        give_up: Sequence[Sequence[int]] = (),
        row_styles: Sequence[str | None] | None = None,
    ) -> None:
        """``give_up``: groups of column indexes, the first to move to a continuation first
        (see :func:`split_columns`); ``row_styles``: one style (or None) per row."""
        self.columns = columns
        self.rows = rows
        self.title = title
        self.continued = continued
        self.give_up = give_up
        self.row_styles = row_styles

    def tables(self, max_width: int) -> list[tuple[str | None, Table]]:
        """Each table with its title (the first one's may be None)."""
        widths = natural_widths(self.columns, self.rows)
        if table_width(widths) > max_width:
            widths = compact_widths(self.columns, self.rows, max_width)
        parts = split_columns(widths, max_width, self.give_up)
        return [
            (self.title if number == 0 else self.continued, self._table([0, *indexes], widths))
            for number, indexes in enumerate(parts)
        ]

    def _table(self, indexes: Sequence[int], widths: Sequence[int]) -> Table:
        table = Table(
            box=box.SIMPLE_HEAD,
            show_edge=False,
            header_style="bold",
            pad_edge=False,
            padding=(0, 1, 0, 0),
        )
        for index in indexes:
            column = self.columns[index]
            table.add_column(
                column.header, justify=column.justify, width=widths[index], overflow="fold"
            )
        styles = self.row_styles or [None] * len(self.rows)
        for row, style in zip(self.rows, styles, strict=True):
            table.add_row(*(row[index] for index in indexes), style=style)
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for number, (title, table) in enumerate(self.tables(options.max_width)):
            if number:
                yield Text("")
            if title:
                yield Text(title, style="italic")
            yield table
