"""The export's own funnel: stages, their order, won and lost labels, from evidence alone.

Pure: no I/O. The reader gathers :class:`ExportEvidence` in one pass over an export
(``readers/evidence.py``); :func:`infer_funnel` turns it into an :class:`InferredFunnel`,
or raises :class:`OrderUnknown` naming the labels whose place no evidence gives. It
never guesses an order.

Won, lost and open labels come first. A label is won or lost when
:func:`vocabulary.outcome_word` says so (words of eleven languages, ``closedwon``); the
status column decides over the word only when every row of the label states an outcome
and none agrees with the word (then the most stated outcome, open making it a stage).
Every other label is open: a stage to be placed, even when its rows' status says won or
lost (Pipedrive's lost deals keep the stage they were lost at). A label with no letters
or digits is no stage. No open label at all: :class:`NoOpenStage`.

Evidence, strongest first; the first that orders every open label decides, and
:attr:`InferredFunnel.evidence` completes "stages and order from ...":

1. ``"the export's Date entered columns"``: HubSpot's ``Date entered "<Stage>
   (<Pipeline>)"`` columns of one pipeline (the Pipeline column's most common value when
   a column names it, else the pipeline with the most columns), in the order their dates
   put them: per deal, the stages in the order of its dates (one moment: no order among
   them), and the precedences of all deals make one order by the rule of the stage
   history below (:func:`_only_order`). When that order differs from the header's, the
   evidence is ``"the dates in the export's Date entered columns"``; when the dates give
   no full order (too few deals with two dates, a tie), the header order stands. Won and
   lost words among them are won and lost labels; the others are the stages, rows or
   not. An open label matches a column by key or through a CRM pipeline's alias
   (``qualifiedtobuy`` and ``Qualified To Buy``); one that matches none is no stage of
   the pipeline and goes to :attr:`InferredFunnel.not_stages` with the reason. When no
   open label matches any column, the columns are of another pipeline: no evidence.
2. ``f"the stage history in {history_source}"``: each deal's stages in the order it
   first entered them; ``a`` precedes ``b`` when more deals went ``a`` then ``b`` than
   ``b`` then ``a``. The order stands only when these precedences have no cycle and
   leave exactly one order (each adjacent pair supported): a tie, a contradiction or a
   pair no deal relates leaves the labels unordered. Stages seen only in the history are
   stages too.
3. ``f"the export's '{probability_column}' column"``: open labels in order of their
   median probability (two at least), strictly rising. Labels with equal medians are ordered by
   the first known pipeline that has each of them at its own stage (the evidence then
   names both: ``"the export's 'Probability (%)' column and Salesforce's standard stage
   picklist"``), else they are unordered.
4. a known pipeline's name (``vocabulary.KNOWN_PIPELINES``, the export's own CRM's
   first, the built-in B2B funnel last): when every open label is one of its stages (by
   key, name or alias). The funnel then has all the pipeline's stages, named as the
   export writes them where it does, with the standard names and ids as aliases, and its
   won and lost labels.
5. ``"the export's only open stage"``: one open label needs no order.

The won stage is named after the won label with most rows (the others, and a known
pipeline's won label and ids, are its aliases); with no won label, after the known
pipeline's won label, else ``Won``. Lost labels: every lost label, then the pipeline's.

Without an order: :class:`OrderUnknown` names the labels left unordered by the evidence
that places the most (all open labels when none places any), and ``tried`` says what was
looked for and what it lacked: labels tied at one median probability, labels with no
probability, labels outside the known pipeline the other labels (two at least) follow. An order places a label when it knows where it goes among the others (a
median of its own among the medians, a history of two stages or more, a known pipeline's
stage). ``allow_unordered`` puts those labels after the ordered ones instead, most
rows first, names them in :attr:`InferredFunnel.unordered`, and the evidence says what
ordered the rest (:data:`NO_EVIDENCE` when nothing did).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from funnelcli.definition import label_key
from funnelcli.vocabulary import KnownPipeline, distinct, outcome_word, pipelines_for


@dataclass(frozen=True)
class LabelEvidence:
    """One stage label of the export, as first seen (trimmed), and what its rows say."""

    label: str
    rows: int
    won: int = 0  # rows whose status column or won/closed flags say won
    lost: int = 0  # ... say lost
    open: int = 0  # ... say open
    probability: Fraction | None = None  # median of the probability column on its rows, 0..1


@dataclass(frozen=True)
class EnteredEvidence:
    """One ``Date entered "<Stage> (<Pipeline>)"`` column, in header order."""

    label: str
    pipeline: str | None


@dataclass(frozen=True)
class ExportEvidence:
    source: str  # the export's name, for messages
    dialect: str  # readers.columns.guess_dialect: "HubSpot", "Salesforce", ..., "generic CSV"
    labels: tuple[LabelEvidence, ...]  # every non-empty stage label, most rows first
    outcome_column: bool  # a status column or won/closed flags decide won/lost/open
    entered: tuple[EnteredEvidence, ...] = ()
    # per deal with two dates or more, the entered columns (indexes into ``entered``) it
    # has a date in, grouped by moment (one group: entered together), earliest first
    entered_sequences: tuple[tuple[tuple[int, ...], ...], ...] = ()
    pipelines: tuple[tuple[str, int], ...] = ()  # the counted rows' Pipeline values, most first
    all_pipelines: tuple[tuple[str, int], ...] = ()  # ... of every row (with --pipeline too)
    history: tuple[
        tuple[str, ...], ...
    ] = ()  # per deal, the stage labels it entered, in date order
    history_source: str | None = None
    probability_column: str | None = None


@dataclass(frozen=True)
class InferredStage:
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class InferredFunnel:
    """Open stages top first, then the won stage; lost labels; what decided the order."""

    stages: tuple[InferredStage, ...]
    lost: tuple[str, ...]
    evidence: str  # completes "stages and order from ...": "the export's Date entered columns"
    not_stages: tuple[tuple[str, str], ...] = ()  # (label, why it is no stage of the pipeline)
    unordered: tuple[str, ...] = ()  # with allow_unordered only: labels placed by row count


class OrderUnknown(Exception):
    """No evidence gives the place of these labels."""

    def __init__(self, labels: tuple[str, ...], tried: str) -> None:
        super().__init__(", ".join(labels))
        self.labels = labels
        self.tried = tried  # what evidence was looked for, for the message


class NoOpenStage(Exception):
    """The export has no open stage label (only won and lost ones, or none)."""


ENTERED_EVIDENCE = "the export's Date entered columns"
ENTERED_DATES_EVIDENCE = "the dates in the export's Date entered columns"
ONLY_STAGE_EVIDENCE = "the export's only open stage"
# Completes "stages and order from ...": the labels are listed, nothing ordered them.
NO_EVIDENCE = "the export's labels, listed by row count: no evidence gives their order"


@dataclass
class _Order:
    """What one kind of evidence makes of the open labels."""

    evidence: str
    stages: list[tuple[str, tuple[str, ...]]]  # open stages top first: name, aliases
    unordered: list[str]  # open labels it does not place, most rows first
    not_stages: list[tuple[str, str]] = field(default_factory=list)
    won: tuple[str, ...] = ()  # won labels it adds: no-row columns, a pipeline's won label
    lost: tuple[str, ...] = ()
    won_name: str | None = None  # the won stage's name when the export has no won label

    @property
    def placed(self) -> int:
        return len(self.stages)


@dataclass(frozen=True)
class _Labels:
    """The export's labels sorted into won, lost and open, most rows first."""

    won: tuple[LabelEvidence, ...]
    lost: tuple[LabelEvidence, ...]
    open: tuple[LabelEvidence, ...]
    no_key: tuple[LabelEvidence, ...]


