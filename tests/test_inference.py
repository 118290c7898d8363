"""inference.py: the export's funnel from its evidence, and never a guessed order.

Worked cases, one or more per kind of evidence and per CRM's default pipeline, each with
the funnel written out by hand from the evidence given; then a property: for generated
evidence whose generator knows the true funnel, the inferred order is the true one, and
where the evidence does not settle the order (none, ties, pairs no deal relates),
:class:`OrderUnknown` is raised rather than any order.
"""

from __future__ import annotations

import string
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelcli.definition import label_key
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
from funnelcli.vocabulary import KNOWN_PIPELINES, KnownPipeline, outcome_word

L = LabelEvidence
NO_EVIDENCE_TRIED = "no Date entered columns, no probability column, and not a known CRM pipeline"


def _export(
    *labels: LabelEvidence,
    dialect: str = "generic CSV",
    outcome_column: bool = False,
    **evidence: Any,
) -> ExportEvidence:
    return ExportEvidence("deals.csv", dialect, labels, outcome_column, **evidence)


def _names(funnel: InferredFunnel) -> list[str]:
    return [stage.name for stage in funnel.stages]


def _entered(pipeline: str | None, *labels: str) -> tuple[EnteredEvidence, ...]:
    return tuple(EnteredEvidence(label, pipeline) for label in labels)


# --- 1. Date entered columns ---------------------------------------------------------------


def test_date_entered_columns_give_the_stages_and_skip_a_label_with_none() -> None:
    """HubSpot: the Sales Pipeline's columns in header order; "Junk" has no column, so it
    is no stage; "Presentation Scheduled" has no rows and is a stage all the same; the
    internal id qualifiedtobuy is the column "Qualified To Buy"; the Partner Pipeline's
    columns do not count (most rows are in the Sales Pipeline)."""
    evidence = _export(
        L("qualifiedtobuy", 40),
        L("Appointment Scheduled", 30),
        L("Closed Won", 20),
        L("Closed Lost", 10),
        L("Junk", 2),
        dialect="HubSpot",
        entered=(
            *_entered("Partner Pipeline", "Referral", "Closed Won"),
            *_entered(
                "Sales Pipeline",
                "Appointment Scheduled",
                "Qualified To Buy",
                "Presentation Scheduled",
                "Closed Won",
                "Closed Lost",
            ),
        ),
        pipelines=(("Sales Pipeline", 100), ("Partner Pipeline", 2)),
    )
    funnel = infer_funnel(evidence)
    assert funnel == InferredFunnel(
        stages=(
            InferredStage("Appointment Scheduled"),
            InferredStage("qualifiedtobuy"),  # "Qualified To Buy" has its key: no alias
            InferredStage("Presentation Scheduled"),
            InferredStage("Closed Won"),
        ),
        lost=("Closed Lost",),
        evidence="the export's Date entered columns",
        not_stages=(("Junk", "no Date entered column for it in the Sales Pipeline pipeline"),),
    )


def test_without_a_pipeline_column_the_pipeline_with_most_columns_counts() -> None:
    """Zoho's "Id. Decision Makers" label is the column "Identify Decision Makers": the
    same stage of Zoho's standard stages. The won stage is named after the won column
    when no row is won yet."""
    evidence = _export(
        L("Qualification", 5),
        L("Id. Decision Makers", 3),
        entered=(
            *_entered("Small", "Other"),
            *_entered("Main", "Qualification", "Identify Decision Makers", "Closed Won"),
        ),
    )
    funnel = infer_funnel(evidence)
    assert funnel.stages == (
        InferredStage("Qualification"),
        InferredStage("Id. Decision Makers", ("Identify Decision Makers",)),
        InferredStage("Closed Won"),
    )
    assert funnel.evidence == "the export's Date entered columns"


