"""An export -> the evidence of its own funnel, and that funnel (no funnel file given).

One pass over the rows gathers what :mod:`funnelcli.inference` needs: each stage label
with its row count, what a status column or won/closed flags say of its rows, and the
median of a probability column on its rows; HubSpot's ``Date entered`` columns in header
order; the Pipeline column's values; with ``--history``, each deal's stage labels in the
order it entered them. :func:`export_funnel` then builds the :class:`Funnel` that
``report``, ``inspect``, ``init --from`` and ``plan --rates-from/--credit-pipeline`` use
when no funnel file is given and ``./funnel.yaml`` does not exist.

Several pipelines: with ``--pipeline NAME`` (``report``), only that pipeline's rows are
counted and only its Date entered columns (and those naming no pipeline) are evidence.
Without it, ``report`` refuses (exit 2, :func:`refuse_mixed_pipelines`) an export whose
rows belong to two pipelines or more that each have Date entered columns: one funnel of
both would count one pipeline's deals as lost at an unknown stage of the other, and
choosing one silently would drop the other's deals from every figure. The line names
each pipeline with its rows and the fix, ``--pipeline NAME``. ``inspect``, ``init
--from`` and ``plan`` (no ``--pipeline`` option) keep the pipeline with most rows, and
their output names the stages it gave.

Cost: one more read of the export (and of the history file), before the report's own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from funnelcli.dates import DateOrderEvidence, DayOrder, parse_date
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
from funnelcli.readers.cell_formats import DATE_SAMPLE_ROWS, first_rows, flag_value, text_at
from funnelcli.readers.columns import (
    ColumnMap,
    EnteredColumn,
    map_columns,
    probability_column,
    refine_by_values,
)
from funnelcli.readers.export import ReadOptions, open_export, require_stage_column
from funnelcli.readers.probabilities import probability_cell
from funnelcli.readers.sources import STDIN
from funnelcli.readers.tabular.table import Cell
from funnelcli.vocabulary import outcome_word


@dataclasses.dataclass
class _Label:
    label: str  # as first seen
    rows: int = 0
    outcomes: Counter[str] = dataclasses.field(default_factory=Counter)
    # The probability column's cells on its rows: written with a %, and without.
    percents: list[Fraction] = dataclasses.field(default_factory=list)
    plain: list[Fraction] = dataclasses.field(default_factory=list)


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
    pipeline_name: str | None = None,
) -> Gathered:
    """Read the export once (and the history file, when given) for its funnel's evidence;
    with ``pipeline_name`` (``--pipeline``), only that pipeline's rows and Date entered
    columns (the Pipeline column's other values are still counted, for messages)."""
    neutral = default_funnel()  # for the known headers only: no column is named by a file
    with open_export(path, options) as table:
        sample, rows = first_rows(table, DATE_SAMPLE_ROWS)
        columns = refine_by_values(
            map_columns(table.header, neutral, table.source), [cells for _, cells in sample]
        )
        probability = probability_column(table.header)
        stage, pipeline = columns.get("stage"), columns.get("pipeline")
        wanted = pipeline_name.strip().casefold() if pipeline_name is not None else None
        entered = _pipeline_columns(columns, pipeline_name)
        dates = _EnteredDates(options.date_format, _day_order(sample, entered))
        labels: dict[str, _Label] = {}
        pipelines: Counter[str] = Counter()
        kept_pipelines: Counter[str] = Counter()
        currencies: Counter[str] = Counter()
        sequences: list[tuple[tuple[int, ...], ...]] = []
        patterns: dict[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]] = {}
        above_one = False  # a cell without a % above 1: the column is in percentages
        for _, cells in rows:
            label = text_at(cells, stage)
            key = label_key(label)
            if pipeline is not None and (name := text_at(cells, pipeline)):
                pipelines[name] += 1
                if wanted is not None and name.casefold() != wanted:
                    continue  # --pipeline: another pipeline's deal
                kept_pipelines[name] += 1
            elif pipeline is not None and wanted is not None:
                continue  # no pipeline: not a deal of the one asked for
            if len(entered) > 1 and (sequence := dates.sequence(cells, entered)):
                # Deals share few patterns: one tuple per pattern keeps a big export small.
                sequences.append(patterns.setdefault(sequence, sequence))
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
                read = _probability(cells[probability] if probability < len(cells) else None)
                if read is not None:
                    value, percent = read
                    (found.percents if percent else found.plain).append(value)
                    # The column's scale, as readers/probabilities.py reads it.
                    above_one = above_one or (not percent and value > 1)
        source = table.source
    evidence = ExportEvidence(
        source=source,
        dialect=columns.dialect,
        labels=tuple(
            _label_evidence(found, above_one)
            for found in sorted(labels.values(), key=lambda found: -found.rows)
        ),
        outcome_column=any(
            columns.get(name) is not None for name in ("status", "won_flag", "closed_flag")
        ),
        entered=tuple(EnteredEvidence(column.label, column.pipeline) for column in entered),
        entered_sequences=tuple(sequences),
        pipelines=tuple((kept_pipelines if wanted is not None else pipelines).most_common()),
        all_pipelines=tuple(pipelines.most_common()),
        history=_history(history, neutral, options) if history else (),
        history_source=history,
        probability_column=table.header[probability] if probability is not None else None,
    )
    currency = currencies.most_common(1)[0][0] if currencies else "USD"
    return Gathered(evidence, columns, currency)


