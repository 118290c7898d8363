"""What CRM words mean: won, lost and open in eleven languages, and CRMs' default pipelines.

Pure data and lookups, compared by :func:`funnelcli.definition.label_key` (case, spaces
and punctuation ignored). One home: the deals reader (status columns), the inference
of an export's funnel and ``funnel inspect`` all ask here.

The words (``WON_WORDS``, ``LOST_WORDS``, ``OPEN_WORDS``) are the status values and stage
labels of English, Swedish, Danish, German, French, Spanish, Portuguese, Dutch, Chinese
(simplified and traditional), Russian and Hebrew that mean the deal was won, lost or is
still open, plus HubSpot's internal ids ``closedwon``/``closedlost``. The English forms
and the ids come from the CRMs' documentation (``Closed Won``, ``Won``, ``closedlost``);
the other languages' are the plain words for won/lost/open, their gender and number forms,
and "closed won"/"closed lost" phrasings (Salesforce's French ``Fermée gagnée``, Spanish
``Cerrada ganada``). Pipedrive's status ``deleted`` is no outcome: the reader skips those
rows. ``disqualified`` is lost, as ``funnel inspect`` has always read it.

How :func:`outcome_word` matches a label, so that a stage is not taken for an outcome:

* the whole text, by key: ``Closed-Won``, ``CLOSED WON``, ``closedwon``, ``Förlorad``;
* a won/lost phrase at the start of a longer label, when the phrase is two words or more
  (``Closed-Lost to Competition``, ``Closed Won - pending``), or one word followed by
  punctuation (``Lost - no budget``, ``Won (signed)``), and the rest names no opposite
  outcome (``Won/Lost review`` is no outcome);
* a lost word and "to" at the start (``Lost to competitor``): the deal went to someone
  else. Also ``Verloren an`` (German), ``Verloren aan`` (Dutch), ``Perdu(e) contre``
  (French), ``Perdido/Perdida contra``, ``ante`` (Spanish), ``Perdido/Perdida para``
  (Portuguese), ``Förlorad/Förlorat till`` (Swedish), ``Tabt til`` (Danish)
  (``LOST_TO_PHRASES``);
* never a word inside a longer word (``Wonderful``, ``Lostwithiel``), a single word followed
  by a space (``Lost Leads`` may be a stage), nor an open word at the start of a label
  (``Open house``): those are stage labels, which the funnel's evidence must then place.

Default pipelines (``KNOWN_PIPELINES``) are those of ``CRM_EXPORTS.md`` (vendor
documentation): HubSpot's Sales Pipeline with its internal ids, Salesforce's standard
Stage picklist, Zoho CRM's standard deal stages (``Id. Decision Makers`` also written
``Identify Decision Makers``, ``Closed-Lost to Competition``), Pipedrive's default
pipeline (won and lost come from its status column), and last the built-in B2B funnel
(``definition.DEFAULT_FUNNEL_DATA``), so that exports written for it keep working. Their
stage names are not translated here: no localised stage list could be confirmed; won and
lost labels are recognised in every language above by :func:`outcome_word`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Literal

from funnelcli.definition import DEFAULT_FUNNEL_DATA, DEFAULT_LOST_LABELS, label_key

Outcome = Literal["won", "lost", "open"]

WON_WORDS: tuple[str, ...] = (
    # English and HubSpot's internal id
    *("won", "closed won", "deal won", "won closed", "closedwon"),
    # Swedish
    *("vunnen", "vunnet", "vunna", "vunnen affär", "stängd vunnen", "stängd och vunnen"),
    # Danish
    *("vundet", "lukket vundet", "lukket og vundet"),
    # German
    *("gewonnen", "geschlossen gewonnen", "abgeschlossen gewonnen", "geschlossen und gewonnen"),
    # French
    *("gagné", "gagnée", "gagnés", "gagnées", "affaire gagnée", "fermé gagné", "fermée gagnée"),
    # Spanish
    *("ganado", "ganada", "cerrado ganado", "cerrada ganada", "negocio ganado"),
    # Portuguese
    *("ganho", "ganha", "fechado ganho", "fechada ganha", "negócio ganho"),
    # Dutch
    *("gewonnen", "gesloten gewonnen", "deal gewonnen"),
    # Chinese, simplified and traditional
    *("赢单", "已赢单", "赢得", "成交", "已成交", "贏單", "已贏單", "贏得"),
    # Russian
    *("выиграна", "выиграно", "выигран", "выиграны", "выигрыш", "успешно реализовано"),
    # Hebrew
    *("זכייה", "זכיה", "זכה", "נסגר בהצלחה"),
)
LOST_WORDS: tuple[str, ...] = (
    *("lost", "closed lost", "deal lost", "lost closed", "closedlost", "disqualified"),
    *("förlorad", "förlorat", "förlorade", "förlorad affär", "stängd förlorad"),
    *("stängd och förlorad",),
    *("tabt", "lukket tabt", "lukket og tabt"),
    *("verloren", "geschlossen verloren", "abgeschlossen verloren", "geschlossen und verloren"),
    *("perdu", "perdue", "perdus", "perdues", "affaire perdue", "fermé perdu", "fermée perdue"),
    *("perdido", "perdida", "cerrado perdido", "cerrada perdida", "negocio perdido"),
    *("fechado perdido", "fechada perdida", "negócio perdido"),
    *("gesloten verloren", "deal verloren"),
    *("输单", "已输单", "丢单", "已丢单", "輸單", "已輸單", "丟單"),
    *("проиграна", "проиграно", "проигран", "проиграны", "проигрыш", "закрыто и не реализовано"),
    *("הפסד", "הפסיד", "אבוד", "אבודה"),
)
OPEN_WORDS: tuple[str, ...] = (
    *("open", "in progress"),
    *("öppen", "öppet", "öppna", "pågående"),
    *("åben", "åbent", "åbne"),
    *("offen",),
    *("ouvert", "ouverte", "en cours"),
    *("abierto", "abierta", "en curso"),
    *("aberto", "aberta", "em aberto", "em andamento"),
    *("lopend",),  # Dutch "open" is the English word
    *("进行中", "進行中", "跟进中", "跟進中"),
    *("открыта", "открыто", "открыт", "открытая", "открытые", "в работе"),
    *("פתוח", "פתוחה"),
)


# "Lost to <x>": a lost word and the word for "to (a rival)" begin the label. A lost word
# and any other word stays ambiguous ("Lost Leads" may be a stage of leads to win back).
LOST_TO_PHRASES: tuple[str, ...] = (
    "lost to",
    *("verloren an", "verloren aan"),
    *("perdu contre", "perdue contre"),
    *("perdido contra", "perdida contra", "perdido ante", "perdida ante"),
    *("perdido para", "perdida para"),
    *("förlorad till", "förlorat till", "förlorade till"),
    *("tabt til",),
)


@cache
def _lost_to() -> frozenset[tuple[str, str]]:
    return frozenset(
        (label_key(lost), label_key(to))
        for lost, to in (phrase.split(" ") for phrase in LOST_TO_PHRASES)
    )


@cache
def _outcomes() -> dict[str, Outcome]:
    """Key -> outcome; built on first use, so that importing this costs no unicodedata."""
    table: dict[str, Outcome] = {}
    outcomes: tuple[tuple[Outcome, tuple[str, ...]], ...] = (
        ("won", WON_WORDS),
        ("lost", LOST_WORDS),
        ("open", OPEN_WORDS),
    )
    for outcome, words in outcomes:
        for word in words:
            key = label_key(word)
            # One meaning per key: a word both won and lost would decide nothing.
            assert table.get(key, outcome) == outcome, word
            table[key] = outcome
    return table


_WORD = re.compile(r"\w+")


def outcome_word(text: str) -> str | None:
    """``"won"``, ``"lost"`` or ``"open"`` when the text is one of those words (or a label
    like ``Closed-Lost to Competition``), else None. The rule: the module docstring."""
    key = label_key(text)
    exact = _outcomes().get(key)
    if exact is not None or not key:
        return exact
    folded = text.casefold()
    words = list(_WORD.finditer(folded))
    if (
        len(words) > 2
        and (
            label_key(words[0].group()),
            label_key(words[1].group()),
        )
        in _lost_to()
    ):
        rest = {_outcomes().get(label_key(word.group())) for word in words[2:]}
        return None if "won" in rest else "lost"  # "Lost to competitor"
    for count in range(len(words) - 1, 0, -1):  # the longest prefix phrase first
        prefix = label_key(folded[: words[count - 1].end()])
        outcome = _outcomes().get(prefix)
        if outcome is None or outcome == "open":
            continue
        after = folded[words[count - 1].end() : words[count].start()]
        if count == 1 and not after.strip():
            continue  # "Lost Leads": one word and a space may begin a stage's name
        rest = {_outcomes().get(label_key(word.group())) for word in words[count:]}
        if ({"won", "lost"} - {outcome}) & rest:
            return None  # "Won/Lost review"
        return outcome
    return None


@dataclass(frozen=True)
class KnownPipeline:
    """A CRM's default pipeline: open stages top first with their aliases, won, lost."""

    name: str  # completes "stages and order from ...": "HubSpot's default Sales Pipeline"
    dialect: str  # as readers.columns.guess_dialect names it; "" for the built-in funnel
    stages: tuple[tuple[str, tuple[str, ...]], ...]
    won: tuple[str, tuple[str, ...]]
    lost: tuple[str, ...]

    def stage_of(self, label: str) -> int | None:
        """The index of the open stage ``label`` names (by key, name or alias), or None."""
        key = label_key(label)
        for index, (name, aliases) in enumerate(self.stages):
            if key == label_key(name) or key in {label_key(alias) for alias in aliases}:
                return index
        return None