def test_date_entered_columns_of_another_pipeline_are_no_evidence() -> None:
    evidence = _export(L("Alpha", 2), L("Beta", 1), entered=_entered("P", "Gamma", "Delta"))
    with pytest.raises(OrderUnknown) as raised:
        infer_funnel(evidence)
    assert raised.value.labels == ("Alpha", "Beta")
    assert raised.value.tried == (
        "Date entered columns that name none of its stages, no probability column, "
        "and not a known CRM pipeline"
    )


def test_the_dates_of_date_entered_columns_decide_over_their_header_order() -> None:
    """Header: Proposal, Intro, Closed Won, Demo. Deal 1 entered Intro, then Demo, then
    Proposal (columns 1, 3, 0); deal 2 Intro then Demo. Intro precedes Demo (2 deals)
    and Demo precedes Proposal (1 deal): the one order is Intro, Demo, Proposal."""
    evidence = _export(
        L("Proposal", 3),
        L("Intro", 2),
        L("Demo", 1),
        L("Closed Won", 1),
        entered=_entered("Growth", "Proposal", "Intro", "Closed Won", "Demo"),
        entered_sequences=(((1,), (3,), (0,), (2,)), ((1,), (3,))),
    )
    funnel = infer_funnel(evidence)
    assert _names(funnel) == ["Intro", "Demo", "Proposal", "Closed Won"]
    assert funnel.evidence == "the dates in the export's Date entered columns"


def test_dates_that_leave_the_order_open_keep_the_header_order() -> None:
    """One deal relates Intro and Demo only (entered on one day for Proposal and Demo
    says nothing of their order): Proposal is unrelated, so the header order stands."""
    evidence = _export(
        L("Proposal", 3),
        L("Intro", 2),
        L("Demo", 1),
        entered=_entered("Growth", "Proposal", "Intro", "Demo"),
        entered_sequences=(((1,), (2,)), ((0, 2),)),
    )
    funnel = infer_funnel(evidence)
    assert _names(funnel)[:-1] == ["Proposal", "Intro", "Demo"]
    assert funnel.evidence == "the export's Date entered columns"


def test_dates_agreeing_with_the_header_name_the_columns() -> None:
    evidence = _export(
        L("Intro", 2),
        L("Demo", 1),
        entered=_entered("Growth", "Intro", "Demo"),
        entered_sequences=(((0,), (1,)),),
    )
    assert infer_funnel(evidence).evidence == "the export's Date entered columns"


def test_only_the_chosen_pipelines_dates_count() -> None:
    """Renewals' columns (indexes 0 and 1) say B before A; Growth's (2, 3) say A before
    B; most rows are Growth's, so A comes first though Growth's header says B, A."""
    evidence = _export(
        L("A", 2),
        L("B", 1),
        entered=(*_entered("Renewals", "A", "B"), *_entered("Growth", "B", "A")),
        entered_sequences=(((1,), (0,)), ((1,), (0,)), ((3,), (2,))),
        pipelines=(("Growth", 3), ("Renewals", 2)),
    )
    funnel = infer_funnel(evidence)
    assert _names(funnel)[:-1] == ["A", "B"]
    assert funnel.evidence == "the dates in the export's Date entered columns"


def test_a_label_outside_the_pipeline_the_others_follow_is_named() -> None:
    evidence = _export(
        L("Prospecting", 3), L("Qualification", 2), L("Bogus Stage", 1), dialect="Salesforce"
    )
    with pytest.raises(OrderUnknown) as raised:
        infer_funnel(evidence)
    assert raised.value.labels == ("Bogus Stage",)
    assert raised.value.tried == (
        "no Date entered columns, no probability column, and the other labels follow "
        "Salesforce's standard stage picklist, but it is not among its stages"
    )