def _pipeline_columns(columns: ColumnMap, pipeline_name: str | None) -> list[EnteredColumn]:
    """The Date entered columns in header order; with ``--pipeline``, that pipeline's
    (and those that name no pipeline) when any column names it."""
    entered = sorted(columns.entered, key=lambda column: column.index)
    if pipeline_name is None:
        return entered
    key = label_key(pipeline_name)
    own = [c for c in entered if c.pipeline is None or label_key(c.pipeline) == key]
    return own if any(c.pipeline is not None for c in own) else entered


_MOMENT_CACHE_SIZE = 50_000  # timestamps repeat less than days: a bound on memory
_TIME = re.compile(r"[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?m\b)?", re.IGNORECASE)


class _EnteredDates:
    """Per deal, the Date entered columns it has a date in, grouped by moment, earliest
    first: the order its dates put the stages in (a time of day counts when written)."""

    def __init__(self, date_format: str | None, day_order: DayOrder | None) -> None:
        self._date_format = date_format
        self._day_order = day_order
        self._cache: dict[str, tuple[dt.date, int] | None] = {}

    def sequence(
        self, cells: tuple[Cell, ...], entered: list[EnteredColumn]
    ) -> tuple[tuple[int, ...], ...]:
        moments: dict[tuple[dt.date, int], list[int]] = {}
        for position, column in enumerate(entered):
            moment = self._moment(_cell(cells, column.index))
            if moment is not None:
                moments.setdefault(moment, []).append(position)
        if sum(len(group) for group in moments.values()) < 2:
            return ()  # one date orders nothing
        return tuple(tuple(moments[moment]) for moment in sorted(moments))

    def _moment(self, cell: Cell) -> tuple[dt.date, int] | None:
        """The cell's day and second of the day (0 when no time is written); None when
        it is empty or no date (the report's own reading names unreadable dates)."""
        if cell is None or cell == "":
            return None
        if isinstance(cell, dt.datetime):
            return cell.date(), cell.hour * 3600 + cell.minute * 60 + cell.second
        text = str(cell).strip() if not isinstance(cell, dt.date) else None
        if text is not None and text in self._cache:
            return self._cache[text]
        try:
            day = parse_date(cell, self._day_order, self._date_format)
        except ValueError:
            day = None
        moment = None
        if day is not None:
            time = _TIME.search(text[6:]) if text else None
            seconds = _seconds(time) if time else 0
            moment = (day, seconds)
        if text is not None and len(self._cache) < _MOMENT_CACHE_SIZE:
            self._cache[text] = moment
        return moment


def _day_order(
    sample: Sequence[tuple[int, tuple[Cell, ...]]], entered: list[EnteredColumn]
) -> DayOrder | None:
    """The day/month order of the Date entered columns' slash dates, as the first rows
    show it (one CRM writes them all alike); None when they do not decide, and then
    their ambiguous dates order nothing (the report's own reading settles them)."""
    seen = DateOrderEvidence()
    for _, cells in sample:
        for column in entered:
            seen.observe(_cell(cells, column.index))
    return seen.order if seen.conflict is None else None


