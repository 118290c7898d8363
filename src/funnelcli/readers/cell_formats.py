"""How an export writes its cells: the day/month order of each date column and the decimal
separator of the amount column, inferred from a sample or, when the sample leaves them open,
from every cell; a cell as text; a yes/no flag; the sample rows themselves.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from funnelcli.dates import DateOrderEvidence, DayOrder, shared_order, slash_formats
from funnelcli.errors import ExportError, shown
from funnelcli.money import DecimalEvidence, parse_money
from funnelcli.readers.columns import ColumnMap
from funnelcli.readers.tabular.table import Cell, Table

DATE_SAMPLE_ROWS = 2000
"""Rows looked at before deciding whether the whole file must be scanned for date order."""

_TRUE = frozenset({"true", "1", "yes", "y", "x", "won", "wahr", "vrai", "sí", "si", "ja"})
_FALSE = frozenset({"false", "0", "no", "n", "", "falsch", "faux", "nein", "nej"})


@dataclass(frozen=True)
class DateColumns:
    """The date columns of an export and the day/month order each uses."""

    orders: dict[int, DayOrder | None]
    date_format: str | None


def date_columns(columns: ColumnMap) -> list[int]:
    indexes = [columns.get(name) for name in ("created", "closed")]
    indexes += [column.index for column in columns.entered if column.stage is not None]
    return sorted({index for index in indexes if index is not None})


def needs_full_date_scan(rows: Sequence[Sequence[Cell]], indexes: list[int]) -> bool:
    """True when the sample holds slash dates whose order the sample alone cannot settle."""
    for index in indexes:
        evidence = DateOrderEvidence()
        for row in rows:
            if index < len(row):
                evidence.observe(row[index])
        if evidence.slash_count:
            return True
    return False


def infer_date_orders(
    rows: Iterator[Sequence[Cell]], indexes: list[int], headers: Sequence[str], source: str
) -> dict[int, DayOrder | None]:
    """Observe every value of each date column; a mixed column is an error, and so is an
    undecided one unless the export's other date columns agree on an order (one export,
    one locale: see dates.py, :func:`~funnelcli.dates.shared_order`)."""
    evidence = {index: DateOrderEvidence() for index in indexes}
    for row in rows:
        for index, seen in evidence.items():
            if index < len(row):
                seen.observe(row[index])
    shared = shared_order(evidence.values())
    orders: dict[int, DayOrder | None] = {}
    for index, seen in evidence.items():
        header = headers[index]
        if seen.conflict is not None:
            month_first, day_first = seen.conflict
            raise ExportError(
                f"{source}: column '{header}' mixes month-first ({month_first}) and day-first "
                f"({day_first}) dates; pass --date-format, like --date-format %d/%m/%Y"
            )
        if seen.needs_order and shared is None:
            example = seen.first_ambiguous or ""
            day_first, month_first = slash_formats(example)
            raise ExportError(
                f"{source}: column '{header}': dates like {example} could be day or "
                f"month first and no value decides; pass --date-format {day_first} or "
                f"{month_first}"
            )
        orders[index] = shared if seen.needs_order else seen.order
    return orders


def needs_full_amount_scan(rows: Sequence[Sequence[Cell]], index: int | None) -> bool:
    """True when the sample's amounts leave the column's decimal separator open (see
    :attr:`~funnelcli.money.DecimalEvidence.needs_full_scan`)."""
    if index is None:
        return False
    return _decimal_evidence(rows, index).needs_full_scan


def _decimal_evidence(rows: Iterable[Sequence[Cell]], index: int) -> DecimalEvidence:
    """What the amount cells of ``rows`` (column ``index``) show of their separators."""
    evidence = DecimalEvidence()
    for row in rows:
        if index < len(row):
            evidence.observe(row[index])
    return evidence


def infer_decimal_comma(
    rows: Iterator[Sequence[Cell]], index: int, headers: Sequence[str], source: str
) -> bool:
    """Whether the amount column writes decimal commas, from every one of its cells; a
    column showing both a decimal comma and a decimal point is an error (see money.py,
    "Decimal commas, per column"). Made before any amount is summed, so every process
    and lane reads the column one way."""
    evidence = _decimal_evidence(rows, index)
    if evidence.conflict is not None:
        comma, point, either = evidence.conflict
        raise ExportError(
            f"{source}: column '{headers[index]}' mixes decimal commas ({shown(comma, 30)}) "
            f"and decimal points ({shown(point, 30)}), so {shown(either, 30)} could be read "
            "either way; re-export the amounts with one decimal separator"
        )
    if evidence.ambiguous is not None:
        raise ExportError(_ambiguous_amounts(source, headers[index], evidence.ambiguous))
    return evidence.decimal_comma


def _ambiguous_amounts(source: str, header: str, cell: str) -> str:
    """The refusal of a column of 2.500s alone: both readings of the cell, and the fix."""
    try:
        as_comma, as_point = parse_money(cell, decimal_comma=True), parse_money(cell)
    except ValueError:
        as_comma = as_point = None
    readings = (
        f"{as_comma.amount.normalize():f} (dots group thousands) or "
        f"{as_point.amount.normalize():f} (a decimal point)"
        if as_comma is not None and as_point is not None
        else "dots grouping thousands or a decimal point"
    )
    return (
        f"{source}: column '{shown(header, 30)}': amounts like {shown(cell, 30)} could be "
        f"{readings}, and no amount decides; pass --decimal comma or --decimal point"
    )


def cell_text(cell: Cell) -> str:
    """A cell as text, stripped (a whole number without its ".0"): ids, owners, pipelines
    and segments as the deals carry them."""
    if cell.__class__ is str:
        return cell.strip()
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def text_at(cells: Sequence[Cell], index: int | None) -> str:
    """The cell at ``index`` as text (:func:`cell_text`); empty without the column, or in
    a row too short to hold it."""
    return cell_text(cells[index]) if index is not None and index < len(cells) else ""


def flag_value(cell: Cell) -> bool | None:
    if cell is None:
        return None
    if isinstance(cell, bool):
        return cell
    key = cell_text(cell).casefold()
    if key in _TRUE:
        return True
    if key in _FALSE and key:
        return False
    return None


def first_rows(
    table: Table, count: int
) -> tuple[list[tuple[int, tuple[Cell, ...]]], Iterator[tuple[int, tuple[Cell, ...]]]]:
    """Peek at the first rows without losing them: (the rows, an iterator over all rows)."""
    head = list(itertools.islice(table.rows, count))
    return head, itertools.chain(head, table.rows)