def test_a_label_without_a_probability_is_named() -> None:
    evidence = _export(
        L("Scoping", 2, probability=Fraction(1, 5)),
        L("Legal", 1, probability=Fraction(3, 5)),
        L("Pilot", 1),
        probability_column="Probability (%)",
    )
    with pytest.raises(OrderUnknown) as raised:
        infer_funnel(evidence)
    assert raised.value.labels == ("Pilot",)
    assert raised.value.tried == (
        "no Date entered columns, a 'Probability (%)' column in which 'Pilot' has no "
        "probability, and not a known CRM pipeline"
    )


# --- 2. stage history ----------------------------------------------------------------------


def test_stage_history_orders_by_what_most_deals_did() -> None:
    """Deals: Intro, Demo, Deal (x2); Intro, Deal; Demo, Intro, Trial (one deal against
    the others: Intro before Demo 2 to 1); Intro, Trial, Vunnen; Trial again after Deal in
    one: Deal before Trial 2 to 0 (first entries count). Trial is seen only in the
    history, and a stage all the same. Vunnen is a won word, not a stage."""
    history = (
        ("Intro", "Demo", "Deal"),
        ("Intro", "Demo", "Deal", "Trial", "Deal"),
        ("Intro", "Deal"),
        ("Demo", "Intro", "Trial"),
        ("Intro", "Trial", "Vunnen"),
    )
    evidence = _export(
        L("Deal", 3),
        L("Demo", 2),
        L("Intro", 1),
        L("Vunnen", 1),
        history=history,
        history_source="history.csv",
    )
    funnel = infer_funnel(evidence)
    assert _names(funnel) == ["Intro", "Demo", "Deal", "Trial", "Vunnen"]
    assert funnel.evidence == "the stage history in history.csv"


def test_a_tie_in_the_stage_history_orders_nothing() -> None:
    history = (("Intro", "Demo"), ("Demo", "Intro"))
    evidence = _export(L("Intro", 1), L("Demo", 1), history=history, history_source="h.csv")
    with pytest.raises(OrderUnknown) as raised:
        infer_funnel(evidence)
    assert raised.value.labels == ("Intro", "Demo")
    assert "a stage history in h.csv that does not order them" in raised.value.tried


def test_a_cycle_in_the_stage_history_orders_nothing() -> None:
    history = (("A", "B"), ("B", "C"), ("C", "A"))
    evidence = _export(L("A", 1), L("B", 1), L("C", 1), history=history, history_source="h.csv")
    with pytest.raises(OrderUnknown):
        infer_funnel(evidence)


# --- 3. probability ------------------------------------------------------------------------


def test_probability_medians_order_the_stages() -> None:
    evidence = _export(
        L("Demo", 9, probability=Fraction(1, 2)),
        L("Intro", 5, probability=Fraction(1, 10)),
        L("Offer", 2, probability=Fraction(3, 4)),
        L("Closed Won", 4, probability=Fraction(1)),
        L("Closed Lost", 3, probability=Fraction(0)),
        probability_column="Probability (%)",
    )
    funnel = infer_funnel(evidence)
    assert _names(funnel) == ["Intro", "Demo", "Offer", "Closed Won"]
    assert funnel.lost == ("Closed Lost",)
    assert funnel.evidence == "the export's 'Probability (%)' column"


def test_equal_medians_are_ordered_by_a_pipeline_that_has_both() -> None:
    """Salesforce's common defaults give Prospecting and Qualification 10% each."""
    evidence = _export(
        L("Qualification", 5, probability=Fraction(1, 10)),
        L("Prospecting", 4, probability=Fraction(1, 10)),
        L("Needs Analysis", 3, probability=Fraction(1, 5)),
        L("Custom Review", 2, probability=Fraction(9, 10)),
        dialect="Salesforce",
        probability_column="Probability (%)",
    )
    funnel = infer_funnel(evidence)
    assert _names(funnel) == [
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Custom Review",
        "Won",
    ]
    assert funnel.evidence == (
        "the export's 'Probability (%)' column and Salesforce's standard stage picklist"
    )