def _seconds(time: re.Match[str]) -> int:
    """Seconds into the day of ``14:03``, ``2:03:10 PM``, ``12:05 am``."""
    hour = int(time[1])
    if time[4] is not None:
        hour = hour % 12 + (12 if time[4].lower() == "p" else 0)
    return hour * 3600 + int(time[2]) * 60 + int(time[3] or 0)


def _stated(cells: tuple[Cell, ...], columns: ColumnMap) -> str | None:
    """What a status column or won/closed flags say of a row: won, lost, open or None."""
    status = text_at(cells, columns.get("status"))
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


def _label_evidence(found: _Label, above_one: bool) -> LabelEvidence:
    values = [value / 100 for value in found.percents]
    values += [value / 100 if above_one else value for value in found.plain]
    median = statistics.median(values) if values else None
    return LabelEvidence(
        label=found.label,
        rows=found.rows,
        won=found.outcomes["won"],
        lost=found.outcomes["lost"],
        open=found.outcomes["open"],
        probability=median,
    )


def _history(path: str, neutral: Funnel, options: ReadOptions) -> tuple[tuple[str, ...], ...]:
    from funnelcli.readers.history import label_sequences  # lazy: --history only, a big module

    return label_sequences(
        path, neutral, encoding=options.encoding, date_format=options.date_format
    )


def _cell(cells: tuple[Cell, ...], index: int | None) -> Cell:
    return cells[index] if index is not None and index < len(cells) else None


def row_currency(cells: tuple[Cell, ...], columns: ColumnMap) -> str | None:
    """The row's currency: its currency column, else a code or sign in its amount."""
    code = text_at(cells, columns.get("currency")).upper()
    if code:
        return code
    raw = _cell(cells, columns.get("amount"))
    try:
        money = parse_money(raw if isinstance(raw, str | int | float) or raw is None else str(raw))
    except ValueError:
        return None
    return money.currency if money else None


def _probability(cell: Cell) -> tuple[Fraction, bool] | None:
    """A probability cell read as the report reads it; a cell that is no probability is
    evidence of nothing (the report refuses it, with its row, if it ever needs it)."""
    try:
        return probability_cell(cell)
    except ValueError:
        return None


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


def export_funnel(
    path: str,
    options: ReadOptions,
    history: str | None = None,
    *,
    pipeline: str | None = None,
    refuse_mixed: bool = False,
) -> Funnel:
    """The export's own funnel; exit 2 (one line) when no evidence gives the stage order.
    With ``pipeline`` (``--pipeline``), that pipeline's; with ``refuse_mixed`` and no
    ``pipeline``, exit 2 when the rows are of several pipelines with Date entered columns
    of their own (:func:`refuse_mixed_pipelines`)."""
    gathered = gather_evidence(path, options, history, pipeline)
    require_stage_column(gathered.columns, default_funnel(), path, status_will_do=False)
    if refuse_mixed and pipeline is None:
        refuse_mixed_pipelines(gathered.evidence, path)
    return funnel_of(infer_or_refuse(gathered.evidence, path), path, gathered.currency)


def refuse_mixed_pipelines(evidence: ExportEvidence, path: str) -> None:
    """Exit 2 when the rows belong to two pipelines or more that each have Date entered
    columns: their stages are two funnels, and one funnel built of both would count one
    pipeline's deals as lost at an unknown stage of the other. The line names the
    pipelines with their rows and the fix, ``--pipeline NAME``."""
    with_columns = {label_key(column.pipeline) for column in evidence.entered if column.pipeline}
    counted = [(name, rows) for name, rows in evidence.pipelines if label_key(name) in with_columns]
    if len(counted) < 2:
        return
    listed = ", ".join(f"'{shown(name)}' ({rows:,} rows)" for name, rows in counted)
    raise UsageError(
        f"{path}: deals of {len(counted)} pipelines, each with Date entered columns of its "
        f"own: {listed}; one funnel cannot hold {'both' if len(counted) == 2 else 'them all'}: "
        "run again with --pipeline NAME "
        f"(e.g. --pipeline {_quoted_option(counted[0][0])})"
    )


def _quoted_option(value: str) -> str:
    """A value as a shell takes it: quoted when it has a space or quote."""
    return value if value.replace("-", "").replace("_", "").isalnum() else repr(value)


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
            "and run again with --funnel funnel.yaml, or give --history with the stage history"
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
