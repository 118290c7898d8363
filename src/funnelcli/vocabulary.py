"""What CRM words mean: won, lost and open in eleven languages, and CRMs' default pipelines.

Pure data and lookups, compared by :func:`funnelcli.definition.label_key` (case, spaces
and punctuation ignored). One home: the deals reader (status columns), the inference
of an export's funnel and ``funnel inspect`` all ask here.
"""

from __future__ import annotations

from dataclasses import dataclass


def outcome_word(text: str) -> str | None:
    """``"won"``, ``"lost"`` or ``"open"`` when the text is one of those words (or a label
    like ``Closed-Lost to Competition``), else None."""
    raise NotImplementedError


@dataclass(frozen=True)
class KnownPipeline:
    """A CRM's default pipeline: open stages top first with their aliases, won, lost."""

    name: str  # completes "stages and order from ...": "HubSpot's default Sales Pipeline"
    dialect: str  # as readers.columns.guess_dialect names it; "" for the built-in funnel
    stages: tuple[tuple[str, tuple[str, ...]], ...]
    won: tuple[str, tuple[str, ...]]
    lost: tuple[str, ...]


KNOWN_PIPELINES: tuple[KnownPipeline, ...] = ()