def test_equal_medians_no_pipeline_settles_are_unordered() -> None:
    """Beta and Gamma tie at 20%: OrderUnknown names those two and no other."""
    evidence = _export(
        L("Alpha", 9, probability=Fraction(1, 10)),
        L("Gamma", 5, probability=Fraction(1, 5)),
        L("Beta", 6, probability=Fraction(1, 5)),
        L("Delta", 2, probability=Fraction(1, 2)),
        probability_column="Probability (%)",
    )
    with pytest.raises(OrderUnknown) as raised:
        infer_funnel(evidence)
    assert raised.value.labels == ("Beta", "Gamma")  # most rows first
    assert raised.value.tried == (
        "no Date entered columns, a 'Probability (%)' column in which 'Beta' and 'Gamma' "
        "are both at 20%, and not a known CRM pipeline"
    )
    funnel = infer_funnel(evidence, allow_unordered=True)
    assert _names(funnel) == ["Alpha", "Delta", "Beta", "Gamma", "Won"]
    assert funnel.unordered == ("Beta", "Gamma")
    assert funnel.evidence == "the export's 'Probability (%)' column"


# --- 4. each CRM's default pipeline --------------------------------------------------------


def test_hubspot_internal_ids_are_its_default_sales_pipeline() -> None:
    evidence = _export(
        L("contractsent", 4),
        L("appointmentscheduled", 3),
        L("closedwon", 2),
        L("closedlost", 1),
    )
    funnel = infer_funnel(evidence)
    assert funnel.evidence == "HubSpot's default Sales Pipeline"
    assert funnel.stages == (
        # Internal values name no stage: the pipeline's labels do (the values share
        # their label_key, so they need no alias).
        InferredStage("Appointment Scheduled"),
        InferredStage("Qualified To Buy"),
        InferredStage("Presentation Scheduled"),
        InferredStage("Decision Maker Bought-In"),
        InferredStage("Contract Sent"),
        InferredStage("Closed Won"),
    )
    assert funnel.lost == ("closedlost",)


def test_salesforce_standard_picklist() -> None:
    evidence = _export(
        L("Negotiation/Review", 3),
        L("Prospecting", 2),
        L("Closed Won", 2),
        L("Closed Lost", 1),
        dialect="Salesforce",
    )
    funnel = infer_funnel(evidence)
    assert funnel.evidence == "Salesforce's standard stage picklist"
    assert _names(funnel) == [
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Value Proposition",
        "Id. Decision Makers",
        "Perception Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Closed Won",
    ]
    assert funnel.stages[4].aliases == ("Identify Decision Makers",)
    assert funnel.lost == ("Closed Lost",)


def test_zoho_standard_stages_with_its_lost_to_competition() -> None:
    evidence = _export(
        L("Identify Decision Makers", 3),
        L("Qualification", 2),
        L("Closed Won", 2),
        L("Closed-Lost to Competition", 1),
        dialect="Zoho",
    )
    funnel = infer_funnel(evidence)
    assert funnel.evidence == "Zoho CRM's standard deal stages"
    assert _names(funnel)[:4] == [
        "Qualification",
        "Needs Analysis",
        "Value Proposition",
        "Identify Decision Makers",
    ]
    assert funnel.stages[3].aliases == ("Id. Decision Makers",)
    assert funnel.lost == ("Closed-Lost to Competition", "Closed Lost")


def test_pipedrive_default_pipeline_with_outcomes_from_the_status_column() -> None:
    """Pipedrive's lost deals keep their stage: "Demo Scheduled" rows all say lost, and it
    is a stage still. No won label: the last stage is "Won"."""
    evidence = _export(
        L("Qualified", 6, won=1, open=5),
        L("Demo Scheduled", 3, lost=3),
        dialect="Pipedrive",
        outcome_column=True,
    )
    funnel = infer_funnel(evidence)
    assert funnel.evidence == "Pipedrive's default pipeline"
    assert funnel.stages == (
        InferredStage("Qualified"),
        InferredStage("Contact Made"),
        InferredStage("Demo Scheduled"),
        InferredStage("Proposal Made"),
        InferredStage("Negotiations Started"),
        InferredStage("Won"),
    )
    assert funnel.lost == ()


