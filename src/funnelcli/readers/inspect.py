"""What the reader finds in an export, for ``funnel inspect``.

One pass over the rows: stage labels with counts and where each maps, statuses,
currencies, pipelines, and each date column's day/month order. (The evidence a funnel
is inferred from is gathered by ``readers/evidence.py``.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from funnelcli.dates import DateOrderEvidence, DayOrder, shared_order
from funnelcli.definition import Funnel, label_key
from funnelcli.readers.cell_formats import DATE_SAMPLE_ROWS, first_rows, text_at
from funnelcli.readers.columns import (
    ColumnMap,
    map_columns,
    refine_by_values,
    stage_lookup,
)
from funnelcli.readers.evidence import row_currency
from funnelcli.readers.export import ReadOptions, open_export, table_info, with_funnel_names
from funnelcli.results import TableInfo


@dataclass
class LabelStats:
    label: str  # as first seen
    count: int = 0


@dataclass(frozen=True)
class DateColumnOrder:
    header: str
    order: (
        str  # "ISO or unambiguous", "M/D/Y", "D/M/Y", "undecided: pass --date-format", "mixed: ..."
    )


@dataclass(frozen=True)
class Inspection:
    table: TableInfo
    columns: ColumnMap
    rows: int
    labels: tuple[LabelStats, ...]
    maps_to: dict[str, str]  # label key -> stage name, "lost", or "" when unmapped
    statuses: Counter[str]
    currencies: Counter[str]
    pipelines: Counter[str]
    date_orders: tuple[DateColumnOrder, ...]


def inspect_export(path: str, funnel: Funnel, options: ReadOptions) -> Inspection:
    options = with_funnel_names(options, funnel)
    with open_export(path, options) as table:
        sample, all_rows = first_rows(table, DATE_SAMPLE_ROWS)
        columns = refine_by_values(
            map_columns(table.header, funnel, table.source), [cells for _, cells in sample]
        )
        date_indexes = sorted(
            {i for i in (columns.get("created"), columns.get("closed")) if i is not None}
            | {column.index for column in columns.entered}
        )
        evidence = {index: DateOrderEvidence() for index in date_indexes}
        labels: dict[str, LabelStats] = {}
        statuses: Counter[str] = Counter()
        currencies: Counter[str] = Counter()
        pipelines: Counter[str] = Counter()
        rows = 0
        stage_index = columns.get("stage")
        for _, cells in all_rows:
            rows += 1
            label = text_at(cells, stage_index)
            stats = labels.get(label_key(label))
            if stats is None:
                stats = labels[label_key(label)] = LabelStats(label)
            stats.count += 1
            status = text_at(cells, columns.get("status"))
            if status:
                statuses[status] += 1
            currencies[row_currency(cells, columns) or funnel.currency] += 1
            pipeline = text_at(cells, columns.get("pipeline"))
            if pipeline:
                pipelines[pipeline] += 1
            for index, seen in evidence.items():
                if index < len(cells):
                    seen.observe(cells[index])
        info = table_info(table)
    return Inspection(
        table=info,
        columns=columns,
        rows=rows,
        labels=tuple(sorted(labels.values(), key=lambda stats: -stats.count)),
        maps_to=_maps_to(labels, funnel),
        statuses=statuses,
        currencies=currencies,
        pipelines=pipelines,
        date_orders=tuple(
            DateColumnOrder(
                columns.headers[index], _order_text(seen, shared_order(evidence.values()))
            )
            for index, seen in evidence.items()
        ),
    )


def _maps_to(labels: dict[str, LabelStats], funnel: Funnel) -> dict[str, str]:
    lookup = stage_lookup(funnel)
    lost = {label_key(label) for label in funnel.lost_labels}
    result = {}
    for key in labels:
        if key in lookup:
            result[key] = funnel.stages[lookup[key]].name
        elif key in lost:
            result[key] = "lost"
        else:
            result[key] = ""
    return result


def _order_text(seen: DateOrderEvidence, shared: DayOrder | None) -> str:
    """The column's order as the report settles it: its own, else the one its export's
    other date columns agree on (dates.py, "One export, one order")."""
    if seen.conflict:
        return f"mixed ({seen.conflict[0]} and {seen.conflict[1]}): pass --date-format"
    if seen.needs_order and shared is not None:
        return f"{shared.value} (from the export's other date columns)"
    if seen.needs_order:
        return f"undecided (like {seen.first_ambiguous}): pass --date-format"
    if seen.order is not None:
        return seen.order.value
    return "ISO or unambiguous"
