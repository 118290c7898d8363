"""What start-up's shortcuts must leave unchanged (tests/test_startup.py pins the imports).

`funnel plan --format json` writes its JSON without the json module, normalises only
non-ASCII labels, and makes its records as named tuples, not dataclasses. Each shortcut
is checked here against the plain way it replaces.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelcli.definition import default_funnel, label_key
from funnelcli.plan import (
    Budget,
    ConfidencePlan,
    Plan,
    PlanContext,
    Sensitivity,
    StagePlan,
    make_plan,
)
from funnelcli.render.plan_files import json_text, plan_json, plan_to_dict

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and the infinities too: json writes NaN, Infinity, -Infinity
    | st.text()  # control characters, quotes, backslashes, non-ASCII, lone surrogates
)
_KEYS = st.text() | st.integers() | st.floats() | st.booleans() | st.none()
_JSON_DATA = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(_KEYS, children, max_size=4)
    ),
    max_leaves=30,
)


def _dumps(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@given(_JSON_DATA)
def test_json_text_writes_what_json_dumps_writes(value: object) -> None:
    assert json_text(value) == _dumps(value)


@pytest.mark.parametrize(
    "value",
    [
        '\x00\x1f\x7f\b\f\n\r\t"\\/\u2028é😀',
        {"": [], "a": {}, "b": [{}], "c": [[1, 2.5, -0.0, 1e300, 10**30]]},
        {2: "int", 2.5: "float", True: "bool", None: "null"},
        [float("nan"), float("inf"), float("-inf")],
    ],
)
def test_json_text_edge_cases(value: object) -> None:
    assert json_text(value) == _dumps(value)


@pytest.mark.parametrize("value", [Decimal(1), Fraction(1, 2), dt.date(2027, 1, 1), {1, 2}])
def test_json_text_refuses_what_json_refuses(value: object) -> None:
    with pytest.raises(TypeError, match="is not JSON serializable"):
        json_text({"value": value})
    with pytest.raises(TypeError, match="is not JSON serializable"):
        _dumps({"value": value})


def test_json_text_refuses_the_keys_json_refuses() -> None:
    with pytest.raises(TypeError, match="keys must be str, int, float, bool or None"):
        json_text({(1, 2): "tuple"})


@pytest.mark.parametrize(
    ("confidence", "cost"), [(None, None), (Fraction(9, 10), Decimal(45)), (Fraction(1, 2), None)]
)
def test_plan_json_is_json_dumps_of_the_plan(
    confidence: Fraction | None, cost: Decimal | None
) -> None:
    plan = make_plan(
        default_funnel(), Decimal(1_200_000), confidence=confidence, cost_per_lead=cost
    )
    context = PlanContext(rates_from="deals.csv", notes=('a "note"\nin two lines',))
    for given_context in (None, context):
        data = plan_to_dict(plan, "built-in default", given_context)
        assert plan_json(plan, "built-in default", given_context) == _dumps(data) + "\n"


def _label_key_with_nfkc_always(label: str) -> str:
    """label_key as it was written before the ASCII shortcut."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", label).casefold())


@given(st.text())
def test_label_key_is_the_nfkc_key_for_any_text(label: str) -> None:
    assert label_key(label) == _label_key_with_nfkc_always(label)


@pytest.mark.parametrize("label", ["Closed Won", "Förlorad", "Fo\u0308rlorad", "ﬁnal ①", "Straße"])
def test_label_key_is_the_nfkc_key(label: str) -> None:
    assert label_key(label) == _label_key_with_nfkc_always(label)


def _plan() -> Plan:
    return make_plan(
        default_funnel(), Decimal(480_000), confidence=Fraction(9, 10), cost_per_lead=Decimal(40)
    )


def test_plan_records_compare_by_value() -> None:
    assert _plan() == _plan()
    assert hash(_plan()) == hash(_plan())
    assert _plan() != make_plan(default_funnel(), Decimal(480_001))


def test_plan_records_are_immutable() -> None:
    plan = _plan()
    assert plan.confidence is not None and plan.budget is not None
    for record, field in [
        (plan, "deals_needed"),
        (plan.stages[0], "needed"),
        (plan.confidence, "level"),
        (plan.budget, "lead_budget"),
        (plan.sensitivity[0], "leads_saved"),
    ]:
        with pytest.raises(AttributeError):
            setattr(record, field, 0)


def test_plan_records_take_their_fields_by_keyword_and_show_them() -> None:
    stage = StagePlan(name="Lead", needed=4, conversion_to_next=None, cumulative_to_won=Fraction(1))
    assert stage.enter_by is None
    assert repr(stage) == (
        "StagePlan(name='Lead', needed=4, conversion_to_next=None, "
        "cumulative_to_won=Fraction(1, 1), enter_by=None)"
    )
    assert ConfidencePlan(level=Fraction(9, 10), needed=(7, 1)).leads_needed == 7
    budget = Budget(
        cost_per_lead=Decimal(1),
        lead_budget=Fraction(7),
        cost_per_won_deal=Fraction(7),
        lead_budget_at_confidence=None,
    )
    assert budget.lead_budget == 7
    row = Sensitivity(
        stage="Lead",
        current_rate=Fraction(1, 4),
        raised_rate=Fraction(3, 10),
        leads_needed=10,
        leads_saved=2,
        budget_saved=None,
    )
    assert row.leads_saved == 2
