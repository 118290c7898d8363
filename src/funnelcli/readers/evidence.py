"""An export -> the evidence of its own funnel, and that funnel (no funnel file given).

One pass over the rows gathers what :mod:`funnelcli.inference` needs: each stage label
with its row count, what a status column or won/closed flags say of its rows, and the
median of a probability column on its rows; HubSpot's ``Date entered`` columns in header
order; the Pipeline column's values; with ``--history``, each deal's stage labels in the
order it entered them. :func:`export_funnel` then builds the :class:`Funnel` that
``report``, ``inspect``, ``init --from`` and ``plan --rates-from/--credit-pipeline`` use
when no funnel file is given and ``./funnel.yaml`` does not exist.

Cost: one more read of the export (and of the history file), before the report's own.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from fractions import Fraction
from pathlib import Path

from funnelcli.definition import Funnel, build_funnel, default_funnel, label_key
from funnelcli.errors import UsageError, shown
from funnelcli.inference import (
    EnteredEvidence,
    ExportEvidence,
    InferredFunnel,
    InferredStage,
    LabelEvidence,
    NoOpenStage,
    OrderUnknown,
    infer_funnel,
)
from funnelcli.money import parse_money
from funnelcli.readers.columns import (
    PROBABILITY_HEADERS,
    ColumnMap,
    header_key,
    map_columns,
    refine_by_values,
)
from funnelcli.readers.deals import DATE_SAMPLE_ROWS, first_rows, flag_value
from funnelcli.readers.export import ReadOptions, open_export, require_stage_column
from funnelcli.readers.sources import STDIN
from funnelcli.readers.tabular import Cell
from funnelcli.vocabulary import outcome_word


@dataclasses.dataclass
class _Label:
    label: str  # as first seen
    rows: int = 0
    outcomes: Counter[str] = dataclasses.field(default_factory=Counter)
    probabilities: list[float] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Gathered:
    """The evidence, and what the pass found on the way that the funnel file would hold."""

    evidence: ExportEvidence
    columns: ColumnMap
    currency: str


def gather_evidence(
    path: str,
    options: ReadOptions,
    history: str | None = None,
) -> Gathered:
    """Read the export once (and the history file, when given) for its funnel's evidence."""
    neutral = default_funnel()  # for the known headers only: no column is named by a file
    with open_export(path, options) as table:
        sample, rows = first_rows(table, DATE_SAMPLE_ROWS)
        columns = refine_by_values(
            map_columns(table.header, neutral, table.source), [cells for _, cells in sample]
        )
        keys = [header_key(header) for header in table.header]
        probability = next((i for i, key in enumerate(keys) if key in PROBABILITY_HEADERS), None)
        stage, pipeline = columns.get("stage"), columns.get("pipeline")
        labels: dict[str, _Label] = {}
        pipelines: Counter[str] = Counter()
        currencies: Counter[str] = Counter()
        percent_scale = False
        for _, cells in rows:
            label = cell_text(cells, stage)
            key = label_key(label)
            if pipeline is not None and (name := cell_text(cells, pipeline)):
                pipelines[name] += 1
            if (code := row_currency(cells, columns)) is not None:
                currencies[code] += 1
            if not key:
                continue
            found = labels.get(key)
            if found is None:
                found = labels[key] = _Label(label)
            found.rows += 1
            said = _stated(cells, columns)
            if said is not None:
                found.outcomes[said] += 1
            if probability is not None:
                raw = cells[probability] if probability < len(cells) else None
                value = probability_value(raw)
                if value is not None:
                    found.probabilities.append(value)
                    percent_scale = percent_scale or value > 1 or "%" in str(raw)
        source = table.source
    evidence = ExportEvidence(
        source=source,
        dialect=columns.dialect,
        labels=tuple(
            _label_evidence(found, percent_scale)
            for found in sorted(labels.values(), key=lambda found: -found.rows)
        ),
        outcome_column=any(
            columns.get(name) is not None for name in ("status", "won_flag", "closed_flag")
        ),
        entered=tuple(
            EnteredEvidence(column.label, column.pipeline)
            for column in sorted(columns.entered, key=lambda column: column.index)
        ),
        pipelines=tuple(pipelines.most_common()),
        history=_history(history, neutral, options) if history else (),
        history_source=history,
        probability_column=table.header[probability] if probability is not None else None,
    )
    currency = currencies.most_common(1)[0][0] if currencies else "USD"
    return Gathered(evidence, columns, currency)


def _stated(cells: tuple[Cell, ...], columns: ColumnMap) -> str | None:
    """What a status column or won/closed flags say of a row: won, lost, open or None."""
    status = cell_text(cells, columns.get("status"))
    if status:
        return outcome_word(status)
    won = flag_value(_cell(cells, columns.get("won_flag")))
    closed = flag_value(_cell(cells, columns.get("closed_flag")))
    if won is True:
        return "won"
    if closed is True:
        return "lost"
    if closed is False:
        return "open"
    return None


