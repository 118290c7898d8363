"""What the reader finds in an export, for ``funnel inspect`` and ``funnel init --from``.

One pass over the rows: stage labels with counts and where each maps, statuses,
currencies, pipelines, each date column's day/month order, and per label the median
probability (when the export has a probability column) and how complete its rows are,
which ``init --from`` uses to put the stages in order.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from funnelcli.dates import DateOrderEvidence, DayOrder, shared_order
from funnelcli.definition import Funnel, label_key
from funnelcli.readers.columns import (
    PROBABILITY_HEADERS,
    ColumnMap,
    header_key,
    map_columns,
    refine_by_values,
    stage_lookup,
)
from funnelcli.readers.deals import DATE_SAMPLE_ROWS, first_rows
from funnelcli.readers.evidence import (
    cell_text,
    probability_value,
    row_currency,
)
from funnelcli.readers.export import ReadOptions, open_export, table_info, with_funnel_names
from funnelcli.results import TableInfo


@dataclass
class LabelStats:
    label: str  # as first seen
    count: int = 0
    filled_cells: int = 0
    probabilities: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def completeness(self) -> float:
        return self.filled_cells / self.count if self.count else 0.0

    @property
    def median_probability(self) -> float | None:
        return statistics.median(self.probabilities) if self.probabilities else None


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
    probability_column: str | None


def inspect_export(path: str, funnel: Funnel, options: ReadOptions) -> Inspection:
    options = with_funnel_names(options, funnel)
    with open_export(path, options) as table:
        sample, all_rows = first_rows(table, DATE_SAMPLE_ROWS)
        columns = refine_by_values(
            map_columns(table.header, funnel, table.source), [cells for _, cells in sample]
        )
        keys = [header_key(header) for header in table.header]
        probability = next((i for i, key in enumerate(keys) if key in PROBABILITY_HEADERS), None)
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
            label = cell_text(cells, stage_index)
            stats = labels.get(label_key(label))
            if stats is None:
                stats = labels[label_key(label)] = LabelStats(label)
            stats.count += 1
            stats.filled_cells += sum(1 for cell in cells if cell not in (None, ""))
            if probability is not None:
                value = probability_value(cells[probability] if probability < len(cells) else None)
                if value is not None:
                    stats.probabilities.append(value)
            status = cell_text(cells, columns.get("status"))
            if status:
                statuses[status] += 1
                stats.statuses[status] += 1
            currencies[row_currency(cells, columns) or funnel.currency] += 1
            pipeline = cell_text(cells, columns.get("pipeline"))
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
        probability_column=columns.headers[probability] if probability is not None else None,
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