def test_the_builtin_funnel_is_tried_last() -> None:
    evidence = _export(L("New", 5), L("Proposal", 2), L("MQL", 1), L("Won", 1), L("Lost", 1))
    funnel = infer_funnel(evidence)
    assert funnel.evidence == "the built-in B2B funnel's stages"
    assert [stage.name for stage in funnel.stages] == ["New", "MQL", "SQL", "Proposal", "Won"]
    assert funnel.stages[0].aliases == ("Lead", "Inbound", "subscriber")
    assert funnel.stages[-1].aliases == ("Closed Won",)
    assert funnel.lost == ("Lost", "Closed Lost")


# --- won and lost --------------------------------------------------------------------------


def test_translated_won_and_lost_words() -> None:
    """Vunnen has most won rows: the won stage's name; 赢单 and выиграна are its aliases.
    Förlorad, 输单 and TABT are lost."""
    evidence = _export(
        L("Kvalificerad", 4, probability=Fraction(1, 5)),
        L("Förhandling", 3, probability=Fraction(3, 5)),
        L("Vunnen", 5),
        L("赢单", 2),
        L("выиграна", 1),
        L("Förlorad", 3),
        L("输单", 2),
        L("TABT", 1),
        probability_column="Sannolikhet",
    )
    funnel = infer_funnel(evidence)
    assert funnel.stages[-1] == InferredStage("Vunnen", ("赢单", "выиграна"))
    assert funnel.lost == ("Förlorad", "输单", "TABT")
    assert _names(funnel)[:-1] == ["Kvalificerad", "Förhandling"]


def test_the_status_column_decides_over_a_label_that_every_row_contradicts() -> None:
    """ "Closed Won" rows that all say lost are lost deals, "Closed Lost" rows that all say
    open are a stage; "Lost Review" is no outcome word: a stage though its rows say lost."""
    evidence = _export(
        L("Intro", 3, open=3, probability=Fraction(1, 10)),
        L("Lost Review", 2, lost=2, probability=Fraction(1, 2)),
        L("Closed Lost", 2, open=2, probability=Fraction(3, 4)),
        L("Closed Won", 2, lost=2),
        L("Won", 1, won=1),
        outcome_column=True,
        probability_column="Probability",
    )
    funnel = infer_funnel(evidence)
    assert _names(funnel) == ["Intro", "Lost Review", "Closed Lost", "Won"]
    assert funnel.lost == ("Closed Won",)


def test_a_won_word_whose_rows_all_say_lost_leaves_the_won_stage_its_own_name() -> None:
    evidence = _export(L("Intro", 3, open=3), L("Won", 2, lost=2), outcome_column=True)
    funnel = infer_funnel(evidence)
    assert funnel.stages[-1] == InferredStage("Won deals")
    assert funnel.lost == ("Won",)


def test_no_open_label() -> None:
    with pytest.raises(NoOpenStage):
        infer_funnel(_export(L("Closed Won", 3), L("Closed Lost", 2)))


def test_one_open_label_needs_no_order() -> None:
    funnel = infer_funnel(_export(L("Pipeline", 3), L("Won", 1)))
    assert _names(funnel) == ["Pipeline", "Won"]
    assert funnel.evidence == "the export's only open stage"


def test_a_label_without_letters_is_no_stage() -> None:
    funnel = infer_funnel(_export(L("Pipeline", 3), L("--", 1)))
    assert funnel.not_stages == (("--", "no letters or digits in it"),)


# --- no evidence ---------------------------------------------------------------------------


