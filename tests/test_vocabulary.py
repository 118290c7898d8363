"""vocabulary.py: won, lost and open words of eleven languages, and CRMs' default pipelines.

The words are checked one by one against the meaning written here by hand; the rule for
labels that begin with a word (``Closed-Lost to Competition``) against labels that must
stay stages (``Wonderful``, ``Lostwithiel``, ``Open house``). The deals reader reads a
status column in German and Swedish (tests/data/vocabulary/status_words.csv, counts
worked out below), the same with the compiled lane on and off.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from funnelcli.definition import DEFAULT_FUNNEL_DATA, default_funnel, label_key
from funnelcli.readers.export import ReadOptions, report_export
from funnelcli.results import ExportReport, SliceRequest
from funnelcli.vocabulary import (
    KNOWN_PIPELINES,
    LOST_WORDS,
    OPEN_WORDS,
    WON_WORDS,
    distinct,
    outcome_word,
    pipelines_for,
)

from .conftest import DATA, require_compiled_lane

# One row per language: (won, lost, open) as a speaker writes them in a status column.
STATUS_WORDS = [
    ("English", "Won", "Lost", "Open"),
    ("Swedish", "Vunnen", "Förlorad", "Öppen"),
    ("Danish", "Vundet", "Tabt", "Åben"),
    ("German", "Gewonnen", "Verloren", "Offen"),
    ("French", "Gagné", "Perdu", "Ouvert"),
    ("Spanish", "Ganado", "Perdido", "Abierto"),
    ("Portuguese", "Ganho", "Perdido", "Aberto"),
    ("Dutch", "Gewonnen", "Verloren", "Open"),
    ("Chinese", "赢单", "输单", "进行中"),
    ("Russian", "Выиграна", "Проиграна", "Открыта"),
    ("Hebrew", "זכייה", "הפסד", "פתוח"),
]


@pytest.mark.parametrize(("language", "won", "lost", "open_"), STATUS_WORDS)
def test_each_language_has_its_won_lost_and_open_words(
    language: str, won: str, lost: str, open_: str
) -> None:
    assert (outcome_word(won), outcome_word(lost), outcome_word(open_)) == (
        "won",
        "lost",
        "open",
    ), language


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        # CRM spellings and ids, in any case and punctuation
        ("Closed Won", "won"),
        ("closed-won", "won"),
        ("closedwon", "won"),
        ("CLOSED LOST", "lost"),
        ("closedlost", "lost"),
        ("Deal won", "won"),
        ("Deal Lost", "lost"),
        # gender, number and "closed won" phrasings
        ("Gagnée", "won"),
        ("Fermée perdue", "lost"),
        ("Cerrada ganada", "won"),
        ("Fechado perdido", "lost"),
        ("Geschlossen und gewonnen", "won"),
        ("Stängd förlorad", "lost"),
        ("已赢单", "won"),
        ("贏單", "won"),
        ("丢单", "lost"),
        ("выиграно", "won"),
        ("ПРОИГРАНА", "lost"),
        ("открыто", "open"),
        ("öppet", "open"),
        ("in progress", "open"),
        # decomposed accents (macOS) are the composed word
        ("Fo\u0308rlorad", "lost"),
        # a won or lost phrase at the start of a longer label
        ("Closed-Lost to Competition", "lost"),
        ("Closed Won - pending", "won"),
        ("Lost - no budget", "lost"),
        ("Won (signed)", "won"),
        ("Lost: price", "lost"),
        ("closedlost - duplicate", "lost"),
    ],
)
def test_outcome_words_as_written(text: str, outcome: str) -> None:
    assert outcome_word(text) == outcome


@pytest.mark.parametrize(
    "text",
    [
        "Wonderful",  # a word inside a longer word
        "Lostwithiel",
        "Open house",  # an open word begins many stage names
        "Open - waiting",
        "Lost Leads",  # one word and a space: may be a stage's name
        "Won Back",
        "Won/Lost review",  # both outcomes: neither
        "Lost or won",
        "deleted",  # Pipedrive: the reader skips deleted deals
        "Qualified To Buy",
        "Negotiation",
        "",
        "—",
    ],
)
def test_labels_that_are_no_outcome(text: str) -> None:
    assert outcome_word(text) is None


def test_no_word_means_two_outcomes() -> None:
    """Each key has one meaning (German and Dutch share gewonnen, both won)."""
    meanings: dict[str, set[str]] = {}
    for outcome, words in (("won", WON_WORDS), ("lost", LOST_WORDS), ("open", OPEN_WORDS)):
        for word in words:
            meanings.setdefault(label_key(word), set()).add(outcome)
    assert {key: found for key, found in meanings.items() if len(found) > 1} == {}


def test_every_listed_word_is_its_own_outcome() -> None:
    for outcome, words in (("won", WON_WORDS), ("lost", LOST_WORDS), ("open", OPEN_WORDS)):
        for word in words:
            assert outcome_word(word) == outcome, word


def test_known_pipelines_as_the_crm_documentation_lists_them() -> None:
    """CRM_EXPORTS.md, "Default pipelines", copied by hand."""
    by_name = {pipeline.name: pipeline for pipeline in KNOWN_PIPELINES}
    hubspot = by_name["HubSpot's default Sales Pipeline"]
    assert [name for name, _ in hubspot.stages] == [
        "Appointment Scheduled",
        "Qualified To Buy",
        "Presentation Scheduled",
        "Decision Maker Bought-In",
        "Contract Sent",
    ]
    ids = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled"]
    ids += ["decisionmakerboughtin", "contractsent"]
    assert [hubspot.stage_of(stage_id) for stage_id in ids] == [0, 1, 2, 3, 4]
    assert hubspot.won[0] == "Closed Won" and "closedwon" in hubspot.won[1]
    salesforce = by_name["Salesforce's standard stage picklist"]
    assert len(salesforce.stages) == 8
    assert salesforce.stage_of("Prospecting") == 0
    assert salesforce.stage_of("Negotiation/Review") == 7
    zoho = by_name["Zoho CRM's standard deal stages"]
    assert zoho.stage_of("Qualification") == 0
    assert zoho.stage_of("Identify Decision Makers") == zoho.stage_of("Id. Decision Makers") == 3
    assert "Closed-Lost to Competition" in zoho.lost
    pipedrive = by_name["Pipedrive's default pipeline"]
    assert [name for name, _ in pipedrive.stages] == [
        "Qualified",
        "Contact Made",
        "Demo Scheduled",
        "Proposal Made",
        "Negotiations Started",
    ]
    assert pipedrive.won == ("Won", ())
    builtin = by_name["the built-in B2B funnel's stages"]
    stages = DEFAULT_FUNNEL_DATA["stages"]
    assert isinstance(stages, list)
    assert [name for name, _ in builtin.stages] == ["Lead", "MQL", "SQL", "Opportunity"]
    assert builtin.stage_of("Marketing Qualified Lead") == 1


def test_pipelines_are_tried_own_crm_first_and_the_builtin_funnel_last() -> None:
    names = [pipeline.name for pipeline in pipelines_for("Zoho")]
    assert names[0] == "Zoho CRM's standard deal stages"
    assert names[-1] == "the built-in B2B funnel's stages"
    assert len(names) == len(KNOWN_PIPELINES)
    assert pipelines_for("generic CSV")[0].name == "HubSpot's default Sales Pipeline"


def test_distinct_keeps_the_first_of_each_key() -> None:
    assert distinct(["Closed Won", "closedwon", "", "Won", "won"], taken=["WON"]) == ("Closed Won",)


# --- the deals reader: a status column in German and Swedish ------------------------------

STATUS_EXPORT = DATA / "vocabulary" / "status_words.csv"


def _report(
    compiled: bool, monkeypatch: pytest.MonkeyPatch, path: Path = STATUS_EXPORT
) -> ExportReport:
    if compiled:
        require_compiled_lane()
        monkeypatch.delenv("FUNNEL_COMPILED", raising=False)
    else:
        monkeypatch.setenv("FUNNEL_COMPILED", "0")
    monkeypatch.setenv("FUNNEL_WORKERS", "1")
    return report_export(
        str(path),
        default_funnel(),
        as_of=dt.date(2025, 6, 30),
        options=ReadOptions(),
        stale_days=None,
        request=SliceRequest(),
    )


@pytest.mark.parametrize("compiled", [False, True], ids=["pure", "lane"])
def test_a_status_column_in_german_and_swedish_decides_the_outcome(
    compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Won: D01 Gewonnen 1000, D02 gewonnen 2000, D05 Vunnen 5000 = 3 deals, 8,000.
    Lost: D03 Verloren, D06 Förlorad, D09 FÖRLORAD = 3. Open: D04 Offen, D07 Öppen,
    D08 ÖPPEN, D10 offen = 4. D11 Pending: no word, skipped as an unknown status."""
    result = _report(compiled, monkeypatch)
    report = result.report
    assert (report.won, report.lost, report.open) == (3, 3, 4)
    assert [money.won_value for money in report.money] == [8000]
    assert (result.account.read, result.account.used) == (11, 10)
    assert dict(result.account.skipped) == {"unknown_status": 1}