def infer_funnel(evidence: ExportEvidence, *, allow_unordered: bool = False) -> InferredFunnel:
    """The export's funnel; with ``allow_unordered`` (``init --from``), labels no evidence
    orders go last, by row count, named in :attr:`InferredFunnel.unordered`."""
    labels = _sort_labels(evidence)
    orders = _orders(evidence, labels)
    complete = next((order for order in orders if order is not None and not order.unordered), None)
    if complete is not None and not complete.stages:
        raise NoOpenStage(evidence.source)
    if complete is None:
        if not labels.open:
            raise NoOpenStage(evidence.source)
        partial = _best_partial(orders, labels)
        if not allow_unordered:
            raise OrderUnknown(tuple(partial.unordered), _tried(evidence, orders, labels))
        complete = partial
    return _funnel(complete, labels)


def _sort_labels(evidence: ExportEvidence) -> _Labels:
    ordered = sorted(evidence.labels, key=lambda label: -label.rows)  # stable: ties as given
    won: list[LabelEvidence] = []
    lost: list[LabelEvidence] = []
    open_: list[LabelEvidence] = []
    no_key: list[LabelEvidence] = []
    for label in ordered:
        if not label_key(label.label):
            no_key.append(label)
            continue
        outcome = _label_outcome(label, evidence.outcome_column)
        {"won": won, "lost": lost}.get(outcome, open_).append(label)
    return _Labels(tuple(won), tuple(lost), tuple(open_), tuple(no_key))