def test_no_evidence_names_every_open_label() -> None:
    evidence = _export(L("Beta", 1), L("Alpha", 4), L("Closed Won", 2), L("Gamma", 2))
    with pytest.raises(OrderUnknown) as raised:
        infer_funnel(evidence)
    assert raised.value.labels == ("Alpha", "Gamma", "Beta")
    assert raised.value.tried == NO_EVIDENCE_TRIED


def test_allow_unordered_puts_them_by_rows() -> None:
    evidence = _export(L("Beta", 1), L("Alpha", 4), L("Closed Won", 2), L("Gamma", 2))
    funnel = infer_funnel(evidence, allow_unordered=True)
    assert _names(funnel) == ["Alpha", "Gamma", "Beta", "Closed Won"]
    assert funnel.unordered == ("Alpha", "Gamma", "Beta")
    assert funnel.evidence == (
        "the export's labels, listed by row count: no evidence gives their order"
    )


def test_allow_unordered_after_a_known_pipeline() -> None:
    """Two of three labels are Pipedrive's: its stages first, "Custom" after them."""
    evidence = _export(
        L("Custom", 3), L("Qualified", 2), L("Proposal Made", 1), dialect="Pipedrive"
    )
    with pytest.raises(OrderUnknown) as raised:
        infer_funnel(evidence)
    assert raised.value.labels == ("Custom",)
    funnel = infer_funnel(evidence, allow_unordered=True)
    assert _names(funnel)[-2:] == ["Custom", "Won"]
    assert funnel.evidence == "Pipedrive's default pipeline"


# --- the property --------------------------------------------------------------------------


def _no_known_stage(label: str) -> bool:
    return all(pipeline.stage_of(label) is None for pipeline in KNOWN_PIPELINES)


# Letters only: no punctuation makes a prefix phrase; no word of any pipeline or language.
random_label = st.text(string.ascii_letters, min_size=3, max_size=10).filter(
    lambda label: outcome_word(label) is None and _no_known_stage(label)
)
true_funnels = st.lists(random_label, min_size=2, max_size=6, unique_by=label_key)
OUTCOMES = (L("Closed Won", 3), L("Closed Lost", 2))


def _rows(draw: st.DrawFn, labels: list[str]) -> tuple[LabelEvidence, ...]:
    """A non-empty subset of ``labels`` with rows (in other case), most rows first."""
    chosen = draw(st.lists(st.sampled_from(labels), min_size=1, unique=True))
    rows = [L(label.upper(), draw(st.integers(1, 50))) for label in chosen]
    return tuple(sorted(rows, key=lambda label: -label.rows))


@st.composite
def entered_cases(draw: st.DrawFn) -> tuple[ExportEvidence, list[str], set[str]]:
    true = draw(true_funnels)
    junk = draw(
        st.lists(random_label, max_size=2, unique_by=label_key).map(
            lambda labels: [j for j in labels if label_key(j) not in {label_key(t) for t in true}]
        )
    )
    labels = (*_rows(draw, true), *(L(j, 1) for j in junk), *OUTCOMES)
    columns = _entered("Sales", *true, "Closed Won", "Closed Lost")
    evidence = _export(*labels, entered=columns)
    return evidence, true, {label_key(j) for j in junk}


@st.composite
def shuffled_entered_cases(draw: st.DrawFn) -> tuple[ExportEvidence, list[str]]:
    """The true stages' columns in any header order; deals entered a run of the true
    stages on rising dates, one deal at least through every stage."""
    true = draw(true_funnels)
    header = draw(st.permutations(true))
    position = {label: header.index(label) for label in true}
    runs = [len(true), *draw(st.lists(st.integers(0, len(true)), max_size=8))]
    sequences = tuple(
        tuple((position[label],) for label in true[:reached]) for reached in runs if reached > 1
    )
    labels = (*_rows(draw, true), *OUTCOMES)
    evidence = _export(*labels, entered=_entered("Sales", *header), entered_sequences=sequences)
    return evidence, true


