"""The export's own funnel: stages, their order, won and lost labels, from evidence alone.

Pure: no I/O. The reader gathers :class:`ExportEvidence` in one pass over an export
(``readers/evidence.py``); :func:`infer_funnel` turns it into an :class:`InferredFunnel`,
or raises :class:`OrderUnknown` naming the labels whose place no evidence gives. It
never guesses an order.

Evidence, strongest first (the first that orders every open label decides, and
:attr:`InferredFunnel.evidence` says which):

1. the export's pipeline: HubSpot's ``Date entered "<Stage> (<Pipeline>)"`` columns, in
   header order; a stage-history file's sequences;
2. a probability column: stages in order of their median probability;
3. a CRM's default pipeline (``vocabulary.KNOWN_PIPELINES``).

Won and lost labels are recognised by ``vocabulary`` (words of eleven languages) and by
the status column's verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


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
    pipelines: tuple[tuple[str, int], ...] = ()  # the Pipeline column's values, most rows first
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


def infer_funnel(evidence: ExportEvidence, *, allow_unordered: bool = False) -> InferredFunnel:
    """The export's funnel; with ``allow_unordered`` (``init --from``), labels no evidence
    orders go last, by row count, named in :attr:`InferredFunnel.unordered`."""
    raise NotImplementedError
