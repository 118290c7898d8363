"""The export's probability column per stage, for a report whose losses are unattributed.

When lost deals carry no stage (report.py: "losses unattributed"), P(win) per stage
cannot be measured; the CRM's own probability column (Zoho's ``Probability (%)``,
Salesforce's ``Probability (%)``, Pipedrive's ``Deal - Probability``: the headers of
:data:`~funnelcli.readers.columns.PROBABILITY_HEADERS`) is the next best figure. This
reads it: per stage, the mean probability of the open deals the report counts there.

It is a second pass over the file, in one Python process, through the same
:class:`~funnelcli.readers.deals.DealReader` (so the same filters, repeated ids and
history apply) and its fast lane of tuples where there is no history: about 1.2 s per
100,000 rows on a 2-core machine (3.5 s for a 300,000-row Zoho-like export whose first
read took 2.2 s), paid only when losses are unattributed and the export has a
probability column.

A cell is read as ``90``, ``90%``, ``0.9`` or ``0,9``; a blank cell is no probability.
Written with a ``%`` it is a percentage; without, a fraction from 0 to 1, unless some
cell of the column without a ``%`` is above 1: then the column is in percentages, and
every such cell is (a ``1`` in a column of ``10, 40, 90`` is 1%). Any other value, or
one outside 0..100%, is refused with its row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from funnelcli.dates import DayOrder
from funnelcli.deal_records import Deal, DealRow, open_stage
from funnelcli.definition import Funnel
from funnelcli.errors import ExportError, shown
from funnelcli.readers.cell_formats import DateColumns
from funnelcli.readers.columns import ColumnMap
from funnelcli.readers.deals import DealReader, Slicing, TimelineSource
from funnelcli.readers.tabular.table import Cell, Table
from funnelcli.report_figures import StageProbabilities


def stage_probabilities(
    table: Table,
    funnel: Funnel,
    columns: ColumnMap,
    orders: dict[int, DayOrder | None],
    date_format: str | None,
    slicing: Slicing,
    *,
    column: int,
    history: TimelineSource | None = None,
    as_of: dt.date | None = None,
    decimal_comma: bool = False,
) -> StageProbabilities:
    """Per stage, the mean of the column over the open deals the report counts there.

    ``table`` is a fresh open of the export; its rows are read to the end.
    """
    reader = DealReader(
        table,
        funnel,
        columns,
        DateColumns(orders, date_format),
        slicing,
        history,
        None if history is None else as_of,
        decimal_comma=decimal_comma,
    )
    count = len(funnel.stages)
    header = table.header[column]
    # Per stage: the values as written without a %, those with one (already fractions).
    plain: list[list[Fraction]] = [[] for _ in range(count)]
    percents: list[list[Fraction]] = [[] for _ in range(count)]
    above_one = False
    cells_by_row: dict[int, Cell] = {}  # the column's cell of each row read, until its deal
    for deal in _deals(reader, _tap(table.rows, cells_by_row, column)):
        number = deal.row if isinstance(deal, Deal) else deal[0]
        cell = cells_by_row.pop(number)
        while cells_by_row and next(iter(cells_by_row)) < number:  # rows skipped before it
            del cells_by_row[next(iter(cells_by_row))]
        stage = open_stage(deal, count)
        if stage is None:
            continue
        read = _probability(cell, number, header, table.source)
        if read is None:
            continue
        value, percent = read
        if percent:
            percents[stage].append(value / 100)
        else:
            plain[stage].append(value)
            above_one = above_one or value > 1
    means: list[Fraction | None] = []
    for stage in range(count):
        values = percents[stage] + [value / 100 if above_one else value for value in plain[stage]]
        if any(value > 1 for value in values):
            raise ExportError(
                f"{table.source}: {shown(header, 30)}: a probability above 100%; "
                "the column must hold values like 90, 90% or 0.9"
            )
        means.append(sum(values, Fraction(0)) / len(values) if values else None)
    return StageProbabilities(header, tuple(means))


def _deals(
    reader: DealReader, rows: Iterator[tuple[int, tuple[Cell, ...]]]
) -> Iterator[Deal | DealRow]:
    """The deals as the report read them: through the fast lane's tuples (3 to 4 times
    quicker than a Deal a row) unless a history file gives them timelines."""
    if reader.history is not None:
        yield from reader.deals(rows)
        return
    for batch in reader.deal_rows(rows):
        yield from batch


def _tap(
    rows: Iterator[tuple[int, tuple[Cell, ...]]], cells: dict[int, Cell], column: int
) -> Iterator[tuple[int, tuple[Cell, ...]]]:
    """Pass rows on, keeping each row's probability cell by row number for its deal (a
    batch of deals comes after its rows are read; a skipped row's cell is dropped once a
    later row's deal comes)."""
    for row in rows:
        number, values = row
        cells[number] = values[column] if column < len(values) else None
        yield row


def probability_cell(cell: Cell) -> tuple[Fraction, bool] | None:
    """(value, written with a %) for a probability cell: ``90``, ``90%``, ``0.9``, ``0,9``;
    None when blank. Raises ValueError for anything else (not a number, below 0)."""
    if cell is None or cell == "":
        return None
    text = str(cell).strip()
    if not text:
        return None
    percent = text.endswith("%")
    number = text.rstrip("%").strip()
    if "," in number and "." not in number:
        number = number.replace(",", ".")
    try:
        value = Fraction(Decimal(number))
    except (InvalidOperation, ValueError, OverflowError):  # not a number, NaN, infinity
        raise ValueError(text) from None
    if value < 0:
        raise ValueError(text)
    return value, percent


def _probability(cell: Cell, row: int, header: str, source: str) -> tuple[Fraction, bool] | None:
    """:func:`probability_cell`, a cell that is no probability refused with its row."""
    try:
        return probability_cell(cell)
    except ValueError:
        raise ExportError(
            f"{source}: row {row}: {shown(header, 30)} '{shown(str(cell).strip(), 30)}' is not a "
            "probability; write it like 90, 90% or 0.9, or leave it blank"
        ) from None
