"""The funnel definition: valid data, every validation rule as a whole message, warnings."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from funnelcli.definition import (
    DEFAULT_LOST_LABELS,
    TOP_LEVEL_KEYS,
    Stage,
    build_funnel,
    default_funnel,
    label_key,
)
from funnelcli.errors import DefinitionError

RANGE = "must be a rate between 0 and 1 (like 0.35 or 35%)"
MISSING_RATE = "give the rate to the next stage, like 0.35 or 35%"


def valid_data() -> dict[str, object]:
    return {
        "name": "B2B SaaS",
        "currency": "usd",
        "average_deal_value": "24k",
        "cost_per_lead": 45,
        "stages": [
            {"name": "Lead", "conversion": "25%", "days": 5, "aliases": ["New", "Inbound"]},
            {"name": "MQL", "conversion": 0.4, "days": 7},
            {"name": "Won", "aliases": ["Closed Won"]},
        ],
        "lost": ["Closed Lost"],
        "columns": {"stage": "Deal Stage"},
    }


def problems_of(data: object, source: str = "funnel.yaml") -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        build_funnel(data, source)
    return caught.value.problems


def with_stages(*stages: object) -> dict[str, object]:
    return {"name": "Test", "stages": list(stages)}


# --- valid data -----------------------------------------------------------------------------


def test_build_funnel_on_valid_data() -> None:
    result = build_funnel(valid_data(), "my.yaml")
    funnel = result.funnel
    assert result.warnings == []
    assert funnel.name == "B2B SaaS"
    assert funnel.currency == "USD"
    assert funnel.average_deal_value == Decimal(24000)
    assert funnel.cost_per_lead == Decimal(45)
    assert funnel.stages == (
        Stage("Lead", Fraction(1, 4), Fraction(5), ("New", "Inbound")),
        Stage("MQL", Fraction(2, 5), Fraction(7), ()),
        Stage("Won", None, None, ("Closed Won",)),
    )
    assert funnel.won_stage.name == "Won"
    assert funnel.lost_labels == ("Closed Lost",)
    assert funnel.columns == {"stage": "Deal Stage"}
    assert funnel.source == "my.yaml"
    assert funnel.is_default is False
    assert funnel.has_rates and funnel.has_days


def test_defaults_when_keys_are_left_out() -> None:
    funnel = build_funnel(with_stages({"name": "Lead"}, {"name": "Won"})).funnel
    assert funnel.name == "Test"
    assert funnel.currency == "USD"
    assert funnel.average_deal_value is None
    assert funnel.cost_per_lead is None
    assert funnel.lost_labels == DEFAULT_LOST_LABELS
    assert funnel.columns == {}


def test_the_default_funnel() -> None:
    funnel = default_funnel()
    assert funnel.is_default is True
    assert funnel.source == "built-in default"
    assert [stage.name for stage in funnel.stages] == ["Lead", "MQL", "SQL", "Opportunity", "Won"]
    # The commonly quoted B2B SaaS medians: 25%, 40%, 50%, 30%.
    assert [stage.conversion for stage in funnel.stages] == [
        Fraction(1, 4),
        Fraction(2, 5),
        Fraction(1, 2),
        Fraction(3, 10),
        None,
    ]
    assert [stage.days for stage in funnel.stages[:-1]] == [5, 7, 14, 30]
    assert funnel.average_deal_value == Decimal(24000)
    assert funnel.has_rates and funnel.has_days


def test_a_funnel_without_rates_is_valid() -> None:
    funnel = build_funnel(with_stages({"name": "Lead"}, {"name": "SQL"}, {"name": "Won"})).funnel
    assert funnel.has_rates is False
    assert funnel.has_days is False


def test_label_key_ignores_case_spaces_and_punctuation() -> None:
    assert label_key("Closed Won") == "closedwon"
    assert label_key("closed-won") == "closedwon"
    assert label_key("closedwon") == "closedwon"
    assert label_key("Straße") == label_key("STRASSE")  # casefold: ß matches ss


# --- one rule, one message --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        (
            with_stages({"name": "Won"}),
            [
                "funnel.yaml: stages: needs at least two stages "
                "(a first stage and the won stage), got 1"
            ],
        ),
        (
            {"name": "No stages"},
            ["funnel.yaml: stages: missing; list the stages top first, the won stage last"],
        ),
        (
            with_stages({"name": "Lead"}, {"name": "lead"}, {"name": "Won"}),
            [
                "funnel.yaml: stages[1].name: 'lead' repeats stages[0].name; "
                "stage names must be unique (ignoring case)"
            ],
        ),
        (
            with_stages({"name": "Lead", "conversion": 0}, {"name": "Won"}),
            [f"funnel.yaml: stages[0].conversion: {RANGE}, got 0"],
        ),
        (
            with_stages({"name": "Lead", "conversion": 1.4}, {"name": "Won"}),
            [f"funnel.yaml: stages[0].conversion: {RANGE}, got 1.4"],
        ),
        (
            with_stages({"name": "Lead", "conversion": 35}, {"name": "Won"}),
            [f"funnel.yaml: stages[0].conversion: {RANGE}, got 35; did you mean 35%?"],
        ),
        (
            with_stages(
                {"name": "Lead", "conversion": "25%"},
                {"name": "MQL"},
                {"name": "SQL", "conversion": "50%"},
                {"name": "Won"},
            ),
            [f"funnel.yaml: stages[1].conversion: missing for stage 'MQL'; {MISSING_RATE}"],
        ),
        (
            with_stages({"name": "Lead", "days": -3}, {"name": "Won"}),
            ["funnel.yaml: stages[0].days: must be a number of days, 0 or more (like 14), got -3"],
        ),
        (
            with_stages({"name": "Lead", "days": "5%"}, {"name": "Won"}),
            [
                "funnel.yaml: stages[0].days: must be a number of days, "
                "0 or more (like 14), got the text '5%'"
            ],
        ),
        (
            {"average_deal_value": 0, "stages": [{"name": "Lead"}, {"name": "Won"}]},
            ["funnel.yaml: average_deal_value: must be above 0, got 0"],
        ),
        (
            {"average_deal_value": -24000, "stages": [{"name": "Lead"}, {"name": "Won"}]},
            ["funnel.yaml: average_deal_value: must be above 0, got -24000"],
        ),
        (
            {"average_deal_value": "abc", "stages": [{"name": "Lead"}, {"name": "Won"}]},
            [
                "funnel.yaml: average_deal_value: 'abc' is not an amount; "
                "use 1200000, 1,200,000, 1_200_000, 1.2M, 250k or $1.2M"
            ],
        ),
        (
            {"cost_per_lead": "-45", "stages": [{"name": "Lead"}, {"name": "Won"}]},
            ["funnel.yaml: cost_per_lead: must be above 0, got -45"],
        ),
        (
            {"currency": "dollars", "stages": [{"name": "Lead"}, {"name": "Won"}]},
            [
                "funnel.yaml: currency: must be a 3-letter ISO currency code "
                "like USD or EUR, got the text 'dollars'"
            ],
        ),
        (
            {"currency": 840, "stages": [{"name": "Lead"}, {"name": "Won"}]},
            [
                "funnel.yaml: currency: must be a 3-letter ISO currency code "
                "like USD or EUR, got 840"
            ],
        ),
        (
            {"stages": "Lead, Won"},
            ["funnel.yaml: stages: expected a list of stages, got the text 'Lead, Won'"],
        ),
        (
            with_stages("Lead", {"name": "Won"}),
            [
                "funnel.yaml: stages[0]: expected a mapping like "
                "{name: MQL, conversion: 40%}, got the text 'Lead'"
            ],
        ),
        (
            with_stages({"name": ""}, {"name": "Won"}),
            ["funnel.yaml: stages[0].name: expected a non-empty text, got the text ''"],
        ),
        (
            with_stages({"name": "Lead", "aliases": {"a": 1}}, {"name": "Won"}),
            [
                "funnel.yaml: stages[0].aliases: expected a list of labels like "
                "[Closed Won, closedwon], got a mapping"
            ],
        ),
        (
            {"columns": ["stage"], "stages": [{"name": "Lead"}, {"name": "Won"}]},
            ["funnel.yaml: columns: expected a mapping like {stage: Deal Stage}, got a list"],
        ),
    ],
)
def test_each_rule_has_its_whole_message(data: object, problems: list[str]) -> None:
    assert problems_of(data) == problems


def test_empty_data() -> None:
    assert problems_of(None, "f.yaml") == [
        "f.yaml: the file is empty; it needs at least a stages: list"
    ]


def test_a_list_at_the_top() -> None:
    assert problems_of([{"name": "Lead"}, {"name": "Won"}], "f.yaml") == [
        "f.yaml: expected a mapping with name: and stages: at the top, got a list"
    ]


def test_every_problem_is_reported_at_once_in_order() -> None:
    data = {
        "name": "Broken",
        "currency": "dollars",
        "average_deal_value": 0,
        "stages": [
            {"name": "Lead", "conversion": "25%"},
            {"name": "lead", "conversion": "40%"},
            {"name": "SQL", "conversion": "50%", "days": -2},
            {"name": "Opportunity", "aliases": ["New"]},
            {"name": "Won", "aliases": ["Opportunity", "Closed Lost"]},
        ],
    }
    # Top-level keys first, then each stage in order, then the cross-stage checks.
    assert problems_of(data, "broken.yaml") == [
        "broken.yaml: currency: must be a 3-letter ISO currency code like USD or EUR, "
        "got the text 'dollars'",
        "broken.yaml: average_deal_value: must be above 0, got 0",
        "broken.yaml: stages[1].name: 'lead' repeats stages[0].name; "
        "stage names must be unique (ignoring case)",
        "broken.yaml: stages[2].days: must be a number of days, 0 or more (like 14), got -2",
        f"broken.yaml: stages[3].conversion: missing for stage 'Opportunity'; {MISSING_RATE}",
        "broken.yaml: stages[4].aliases[0]: 'Opportunity' already means stage 'Opportunity'; "
        "a label can mean one stage only",
        "broken.yaml: lost[0]: 'Closed Lost' already means stage 'Won'; remove it from one place",
        "broken.yaml: lost[2]: 'closedlost' already means stage 'Won'; remove it from one place",
    ]


def test_the_error_message_is_one_line_per_problem() -> None:
    data = with_stages({"name": "Lead", "conversion": 0, "days": -1}, {"name": "Won"})
    with pytest.raises(DefinitionError) as caught:
        build_funnel(data)
    assert str(caught.value) == (
        f"funnel.yaml: stages[0].conversion: {RANGE}, got 0\n"
        "funnel.yaml: stages[0].days: must be a number of days, 0 or more (like 14), got -1"
    )


# --- warnings -------------------------------------------------------------------------------


def test_unknown_keys_warn_with_the_nearest_key() -> None:
    data = {
        "name": "Typos",
        "stage": [],
        "colour": "blue",
        "stages": [{"name": "Lead", "conversoin": "25%"}, {"name": "Won"}],
    }
    result = build_funnel(data)
    assert result.warnings == [
        "funnel.yaml: stage: unknown key, ignored; did you mean 'stages'?",
        "funnel.yaml: colour: unknown key, ignored; did you mean 'columns'?",
        "funnel.yaml: stages[0].conversoin: unknown key, ignored; did you mean 'conversion'?",
    ]
    # The typo means the rate is not read: a funnel without rates.
    assert result.funnel.has_rates is False


def test_an_unknown_key_far_from_any_lists_the_known_keys() -> None:
    data = {"zzz": 1, "stages": [{"name": "Lead", "qqq": 2}, {"name": "Won"}]}
    # The schema grows (new top-level keys appear): the list is the declared one.
    assert {"name", "currency", "average_deal_value", "stages", "lost"} <= set(TOP_LEVEL_KEYS)
    assert build_funnel(data).warnings == [
        f"funnel.yaml: zzz: unknown key, ignored; known keys: {', '.join(TOP_LEVEL_KEYS)}",
        "funnel.yaml: stages[0].qqq: unknown key, ignored; known keys: "
        "name, conversion, days, aliases",
    ]


def test_a_rate_on_the_won_stage_is_ignored_with_a_warning() -> None:
    result = build_funnel(
        with_stages({"name": "Lead", "conversion": "25%"}, {"name": "Won", "conversion": "10%"})
    )
    assert result.warnings == [
        "funnel.yaml: stages[1].conversion: the last stage is the won stage; "
        "its conversion is ignored"
    ]
    assert result.funnel.won_stage.conversion is None


# --- labels ---------------------------------------------------------------------------------


def test_an_alias_naming_another_stage_collides() -> None:
    data = with_stages({"name": "Lead", "aliases": ["MQL"]}, {"name": "MQL"}, {"name": "Won"})
    assert problems_of(data) == [
        "funnel.yaml: stages[1].name: 'MQL' already means stage 'Lead'; "
        "a label can mean one stage only"
    ]


def test_aliases_alike_on_two_stages_collide() -> None:
    # "Closed-Won" and "closed won" share the key "closedwon".
    data = with_stages(
        {"name": "Lead"},
        {"name": "Contract", "aliases": ["Closed-Won"]},
        {"name": "Won", "aliases": ["closed won"]},
    )
    assert problems_of(data) == [
        "funnel.yaml: stages[2].aliases[0]: 'closed won' already means stage 'Contract'; "
        "a label can mean one stage only"
    ]


def test_an_alias_of_its_own_stage_name_is_fine() -> None:
    funnel = build_funnel(with_stages({"name": "Lead"}, {"name": "Won", "aliases": ["WON"]})).funnel
    assert funnel.won_stage.aliases == ("WON",)


def test_a_lost_label_naming_a_stage_collides() -> None:
    data = {"stages": [{"name": "Lead"}, {"name": "Won"}], "lost": ["Lost", "won"]}
    assert problems_of(data) == [
        "funnel.yaml: lost[1]: 'won' already means stage 'Won'; remove it from one place"
    ]


def test_a_single_label_becomes_a_list() -> None:
    data = {"stages": [{"name": "Lead", "aliases": "New"}, {"name": "Won"}], "lost": "Dead"}
    funnel = build_funnel(data).funnel
    assert funnel.stages[0].aliases == ("New",)
    assert funnel.lost_labels == ("Dead",)


# --- bugs -----------------------------------------------------------------------------------


def test_stage_names_alike_as_labels_are_refused() -> None:
    # Both names mean the CRM label "closedwon", so a deal in it would have two stages.
    data = with_stages({"name": "Closed Won"}, {"name": "closed-won"})
    with pytest.raises(DefinitionError):
        build_funnel(data)


def test_an_invalid_rate_is_not_also_reported_missing() -> None:
    data = with_stages(
        {"name": "Lead", "conversion": 0}, {"name": "MQL", "conversion": "40%"}, {"name": "Won"}
    )
    assert problems_of(data) == [f"funnel.yaml: stages[0].conversion: {RANGE}, got 0"]


def test_key_paths_keep_the_yaml_index_after_a_bad_stage() -> None:
    data = with_stages(
        {"name": "Lead", "conversion": "25%"},
        {"conversion": "40%"},
        {"name": "SQL"},
        {"name": "Won"},
    )
    # SQL is stages[2] in the file.
    assert problems_of(data) == [
        "funnel.yaml: stages[1].name: expected a non-empty text, got nothing",
        f"funnel.yaml: stages[2].conversion: missing for stage 'SQL'; {MISSING_RATE}",
    ]