@given(shuffled_entered_cases())
def test_entered_dates_give_the_true_order_whatever_the_header(
    case: tuple[ExportEvidence, list[str]],
) -> None:
    evidence, true = case
    funnel = infer_funnel(evidence)
    assert [label_key(name) for name in _names(funnel)[:-1]] == [label_key(t) for t in true]


@st.composite
def history_cases(draw: st.DrawFn) -> tuple[ExportEvidence, list[str]]:
    true = draw(true_funnels)
    sequences = []
    for i in range(len(true) - 1):  # each adjacent pair entered by one deal at least
        sequences.append(_subsequence(draw, true, must=(i, i + 1)))
    sequences += draw(st.lists(st.builds(lambda: None), max_size=6).map(len)) * [()]
    sequences = [s or _subsequence(draw, true, must=()) for s in sequences]
    labels = (*_rows(draw, true), *OUTCOMES)
    sequences = [(*s, "Closed Won") if draw(st.booleans()) else s for s in sequences]
    return _export(*labels, history=tuple(sequences), history_source="h.csv"), true


def _subsequence(draw: st.DrawFn, true: list[str], must: tuple[int, ...]) -> tuple[str, ...]:
    kept = [i in must or draw(st.booleans()) for i in range(len(true))]
    return tuple(label for label, keep in zip(true, kept, strict=True) if keep)


@st.composite
def probability_cases(draw: st.DrawFn) -> tuple[ExportEvidence, list[str]]:
    true = draw(true_funnels)
    medians = sorted(
        draw(
            st.lists(
                st.fractions(0, 1, max_denominator=100),
                min_size=len(true),
                max_size=len(true),
                unique=True,
            )
        )
    )
    labels = [
        L(label, draw(st.integers(1, 50)), probability=m)
        for label, m in zip(true, medians, strict=True)
    ]
    labels.sort(key=lambda label: -label.rows)
    return _export(*labels, *OUTCOMES, probability_column="Probability (%)"), true


@st.composite
def pipeline_cases(draw: st.DrawFn) -> tuple[ExportEvidence, KnownPipeline]:
    """Labels of one pipeline, in any of its spellings; the export names its CRM, and the
    built-in funnel's export uses no spelling a CRM's pipeline has (it is tried last)."""
    pipeline = draw(st.sampled_from(KNOWN_PIPELINES))
    others = [p for p in KNOWN_PIPELINES if not pipeline.dialect and p is not pipeline]
    spellings = [
        [
            spelling
            for spelling in (name, *aliases)
            if all(other.stage_of(spelling) is None for other in others)
        ]
        for name, aliases in pipeline.stages
    ]
    indexes = draw(st.lists(st.integers(0, len(pipeline.stages) - 1), min_size=1, unique=True))
    labels = [
        L(draw(st.sampled_from(spellings[i])), draw(st.integers(1, 50)))
        for i in indexes
        if spellings[i]
    ]
    if not labels:
        labels = [L(pipeline.stages[0][0], 1)]
    labels.sort(key=lambda label: -label.rows)
    return _export(*labels, *OUTCOMES, dialect=pipeline.dialect or "generic CSV"), pipeline


@given(entered_cases())
def test_date_entered_columns_give_the_true_funnel(
    case: tuple[ExportEvidence, list[str], set[str]],
) -> None:
    evidence, true, junk = case
    funnel = infer_funnel(evidence)
    assert [label_key(name) for name in _names(funnel)[:-1]] == [label_key(t) for t in true]
    assert {label_key(label) for label, _ in funnel.not_stages} == junk


@given(history_cases())
def test_stage_history_gives_the_true_order(case: tuple[ExportEvidence, list[str]]) -> None:
    evidence, true = case
    funnel = infer_funnel(evidence)
    assert [label_key(name) for name in _names(funnel)[:-1]] == [label_key(t) for t in true]


