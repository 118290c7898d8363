"""Tests for funnelcli.money: every accepted form, every refusal and its reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelcli.money import MAX_AMOUNT, Money, parse_money


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("12345.5", Money(Decimal("12345.5"), None)),
        ("-1234.5", Money(Decimal("-1234.5"), None)),
        ("12,345.50", Money(Decimal("12345.50"), None)),
        ("$12,345.50", Money(Decimal("12345.50"), "USD")),
        ("US$12,345.50", Money(Decimal("12345.50"), "USD")),
        ("USD 12,345.50", Money(Decimal("12345.50"), "USD")),
        ("USD 485,000.00", Money(Decimal("485000.00"), "USD")),
        ("USD12,345.50", Money(Decimal("12345.50"), "USD")),
        ("12,345.50 USD", Money(Decimal("12345.50"), "USD")),
        ("12.345,50 €", Money(Decimal("12345.50"), "EUR")),
        ("12.345,50€", Money(Decimal("12345.50"), "EUR")),
        ("€12.345,50", Money(Decimal("12345.50"), "EUR")),
        ("EUR 12.345,50", Money(Decimal("12345.50"), "EUR")),
        ("£1,234.56", Money(Decimal("1234.56"), "GBP")),
        ("¥1,234", Money(Decimal("1234"), "JPY")),
        ("₹1,234", Money(Decimal("1234"), "INR")),
        ("CHF 1'234.50", Money(Decimal("1234.50"), "CHF")),
        ("kr 1 234,50", Money(Decimal("1234.50"), None)),
        ("1 234,50 kr", Money(Decimal("1234.50"), None)),
        ("1 234,50 kr.", Money(Decimal("1234.50"), None)),
        ("$5 USD", Money(Decimal("5"), "USD")),
        ("1 234,50", Money(Decimal("1234.50"), None)),
        ("1\u00a0234,50", Money(Decimal("1234.50"), None)),
        ("1\u202f234,50", Money(Decimal("1234.50"), None)),
        ("1 234 567", Money(Decimal("1234567"), None)),
        ("1 234.50", Money(Decimal("1234.50"), None)),
        ("1 234,567", Money(Decimal("1234.567"), None)),
        ("1'234.50", Money(Decimal("1234.50"), None)),
        ("1\u2019234.50", Money(Decimal("1234.50"), None)),
        ("(1,234.00)", Money(Decimal("-1234.00"), None)),
        ("(USD 1,234.00)", Money(Decimal("-1234.00"), "USD")),
        ("(1,234.00) USD", Money(Decimal("-1234.00"), "USD")),
        ("$(1,234.00)", Money(Decimal("-1234.00"), "USD")),
        ("-1,234.00", Money(Decimal("-1234.00"), None)),
        ("-$1,234", Money(Decimal("-1234"), "USD")),
        ("$-1,234", Money(Decimal("-1234"), "USD")),
        ("USD -5", Money(Decimal("-5"), "USD")),
        ("−5", Money(Decimal("-5"), None)),
        ("+5", Money(Decimal("5"), None)),
        ("1.5E+06", Money(Decimal("1500000"), None)),
        ("1,5E+06", Money(Decimal("1500000"), None)),
        ("2.5E-01", Money(Decimal("0.25"), None)),
        ("12,345", Money(Decimal("12345"), None)),
        ("1,234,567", Money(Decimal("1234567"), None)),
        ("12,34", Money(Decimal("12.34"), None)),
        ("12,3456", Money(Decimal("12.3456"), None)),
        ("0,123", Money(Decimal("0.123"), None)),
        ("1.234.567", Money(Decimal("1234567"), None)),
        ("1.234.567,89", Money(Decimal("1234567.89"), None)),
        ("12.345", Money(Decimal("12.345"), None)),
        (".5", Money(Decimal("0.5"), None)),
        ("  42  ", Money(Decimal("42"), None)),
        ("-0", Money(Decimal("0"), None)),
        ("1000000000000000", Money(Decimal("1000000000000000"), None)),
        (12345, Money(Decimal("12345"), None)),
        (12345.5, Money(Decimal("12345.5"), None)),
        (0.1, Money(Decimal("0.1"), None)),
        (-3.25, Money(Decimal("-3.25"), None)),
        (Decimal("12.30"), Money(Decimal("12.30"), None)),
    ],
)
def test_accepted_forms(cell: str | int | float | Decimal, expected: Money) -> None:
    assert parse_money(cell) == expected


@pytest.mark.parametrize(
    ("cell", "exact_amount"),
    [
        ("1.5E+06", "1500000"),
        ("12,345.50", "12345.50"),
        ("-0", "0"),
        (0.1, "0.1"),
        (Decimal("1.5E+6"), "1500000"),
    ],
)
def test_amounts_keep_their_written_places(cell: str | float | Decimal, exact_amount: str) -> None:
    money = parse_money(cell)
    assert money is not None
    assert str(money.amount) == exact_amount


@pytest.mark.parametrize("cell", [None, "", "   ", "\u00a0", "\t\n"])
def test_empty_cells_have_no_amount(cell: str | None) -> None:
    assert parse_money(cell) is None


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("abc", "unexpected text 'abc'"),
        ("12 apples", "unexpected text 'apples'"),
        ("N/A", "unexpected text 'N/A'"),
        ("ABC 12", "unknown currency 'ABC'"),
        ("12 XYZ", "unknown currency 'XYZ'"),
        ("usd 12", "unexpected text 'usd'"),
        ("NaN", "not a number"),
        ("nan", "not a number"),
        ("inf", "infinite"),
        ("-Infinity", "infinite"),
        ("--5", "two signs"),
        ("(-5)", "two signs"),
        ("-(5)", "two signs"),
        ("-$-5", "two signs"),
        ("5 - 10", "two numbers"),
        ("100-200", "two numbers"),
        ("12 34", "two numbers"),
        ("$100 $200", "two numbers"),
        ("1,000 2,000", "two numbers"),
        ("USD 5 EUR", "two currencies"),
        ("$5 EUR", "two currencies"),
        ("1,23,4.00", "malformed digit groups"),
        ("1,23,456.00", "malformed digit groups"),
        ("1,2345.00", "malformed digit groups"),
        ("1,234.567.89", "malformed digit groups"),
        ("0.123.456", "malformed digit groups"),
        ("1,234,56", "malformed digit groups"),
        ("1E+16", "too large to be a deal amount"),
        ("10000000000000001", "too large to be a deal amount"),
        ("USD 1,000,000,000,000,000.01", "too large to be a deal amount"),
        ("-1.000.000.000.000.001", "too large to be a deal amount"),
        ("12.", "nothing after the decimal separator"),
        ("$", "no digits"),
        ("-", "no digits"),
        ("()", "no digits"),
        ("(5", "unbalanced parentheses"),
        ("5%", "unexpected character '%'"),
        ("#5", "unexpected character '#'"),
        ("٣", "unexpected character '٣'"),
        (True, "a true/false value, not an amount"),
        (float("nan"), "not a number"),
        (float("inf"), "infinite"),
        (float("-inf"), "infinite"),
        (10**16, "too large to be a deal amount"),
        (1e16, "too large to be a deal amount"),
        (Decimal("NaN"), "not a number"),
        (Decimal("-Infinity"), "infinite"),
    ],
)
def test_refused_forms_say_why(cell: str | float | Decimal, reason: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_money(cell)
    assert str(raised.value) == reason


def test_a_cell_of_another_type_is_not_a_number() -> None:
    with pytest.raises(ValueError) as raised:
        parse_money([1, 2])  # type: ignore[arg-type]
    assert str(raised.value) == "not a number"


def test_the_largest_amount_is_accepted_and_the_next_cent_is_not() -> None:
    assert parse_money(MAX_AMOUNT) == Money(MAX_AMOUNT, None)
    with pytest.raises(ValueError):
        parse_money(MAX_AMOUNT + Decimal("0.01"))


_CENTS = st.decimals(
    min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT, places=2, allow_nan=False, allow_infinity=False
)
_EU = str.maketrans(",.", ".,")


@given(_CENTS)
def test_us_style_parses_back(amount: Decimal) -> None:
    assert parse_money(f"{amount:,.2f}") == Money(amount, None)


@given(_CENTS)
def test_eu_style_parses_back(amount: Decimal) -> None:
    assert parse_money(f"{amount:,.2f}".translate(_EU)) == Money(amount, None)


@given(_CENTS, st.sampled_from([("$", "USD"), ("USD ", "USD"), ("€", "EUR"), ("", None)]))
def test_currency_prefixes_parse_back(amount: Decimal, prefix: tuple[str, str | None]) -> None:
    symbol, code = prefix
    assert parse_money(f"{symbol}{amount:,.2f}") == Money(amount, code)


@given(_CENTS, st.sampled_from(["", "$", "USD "]))
def test_parenthesised_negatives_parse_back(amount: Decimal, prefix: str) -> None:
    money = parse_money(f"({prefix}{abs(amount):,.2f})")
    assert money is not None
    assert money.amount == -abs(amount)


@given(_CENTS)
def test_eu_style_with_suffix_parses_back(amount: Decimal) -> None:
    text = f"{amount:,.2f}".translate(_EU) + " €"
    assert parse_money(text) == Money(amount, "EUR")


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_integer_cells_are_exact(number: int) -> None:
    assert parse_money(number) == Money(Decimal(number), None)


# --- decimal commas, per column ---------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "form"),
    [
        ("1.234,56", "comma"),
        ("999,50", "comma"),
        ("0,5", "comma"),
        ("1.234.567", "comma"),
        ("1 234,567", "comma"),
        ("EUR 1.234,56", "comma"),
        ("1,234.56", "point"),
        ("12.5", "point"),
        ("1,234,567", "point"),
        ("1 234.567", "point"),
        ("2.500", "dot-group"),
        ("-12.000 €", "dot-group"),
        ("0.500", "point"),
        ("1.2345", "point"),
        ("1,234", "comma-group"),
        ("1234", None),
        ("", None),
        (12.5, None),
    ],
)
def test_decimal_form_of_a_cell(cell: object, form: str | None) -> None:
    from funnelcli.money import decimal_form

    assert decimal_form(cell) == form


@pytest.mark.parametrize(
    ("cell", "amount", "currency"),
    [
        ("1.234,56", "1234.56", None),
        ("2.500", "2500", None),
        ("12.000", "12000", None),
        ("999,50", "999.50", None),
        ("1,234", "1.234", None),
        ("1.234.567", "1234567", None),
        ("-2.500 €", "-2500", "EUR"),
        ("(1.000,5)", "-1000.5", None),
        ("1234", "1234", None),
    ],
)
def test_a_column_of_decimal_commas_swaps_the_separators(
    cell: str, amount: str, currency: str | None
) -> None:
    assert parse_money(cell, decimal_comma=True) == Money(Decimal(amount), currency)


def test_decimal_evidence_decides_conflicts_only_over_a_cell_read_either_way() -> None:
    from funnelcli.money import DecimalEvidence

    evidence = DecimalEvidence()
    for cell in ("2.500", "1.234,56", "12.000"):
        evidence.observe(cell)
    assert (evidence.decimal_comma, evidence.conflict) == (True, None)
    evidence.observe("12.5")
    assert (evidence.decimal_comma, evidence.conflict) == (False, ("1.234,56", "12.5", "2.500"))
    each_alone = DecimalEvidence()
    for cell in ("1.000,50", "1,000.50"):
        each_alone.observe(cell)
    assert (each_alone.decimal_comma, each_alone.conflict) == (False, None)


@pytest.mark.parametrize(
    ("cells", "ambiguous"),
    [
        (("750", "2.500", "12.000"), "2.500"),  # nothing decides
        (("2.500", "1,234"), "2.500"),  # 1,234 is read either way too
        (("2.500", "12.5"), None),  # a decimal point
        (("2.500", "0.99"), None),
        (("2.500", "1,234.50"), None),
        (("2.500", "1.2345"), None),
        (("2.500", "999,50"), None),  # a decimal comma
        (("2.500", "1.250.000"), None),  # dots group thousands
        (("750", "1234"), None),  # no separator: nothing to decide
    ],
)
def test_a_column_of_dot_groups_alone_is_ambiguous(
    cells: tuple[str, ...], ambiguous: str | None
) -> None:
    from funnelcli.money import DecimalEvidence

    evidence = DecimalEvidence()
    for cell in cells:
        evidence.observe(cell)
    assert evidence.ambiguous == ambiguous