def _builtin_pipeline() -> KnownPipeline:
    """The built-in default funnel (``DEFAULT_FUNNEL_DATA``) as a known pipeline."""
    stages = DEFAULT_FUNNEL_DATA["stages"]
    assert isinstance(stages, list)
    named = [
        (str(stage["name"]), tuple(str(a) for a in stage.get("aliases", ()))) for stage in stages
    ]
    return KnownPipeline(
        name="the built-in B2B funnel's stages",
        dialect="",
        stages=tuple(named[:-1]),
        won=named[-1],
        lost=DEFAULT_LOST_LABELS,
    )


_SALESFORCE_STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Prospecting", ()),
    ("Qualification", ()),
    ("Needs Analysis", ()),
    ("Value Proposition", ()),
    ("Id. Decision Makers", ("Identify Decision Makers",)),
    ("Perception Analysis", ()),
    ("Proposal/Price Quote", ()),
    ("Negotiation/Review", ()),
)

KNOWN_PIPELINES: tuple[KnownPipeline, ...] = (
    KnownPipeline(
        name="HubSpot's default Sales Pipeline",
        dialect="HubSpot",
        stages=(
            ("Appointment Scheduled", ("appointmentscheduled",)),
            ("Qualified To Buy", ("qualifiedtobuy",)),
            ("Presentation Scheduled", ("presentationscheduled",)),
            ("Decision Maker Bought-In", ("decisionmakerboughtin",)),
            ("Contract Sent", ("contractsent",)),
        ),
        won=("Closed Won", ("closedwon",)),
        lost=("Closed Lost", "closedlost"),
    ),
    KnownPipeline(
        name="Salesforce's standard stage picklist",
        dialect="Salesforce",
        stages=_SALESFORCE_STAGES,
        won=("Closed Won", ()),
        lost=("Closed Lost",),
    ),
    KnownPipeline(
        name="Zoho CRM's standard deal stages",
        dialect="Zoho",
        stages=_SALESFORCE_STAGES[1:],  # Zoho's list is Salesforce's without Prospecting
        won=("Closed Won", ()),
        lost=("Closed Lost", "Closed-Lost to Competition"),
    ),
    KnownPipeline(
        name="Pipedrive's default pipeline",
        dialect="Pipedrive",
        stages=(
            ("Qualified", ()),
            ("Contact Made", ()),
            ("Demo Scheduled", ()),
            ("Proposal Made", ()),
            ("Negotiations Started", ()),
        ),
        won=("Won", ()),  # Pipedrive has no won stage: its status column says won
        lost=(),
    ),
    _builtin_pipeline(),
)


def pipelines_for(dialect: str) -> tuple[KnownPipeline, ...]:
    """The known pipelines in the order to try them for an export of ``dialect``: its own
    CRM's first, then the other CRMs', the built-in funnel last."""
    own = [p for p in KNOWN_PIPELINES if p.dialect and p.dialect == dialect]
    others = [p for p in KNOWN_PIPELINES if p.dialect and p.dialect != dialect]
    builtin = [p for p in KNOWN_PIPELINES if not p.dialect]
    return (*own, *others, *builtin)


def distinct(labels: Iterable[str], *, taken: Iterable[str] = ()) -> tuple[str, ...]:
    """``labels`` without those whose key is empty, repeats an earlier one's or is in
    ``taken``'s keys, in order."""
    seen = {label_key(label) for label in taken}
    kept = []
    for label in labels:
        key = label_key(label)
        if key and key not in seen:
            seen.add(key)
            kept.append(label)
    return tuple(kept)