@given(probability_cases())
def test_rising_probabilities_give_the_true_order(case: tuple[ExportEvidence, list[str]]) -> None:
    evidence, true = case
    assert _names(infer_funnel(evidence))[:-1] == true


@given(pipeline_cases())
def test_a_known_pipeline_gives_its_own_order(case: tuple[ExportEvidence, KnownPipeline]) -> None:
    evidence, pipeline = case
    funnel = infer_funnel(evidence)
    assert funnel.evidence == pipeline.name
    places = [pipeline.stage_of(stage.name) for stage in funnel.stages[:-1]]
    assert places == list(range(len(pipeline.stages)))


@given(true_funnels, st.data())
def test_no_evidence_is_order_unknown(true: list[str], data: st.DataObject) -> None:
    labels = [L(label, data.draw(st.integers(1, 50))) for label in true]
    with pytest.raises(OrderUnknown) as raised:
        infer_funnel(_export(*labels, *OUTCOMES))
    assert set(raised.value.labels) == set(true)
    assert raised.value.tried == NO_EVIDENCE_TRIED


@given(true_funnels, st.data())
def test_tied_probabilities_are_never_ordered(true: list[str], data: st.DataObject) -> None:
    """Two labels share a median: whatever the others, no order is given."""
    medians = [Fraction(i, len(true)) for i in range(len(true))]
    tied = data.draw(st.integers(0, len(true) - 2))
    medians[tied + 1] = medians[tied]
    labels = [L(label, 1, probability=m) for label, m in zip(true, medians, strict=True)]
    with pytest.raises(OrderUnknown) as raised:
        infer_funnel(_export(*labels, probability_column="P"))
    assert set(raised.value.labels) == {true[tied], true[tied + 1]}


@given(true_funnels, st.data())
def test_a_pair_no_deal_relates_or_a_tie_is_never_ordered(
    true: list[str], data: st.DataObject
) -> None:
    """Sequences that respect the true order but never hold stages i and i+1 together, or
    hold them as often one way as the other: i and i+1 stay unordered."""
    gap = data.draw(st.integers(0, len(true) - 2))
    draw = data.draw
    sequences = [
        _subsequence(draw, true, must=(j, j + 1)) for j in range(len(true) - 1) if j != gap
    ]
    sequences += [_subsequence(draw, true, must=()) for _ in range(draw(st.integers(0, 5)))]
    sequences = [s for s in sequences if not {true[gap], true[gap + 1]} <= set(s)]
    if draw(st.booleans()):  # a tie: as many deals each way
        ties = draw(st.integers(1, 3))
        sequences += [(true[gap], true[gap + 1])] * ties + [(true[gap + 1], true[gap])] * ties
    labels = [L(label, 1) for label in true]
    with pytest.raises(OrderUnknown):
        infer_funnel(_export(*labels, history=tuple(sequences), history_source="h.csv"))


@given(true_funnels, st.data())
def test_a_minority_of_deals_against_the_order_never_gives_another_order(
    true: list[str], data: st.DataObject
) -> None:
    """Deals that went the true way, and fewer deals per pair the other way round: the
    inferred order is the true one, or none (a pair no deal relates)."""
    draw = data.draw
    forward = [_subsequence(draw, true, must=()) for _ in range(draw(st.integers(1, 8)))]
    backward = []
    for earlier in range(len(true)):
        for later in range(earlier + 1, len(true)):
            together = sum(1 for s in forward if {true[earlier], true[later]} <= set(s))
            against = draw(st.integers(0, max(together - 1, 0)))
            backward += [(true[later], true[earlier])] * against
    labels = [L(label, 1) for label in true]
    evidence = _export(*labels, history=(*forward, *backward), history_source="h.csv")
    try:
        funnel = infer_funnel(evidence)
    except OrderUnknown:
        return
    assert _names(funnel)[:-1] == true