def test_the_lane_and_python_read_the_status_words_alike(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The export ten times over (110 rows, deal names made unique): past the rows read
    ahead for the header the lane counts rows itself, with the decisions Python taught
    it (readers/lane.py: the lane decides no outcome on its own)."""
    header, *rows = STATUS_EXPORT.read_text(encoding="utf-8").splitlines()
    copies = [f"{copy}-{row}" for copy in range(10) for row in rows]
    bigger = tmp_path / "status_words_x10.csv"
    bigger.write_text("\n".join([header, *copies]) + "\n", encoding="utf-8")
    lane_on = _report(True, monkeypatch, bigger)
    assert (lane_on.report.won, lane_on.report.lost, lane_on.report.open) == (30, 30, 40)
    assert repr(lane_on) == repr(_report(False, monkeypatch, bigger))


@pytest.mark.parametrize(
    "label",
    [
        "Lost to competitor",
        "Closed: lost to competitor",
        "Verloren an Wettbewerber",
        "Verloren aan concurrent",
        "Perdu contre un concurrent",
        "Perdue contre concurrent",
        "Perdido contra competidor",
        "Perdida ante la competencia",
        "Förlorad till konkurrent",
        "Tabt til konkurrent",
        "Perdido para concorrente",
    ],
)
def test_lost_to_a_rival_is_lost(label: str) -> None:
    assert outcome_word(label) == "lost"


@pytest.mark.parametrize("label", ["Lost Leads", "Lost to", "Lost to won back", "Lost and found"])
def test_a_lost_word_and_another_word_is_no_outcome(label: str) -> None:
    assert outcome_word(label) is None