def _label_outcome(label: LabelEvidence, outcome_column: bool) -> str:
    """ "won", "lost" or "open" (a stage): the word, unless every row states an outcome
    and none agrees with it (the status column decides over a label)."""
    word = outcome_word(label.label)
    if word not in ("won", "lost"):
        return "open"
    stated = {"won": label.won, "lost": label.lost, "open": label.open}
    if not outcome_column or sum(stated.values()) != label.rows or not label.rows:
        return word
    if stated[word]:
        return word
    return max(stated, key=lambda outcome: stated[outcome])


def _orders(evidence: ExportEvidence, labels: _Labels) -> list[_Order | None]:
    """Each kind of evidence's order, strongest first (None: that evidence is absent)."""
    return [
        _by_entered(evidence, labels),
        _by_history(evidence, labels),
        _by_probability(evidence, labels),
        _by_pipeline(evidence, labels),
        _Order(ONLY_STAGE_EVIDENCE, [(labels.open[0].label, ())], [])
        if len(labels.open) == 1
        else None,
    ]


def _best_partial(orders: Sequence[_Order | None], labels: _Labels) -> _Order:
    """The order that places the most open labels, the rest after it by rows; else every
    open label by rows, with no evidence."""
    best: _Order | None = None
    for order in orders:
        if order is not None and order.placed and (best is None or order.placed > best.placed):
            best = order
    if best is None:
        return _Order(NO_EVIDENCE, [], [label.label for label in labels.open])
    return best


def _tried(evidence: ExportEvidence, orders: Sequence[_Order | None], labels: _Labels) -> str:
    """What was looked for and why it did not order them, for OrderUnknown: "no Date
    entered columns, 'Scoping' and 'Pilot' both at 20% in 'Probability (%)', and ..."."""
    entered = orders[0]
    parts = []
    if not evidence.entered:
        parts.append("no Date entered columns")
    elif entered is None:
        parts.append("Date entered columns that name none of its stages")
    if evidence.history_source is not None:
        parts.append(f"a stage history in {evidence.history_source} that does not order them")
    if evidence.probability_column is None:
        parts.append("no probability column")
    else:
        parts.append(_probability_tried(evidence.probability_column, orders[2], labels))
    parts.append(_pipeline_tried(orders[3]))
    return ", ".join(parts[:-1]) + ", and " + parts[-1]


def _probability_tried(column: str, order: _Order | None, labels: _Labels) -> str:
    """Why the probability column leaves labels unordered: ties, labels without one."""
    unordered = (
        set(order.unordered) if order is not None else {label.label for label in labels.open}
    )
    tied: dict[Fraction, list[str]] = {}
    missing = []
    for label in labels.open:
        if label.label not in unordered:
            continue
        if label.probability is None:
            missing.append(label.label)
        else:
            tied.setdefault(label.probability, []).append(label.label)
    reasons = [
        f"{_and(names)} are {'both' if len(names) == 2 else 'all'} at {_percent(median)}"
        for median, names in sorted(tied.items())
        if len(names) > 1
    ]
    if missing:
        has = "has" if len(missing) == 1 else "have"
        reasons.append(f"{_and(missing)} {has} no probability")
    if not reasons:
        return f"a '{column}' column that does not order them"
    return f"a '{column}' column in which " + "; ".join(reasons)


