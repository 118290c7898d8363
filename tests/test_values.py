"""Amounts and rates as a person types them: exact parsing, whole error messages, formatting."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from funnelcli.values import (
    amount_from_yaml,
    check_amount_currency,
    check_rate,
    format_money,
    format_rate,
    parse_amount,
    parse_cli_rate,
    parse_rate,
)

FORMS = "use 1200000, 1,200,000, 1_200_000, 1.2M, 250k or $1.2M"
RANGE = "must be a rate between 0 and 1 (like 0.35 or 35%)"


# --- parse_amount ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1200000", Decimal(1_200_000)),
        ("1,200,000", Decimal(1_200_000)),
        ("1_200_000", Decimal(1_200_000)),
        ("1.2M", Decimal(1_200_000)),  # 1.2 x 10^6
        ("250k", Decimal(250_000)),  # 250 x 10^3
        ("$1.2M", Decimal(1_200_000)),
        ("USD 1.2m", Decimal(1_200_000)),  # ISO code before, suffix in lower case
        ("1bn", Decimal(1_000_000_000)),  # 1 x 10^9
        ("24,000.50", Decimal("24000.50")),
        ("  €24k ", Decimal(24_000)),
        ("-5", Decimal(-5)),  # negative amounts parse; the caller decides
    ],
)
def test_parse_amount_accepts_the_usual_forms(text: str, expected: Decimal) -> None:
    assert parse_amount(text) == expected


def test_parse_amount_is_exact() -> None:
    # 1.1M as a float would be 1100000.0000000002; as a Decimal it is exact.
    assert parse_amount("1.1M") == Decimal(1_100_000)
    assert isinstance(parse_amount("1.1M"), Decimal)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", f"'abc' is not an amount; {FORMS}"),
        ("1,20,000", f"'1,20,000' has misplaced thousands separators; {FORMS}"),
        ("1.2.3", f"'1.2.3' is not an amount; {FORMS}"),
        ("", f"'' is not an amount; {FORMS}"),
        ("1.2X", f"'1.2X' is not an amount; {FORMS}"),
    ],
)
def test_parse_amount_rejects_with_the_whole_message(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_amount(text)
    assert str(caught.value) == message


def test_amount_from_yaml() -> None:
    assert amount_from_yaml(24000) == Decimal(24000)
    assert amount_from_yaml(24000.5) == Decimal("24000.5")
    assert amount_from_yaml("24k") == Decimal(24000)
    with pytest.raises(ValueError) as caught:
        amount_from_yaml(True)
    assert str(caught.value) == (
        "expected an amount (1200000, 1,200,000, 1_200_000, 1.2M, 250k or $1.2M), got True"
    )
    with pytest.raises(ValueError) as caught:
        amount_from_yaml(float("inf"))
    assert str(caught.value) == "expected a finite amount, got inf"


# --- parse_rate and check_rate --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.35, Fraction(7, 20)),  # the float 0.35 read as the decimal 0.35, not 0.3499999...
        ("0.35", Fraction(7, 20)),
        ("35%", Fraction(7, 20)),
        ("35 %", Fraction(7, 20)),
        ("33.333%", Fraction(33333, 100000)),  # 33.333 / 100 = 0.33333
        (1, Fraction(1)),
        ("1.5%", Fraction(3, 200)),
    ],
)
def test_parse_rate_is_exact(value: object, expected: Fraction) -> None:
    rate = parse_rate(value)
    assert isinstance(rate, Fraction)
    assert rate == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), "expected a rate (like 0.35 or 35%), got nan"),
        (float("inf"), "expected a rate (like 0.35 or 35%), got inf"),
        ("nan", "expected a rate (like 0.35 or 35%), got 'nan'"),
        ("inf%", "expected a rate (like 0.35 or 35%), got 'inf%'"),
        ("abc", "expected a rate (like 0.35 or 35%), got 'abc'"),
        (True, "expected a rate (like 0.35 or 35%), got True"),
        ([1], "expected a rate (like 0.35 or 35%), got a list"),
        (None, "expected a rate (like 0.35 or 35%), got nothing"),
    ],
)
def test_parse_rate_rejects_non_numbers(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_rate(value)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("original", "message"),
    [
        (0, f"{RANGE}, got 0"),
        (1.4, f"{RANGE}, got 1.4"),
        (35, f"{RANGE}, got 35; did you mean 35%?"),
        ("35", f"{RANGE}, got 35; did you mean 35%?"),
        ("140%", f"{RANGE}, got 140%"),  # written as a percent: no hint
        (-0.2, f"{RANGE}, got -0.2"),
        (150, f"{RANGE}, got 150"),  # above 100 cannot be a percentage
    ],
)
def test_check_rate_messages(original: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_rate(parse_rate(original), original)
    assert str(caught.value) == message


def test_check_rate_hint_for_a_whole_float() -> None:
    # YAML `conversion: 35.0` loads as the float 35.0.
    with pytest.raises(ValueError) as caught:
        check_rate(parse_rate(35.0), 35.0)
    assert str(caught.value) == f"{RANGE}, got 35; did you mean 35%?"


@pytest.mark.parametrize("value", [Fraction(1, 1000), Fraction(7, 20), Fraction(1)])
def test_check_rate_accepts_the_open_closed_interval(value: Fraction) -> None:
    check_rate(value, str(value))
    assert 0 < value <= 1


def test_parse_cli_rate() -> None:
    assert parse_cli_rate("90%") == Fraction(9, 10)
    with pytest.raises(ValueError) as caught:
        parse_cli_rate("90")
    assert str(caught.value) == f"{RANGE}, got 90; did you mean 90%?"


# --- formatting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "places", "expected"),
    [
        (Fraction(1, 4), 1, "25%"),
        (Fraction(3, 200), 1, "1.5%"),
        (Fraction(1, 3), 1, "33.3%"),
        (Fraction(1, 3), 2, "33.33%"),
        (Fraction(2, 3), 1, "66.7%"),
        (Fraction(3, 200), 2, "1.5%"),  # trailing zero dropped: 1.50 -> 1.5
        (Fraction(1), 1, "100%"),
        (Fraction(1, 8), 1, "12.5%"),
    ],
)
def test_format_rate(rate: Fraction, places: int, expected: str) -> None:
    assert format_rate(rate, places) == expected


def test_format_rate_without_decimals() -> None:
    # 30.4% rounded to whole percent is 30%.
    assert format_rate(Fraction(304, 1000), 0) == "30%"


@pytest.mark.parametrize(
    ("amount", "currency", "cents", "expected"),
    [
        (Decimal(1_200_000), "USD", False, "$1,200,000"),
        (Decimal(24000), "USD", True, "$24,000.00"),
        (Fraction(15003, 5), "USD", False, "$3,000.60"),  # 150030 / 50 = 3000.6
        (Fraction(1, 3), "USD", False, "$0.33"),
        (1200, "SEK", False, "1,200 SEK"),
        (Decimal(-5), "EUR", False, "-€5"),
        (Decimal("1234.5"), "GBP", False, "£1,234.50"),
        (Decimal(99), "CAD", False, "C$99"),
    ],
)
def test_format_money(
    amount: Decimal | Fraction | int, currency: str, cents: bool, expected: str
) -> None:
    assert format_money(amount, currency, cents=cents) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$500k", Decimal(500_000)),
        ("500k$", Decimal(500_000)),
        ("USD 500k", Decimal(500_000)),
        ("500k USD", Decimal(500_000)),
        ("500kUSD", Decimal(500_000)),
        ("€500k", Decimal(500_000)),
        ("500 000 €", Decimal(500_000)),
        ("1 200 000.50", Decimal("1200000.50")),
        ("US$1.2M", Decimal(1_200_000)),
    ],
)
def test_a_currency_may_stand_before_or_after_the_number(text: str, expected: Decimal) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("$500k", "USD"),
        ("500k$", "USD"),
        ("USD 500k", "USD"),
        ("500k usd", "USD"),
        ("€500k", "EUR"),
        ("500 000 €", "EUR"),
        ("$5k", "CAD"),  # $ is every dollar's sign
        ("¥5M", "CNY"),
        ("500k", "SEK"),  # no currency written: the funnel's
    ],
)
def test_an_amount_in_the_funnel_s_currency_is_accepted(text: str, currency: str) -> None:
    check_amount_currency(text, currency)


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        (
            "€500k",
            "USD",
            "'€500k' is in EUR, but the funnel's currency is USD; "
            "give the amount in USD, like 500k or 500k USD",
        ),
        (
            "500k€",
            "USD",
            "'500k€' is in EUR, but the funnel's currency is USD; "
            "give the amount in USD, like 500k or 500k USD",
        ),
        (
            "$1.2M",
            "EUR",
            "'$1.2M' is in dollars ($), but the funnel's currency is EUR; "
            "give the amount in EUR, like 1.2M or 1.2M EUR",
        ),
        (
            "USD 500 000",
            "GBP",
            "'USD 500 000' is in USD, but the funnel's currency is GBP; "
            "give the amount in GBP, like 500 000 or 500 000 GBP",
        ),
    ],
)
def test_an_amount_in_another_currency_is_refused(text: str, currency: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        check_amount_currency(text, currency)
    assert str(raised.value) == message