def _label_evidence(found: _Label, percent_scale: bool) -> LabelEvidence:
    median = None
    if found.probabilities:
        value = Fraction(str(statistics.median(found.probabilities)))
        median = value / 100 if percent_scale else value
    return LabelEvidence(
        label=found.label,
        rows=found.rows,
        won=found.outcomes["won"],
        lost=found.outcomes["lost"],
        open=found.outcomes["open"],
        probability=median,
    )


def _history(path: str, neutral: Funnel, options: ReadOptions) -> tuple[tuple[str, ...], ...]:
    from funnelcli.readers.history import label_sequences

    return label_sequences(
        path, neutral, encoding=options.encoding, date_format=options.date_format
    )


def _cell(cells: tuple[Cell, ...], index: int | None) -> Cell:
    return cells[index] if index is not None and index < len(cells) else None


def cell_text(cells: tuple[Cell, ...], index: int | None) -> str:
    cell = _cell(cells, index)
    return "" if cell is None else str(cell).strip()


def row_currency(cells: tuple[Cell, ...], columns: ColumnMap) -> str | None:
    """The row's currency: its currency column, else a code or sign in its amount."""
    code = cell_text(cells, columns.get("currency")).upper()
    if code:
        return code
    raw = _cell(cells, columns.get("amount"))
    try:
        money = parse_money(raw if isinstance(raw, str | int | float) or raw is None else str(raw))
    except ValueError:
        return None
    return money.currency if money else None


def probability_value(cell: Cell) -> float | None:
    """A probability cell as written (``90``, ``90%``, ``0.9``); None when it is no number."""
    if cell is None or cell == "" or isinstance(cell, bool):
        return None
    text = str(cell).strip().rstrip("%").strip()
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value <= 100 else None


def funnel_name(export: str) -> str:
    return "standard input" if export == STDIN else Path(export).stem or export


def inferred_data(inferred: InferredFunnel, name: str, currency: str) -> dict[str, object]:
    """The inferred funnel as a funnel file's plain data (no rates: nothing is planned)."""
    return {
        "name": name,
        "currency": currency,
        "stages": [
            {"name": stage.name, **({"aliases": list(stage.aliases)} if stage.aliases else {})}
            for stage in inferred.stages
        ],
        "lost": list(inferred.lost),
    }


def export_funnel(path: str, options: ReadOptions, history: str | None = None) -> Funnel:
    """The export's own funnel; exit 2 (one line) when no evidence gives the stage order."""
    gathered = gather_evidence(path, options, history)
    require_stage_column(gathered.columns, default_funnel(), path, status_will_do=False)
    return funnel_of(infer_or_refuse(gathered.evidence, path), path, gathered.currency)


def funnel_of(inferred: InferredFunnel, path: str, currency: str) -> Funnel:
    """The :class:`Funnel` an inferred funnel makes, named after the export."""
    data = inferred_data(inferred, funnel_name(path), currency)
    funnel = build_funnel(data, f"built from {path}").funnel
    return dataclasses.replace(funnel, evidence=inferred.evidence)


def infer_or_refuse(
    evidence: ExportEvidence, path: str, *, allow_unordered: bool = False
) -> InferredFunnel:
    """The inferred funnel; exit 2 when the order is unknown (unless ``allow_unordered``:
    ``init --from`` and ``inspect`` show such labels rather than refuse)."""
    try:
        return infer_funnel(evidence, allow_unordered=allow_unordered)
    except OrderUnknown as unknown:
        labels = ", ".join(f"'{shown(label)}'" for label in unknown.labels)
        raise UsageError(
            f"{path}: cannot tell the order of the stages {labels} ({unknown.tried}); "
            f"write a funnel file with `funnel init --from {path}`, put its stages in order, "
            "and run again with --funnel funnel.yaml"
        ) from None
    except NoOpenStage:
        return _closed_only(evidence, path)


CLOSED_ONLY = "the export's won and lost labels alone (it names no open stage)"


def _closed_only(evidence: ExportEvidence, path: str) -> InferredFunnel:
    """An export of closed deals only (every label won or lost): its won and lost counts,
    values, win rate and cycle are still worth reporting, under one placeholder stage
    that no row names. No labels at all: nothing to report."""
    won = [label.label for label in evidence.labels if outcome_word(label.label) == "won"]
    lost = [label.label for label in evidence.labels if outcome_word(label.label) == "lost"]
    if not won and not lost:
        raise UsageError(
            f"{path}: no stage label to build a funnel from; "
            f"write a funnel file with `funnel init --from {path}` and name its stages"
        )
    return InferredFunnel(
        stages=(
            InferredStage("Open"),
            InferredStage(won[0] if won else "Won", tuple(won[1:])),
        ),
        lost=tuple(lost),
        evidence=CLOSED_ONLY,
    )