def _pipeline_tried(order: _Order | None) -> str:
    """The known pipeline the other labels follow, or that none does."""
    if order is None or order.placed < 2:
        return "not a known CRM pipeline"  # one stage of a pipeline is no sign of it
    it = "it is" if len(order.unordered) == 1 else "they are"
    return f"the other labels follow {order.evidence}, but {it} not among its stages"


def _and(names: Sequence[str]) -> str:
    quoted = [f"'{name}'" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _percent(fraction: Fraction) -> str:
    """A median probability as a percentage: ``20%``, ``12.5%``."""
    percent = fraction * 100
    if percent.denominator == 1:
        return f"{percent.numerator}%"
    return f"{float(percent):.4g}%"


def _funnel(order: _Order, labels: _Labels) -> InferredFunnel:
    """The funnel: the order's stages, the rest by rows, the won stage last; every key
    once (a later alias or lost label whose key is taken is dropped)."""
    taken: list[str] = []
    stages = []
    rest = [(label, ()) for label in order.unordered]
    for name, aliases in [*order.stages, *rest]:
        kept = distinct(aliases, taken=[*taken, name])
        stages.append(InferredStage(name, kept))
        taken += [name, *kept]
    won_labels = [label.label for label in labels.won] + list(order.won)
    shown_won = [label.label for label in labels.won if not _internal_id(label.label)]
    if shown_won:
        won_name = shown_won[0]
    elif labels.won and not order.won_name:
        won_name = labels.won[0].label
    else:
        won_name = order.won_name or "Won"
    if label_key(won_name) in {label_key(label) for label in (*taken, *_lost_labels(labels))}:
        won_name = "Won deals"  # "Won" is a lost label here: its rows all say lost
    won_aliases = distinct(won_labels, taken=[*taken, won_name])
    stages.append(InferredStage(won_name, won_aliases))
    taken += [won_name, *won_aliases]
    lost = distinct([*_lost_labels(labels), *order.lost], taken=taken)
    not_stages = [(label.label, "no letters or digits in it") for label in labels.no_key]
    return InferredFunnel(
        stages=tuple(stages),
        lost=lost,
        evidence=order.evidence,
        not_stages=tuple(order.not_stages + not_stages),
        unordered=tuple(order.unordered),
    )


def _internal_id(label: str) -> bool:
    """A CRM's internal value (HubSpot's ``qualifiedtobuy``, ``closedwon``) rather than a
    label a person reads: one lowercase ASCII word. A stage the export names only so is
    named by its pipeline's label, with the value as an alias."""
    return label.isascii() and label.isalpha() and label == label.lower() and len(label) > 8


def _lost_labels(labels: _Labels) -> list[str]:
    return [label.label for label in labels.lost]


# --- 1. Date entered columns -------------------------------------------------------------


def _by_entered(evidence: ExportEvidence, labels: _Labels) -> _Order | None:
    if not evidence.entered:
        return None
    pipeline, columns, members = _entered_pipeline(evidence)
    won = tuple(c for c in columns if outcome_word(c) == "won")
    lost = tuple(c for c in columns if outcome_word(c) == "lost")
    stage_columns = [c for c in columns if c not in won and c not in lost]
    by_dates = _date_order(evidence, members, stage_columns)
    text = ENTERED_EVIDENCE
    if by_dates is not None and by_dates != stage_columns:
        stage_columns, text = by_dates, ENTERED_DATES_EVIDENCE
    matched: dict[int, list[str]] = {}
    not_stages = []
    for label in labels.open:
        index = _matching_column(label.label, stage_columns)
        if index is None:
            where = f" in the {pipeline} pipeline" if pipeline else ""
            not_stages.append((label.label, f"no Date entered column for it{where}"))
        else:
            matched.setdefault(index, []).append(label.label)
    if labels.open and not matched:
        return None  # the columns are of another pipeline than the labels
    stages = []
    for index, column in enumerate(stage_columns):
        names = matched.get(index, [])  # most rows first
        stages.append((names[0] if names else column, (*names[1:], column)))
    return _Order(
        text,
        stages,
        [],
        not_stages,
        won=won,
        lost=lost,
        won_name=won[0] if won else None,
    )


def _entered_pipeline(
    evidence: ExportEvidence,
) -> tuple[str | None, list[str], dict[int, str]]:
    """The pipeline whose Date entered columns count, its column labels in header order,
    once each, and which of ``evidence.entered`` are its (index -> its label): the
    Pipeline column's most common value when a column names it, else the pipeline with
    the most columns (the first in the header on a tie)."""
    groups: dict[str, tuple[str | None, list[str], dict[int, str]]] = {}
    for position, column in enumerate(evidence.entered):
        key = label_key(column.pipeline or "")
        group = groups.setdefault(key, (column.pipeline, [], {}))
        same = [c for c in group[1] if label_key(c) == label_key(column.label)]
        if not same:
            group[1].append(column.label)
        group[2][position] = same[0] if same else column.label
    if evidence.pipelines:
        most_rows = label_key(evidence.pipelines[0][0])
        if most_rows in groups:
            return groups[most_rows]
    return max(groups.values(), key=lambda group: len(group[1]))  # max keeps the first


def _date_order(
    evidence: ExportEvidence, members: dict[int, str], stage_columns: list[str]
) -> list[str] | None:
    """The stage columns in the order the deals' dates put them, by the rule the stage
    history follows (:func:`_only_order`); None when the dates leave it open (too few
    deals with two dates of these columns, a tie, a contradiction)."""
    if len(stage_columns) < 2:
        return None
    stage_keys = {label_key(column): column for column in stage_columns}
    precedes: Counter[tuple[str, str]] = Counter()
    for sequence in evidence.entered_sequences:
        firsts: list[list[str]] = []  # per moment, the stages first entered then
        seen: set[str] = set()
        for moment in sequence:
            keys = {label_key(members[i]) for i in moment if i in members} & stage_keys.keys()
            keys -= seen
            seen |= keys
            if keys:
                firsts.append(sorted(keys))
        for i, earlier in enumerate(firsts):
            for later in firsts[i + 1 :]:
                for a in earlier:
                    for b in later:
                        precedes[a, b] += 1
    order = _only_order(list(stage_keys), precedes)
    return None if order is None else [stage_keys[key] for key in order]


def _matching_column(label: str, columns: Sequence[str]) -> int | None:
    """The column a label is the stage of: by key, else the one column a CRM pipeline
    puts at the same stage (``Id. Decision Makers`` and ``Identify Decision Makers``)."""
    key = label_key(label)
    for index, column in enumerate(columns):
        if label_key(column) == key:
            return index
    for pipeline in pipelines_for(""):
        if not pipeline.dialect:
            continue  # the built-in funnel's aliases join several CRM stages into one
        stage = pipeline.stage_of(label)
        if stage is None:
            continue
        same = [i for i, column in enumerate(columns) if pipeline.stage_of(column) == stage]
        if len(same) == 1:
            return same[0]
    return None


# --- 2. stage history ----------------------------------------------------------------------


def _by_history(evidence: ExportEvidence, labels: _Labels) -> _Order | None:
    if not evidence.history or evidence.history_source is None:
        return None
    outcome_keys = {label_key(label.label) for label in (*labels.won, *labels.lost)}
    spelling = {label_key(label.label): label.label for label in labels.open}
    precedes: Counter[tuple[str, str]] = Counter()
    in_history: set[str] = set()
    for sequence in evidence.history:
        firsts: list[str] = []
        for label in sequence:
            key = label_key(label)
            if not key or key in outcome_keys or outcome_word(label) in ("won", "lost"):
                continue
            spelling.setdefault(key, label)
            in_history.add(key)
            if key not in firsts:
                firsts.append(key)
        for i, earlier in enumerate(firsts):
            for later in firsts[i + 1 :]:
                precedes[earlier, later] += 1
    nodes = [key for key in spelling if key in in_history]
    order = _only_order(nodes, precedes) if len(nodes) > 1 else None  # one orders nothing
    evidence_text = f"the stage history in {evidence.history_source}"
    if order is None:
        return _Order(evidence_text, [], [label.label for label in labels.open])
    unordered = [label.label for label in labels.open if label_key(label.label) not in order]
    return _Order(evidence_text, [(spelling[key], ()) for key in order], unordered)


def _only_order(nodes: Sequence[str], precedes: Counter[tuple[str, str]]) -> list[str] | None:
    """The one order of ``nodes`` in which each precedes the next by more deals than the
    other way round, with no pair the other way round; None when there is none or more
    than one (a cycle, a tie, a pair no deal relates)."""
    after = {node: {b for b in nodes if precedes[node, b] > precedes[b, node]} for node in nodes}
    before = Counter(b for node in nodes for b in after[node])
    remaining = set(nodes)
    order = []
    while remaining:
        sources = [node for node in remaining if before[node] == 0]
        if len(sources) != 1:
            return None  # 0: a cycle; 2 or more: their order is open
        source = sources[0]
        order.append(source)
        remaining.remove(source)
        for b in after[source]:
            before[b] -= 1
    return order


# --- 3. probability ------------------------------------------------------------------------


def _by_probability(evidence: ExportEvidence, labels: _Labels) -> _Order | None:
    column = evidence.probability_column
    if column is None or len(labels.open) < 2:
        return None
    by_median: dict[Fraction, list[LabelEvidence]] = {}
    for label in labels.open:
        if label.probability is not None:
            by_median.setdefault(label.probability, []).append(label)
    if sum(len(tied) for tied in by_median.values()) < 2:
        return None  # one median orders nothing
    ordered: list[LabelEvidence] = []
    used: list[str] = []
    for median in sorted(by_median):
        tied = by_median[median]
        if len(tied) == 1:
            ordered += tied
            continue
        settled = _settle_tie(tied, pipelines_for(evidence.dialect))
        if settled is not None:
            pipeline, in_order = settled
            ordered += in_order
            used += [pipeline.name] if pipeline.name not in used else []
    placed = {label.label for label in ordered}
    unordered = [label.label for label in labels.open if label.label not in placed]
    text = f"the export's '{column}' column"
    if used:
        text += " and " + " and ".join(used)
    return _Order(text, [(label.label, ()) for label in ordered], unordered)


def _settle_tie(
    tied: Sequence[LabelEvidence], pipelines: Iterable[KnownPipeline]
) -> tuple[KnownPipeline, list[LabelEvidence]] | None:
    """Labels of equal median in the order of the first known pipeline that has each of
    them at a stage of its own."""
    for pipeline in pipelines:
        stages = [pipeline.stage_of(label.label) for label in tied]
        if None not in stages and len(set(stages)) == len(stages):
            ranked = sorted(zip(stages, tied, strict=True), key=lambda pair: pair[0] or 0)
            return pipeline, [label for _, label in ranked]
    return None


# --- 4. known pipelines --------------------------------------------------------------------


def _by_pipeline(evidence: ExportEvidence, labels: _Labels) -> _Order | None:
    """The first known pipeline that has every open label; else the one that has most."""
    best: _Order | None = None
    for pipeline in pipelines_for(evidence.dialect):
        order = _pipeline_order(pipeline, labels)
        if not order.unordered:
            return order
        if best is None or order.placed > best.placed:
            best = order
    return best if best is not None and best.placed > 0 else None


def _pipeline_order(pipeline: KnownPipeline, labels: _Labels) -> _Order:
    named: dict[int, list[str]] = {}
    unordered = []
    for label in labels.open:
        stage = pipeline.stage_of(label.label)
        if stage is None:
            unordered.append(label.label)
        else:
            named.setdefault(stage, []).append(label.label)
    if not named:
        return _Order(pipeline.name, [], unordered)
    stages = []
    for index, (standard, aliases) in enumerate(pipeline.stages):
        seen = named.get(index, [])
        shown = [label for label in seen if not _internal_id(label)]
        name = shown[0] if shown else standard
        stages.append(
            (name, tuple(label for label in (*seen, standard, *aliases) if label != name))
        )
    won_name, won_aliases = pipeline.won
    return _Order(
        pipeline.name,
        stages,
        unordered,
        won=(won_name, *won_aliases),
        lost=pipeline.lost,
        won_name=won_name,
    )
