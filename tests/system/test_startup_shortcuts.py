"""What start-up's shortcuts must leave unchanged (tests/system/test_startup.py pins the imports).

`funnel plan --format json` normalises only non-ASCII labels and makes its records as
named tuples, not dataclasses. Each shortcut is checked here against the plain way it
replaces.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelcli.definition import default_funnel, label_key
from funnelcli.plan import Budget, ConfidencePlan, Plan, Sensitivity, StagePlan, make_plan


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
