"""Amounts and rates typed by a person (command line and YAML), parsed exactly.

Amounts become :class:`~decimal.Decimal` and rates :class:`~fractions.Fraction`,
never floats: a plan rounds counts up, and a float's 0.35 is a hair above or below
35%, enough to turn 100 leads into 101.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction

AMOUNT_FORMS = "1200000, 1,200,000, 1_200_000, 1.2M, 250k or $1.2M"
RATE_FORMS = "like 0.35 or 35%"

_SUFFIX_MULTIPLIERS = {"": 1, "k": 10**3, "m": 10**6, "mm": 10**6, "b": 10**9, "bn": 10**9}
_CURRENCY_SIGNS = "$€£¥"
_AMOUNT_PATTERN = re.compile(
    r"""^\s*
    (?P<sign>-)?\s*
    (?:[A-Za-z]{3}\s+)?            # an ISO code before the number: USD 1.2M
    [$€£¥]?\s*
    (?P<number>\d[\d,_]*(?:\.\d+)?|\.\d+)
    \s*(?P<suffix>k|m|mm|b|bn)?
    \s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_GROUPED_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


def parse_amount(text: str) -> Decimal:
    """Parse an amount as a person types it: ``1,200,000``, ``1_200_000``, ``1.2M``, ``$250k``.

    Raises ValueError naming the accepted forms. Negative amounts parse (the
    caller decides whether they are allowed).
    """
    match = _AMOUNT_PATTERN.match(text)
    if match is None:
        raise ValueError(f"'{text}' is not an amount; use {AMOUNT_FORMS}")
    number = match["number"]
    if "," in number and not _GROUPED_THOUSANDS.match(number):
        raise ValueError(f"'{text}' has misplaced thousands separators; use {AMOUNT_FORMS}")
    digits = number.replace(",", "").replace("_", "")
    try:
        value = Decimal(digits)
    except InvalidOperation as error:  # pragma: no cover - the pattern admits only digits
        raise ValueError(f"'{text}' is not an amount; use {AMOUNT_FORMS}") from error
    value *= _SUFFIX_MULTIPLIERS[(match["suffix"] or "").lower()]
    return -value if match["sign"] else value


def amount_from_yaml(value: object) -> Decimal:
    """An amount from a YAML value: a number, or a string in any form :func:`parse_amount` takes."""
    if isinstance(value, bool):
        raise ValueError(f"expected an amount ({AMOUNT_FORMS}), got {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite amount, got {value!r}")
        return Decimal(repr(value))
    if isinstance(value, str):
        return parse_amount(value)
    raise ValueError(f"expected an amount ({AMOUNT_FORMS}), got {describe(value)}")


def parse_rate(value: object) -> Fraction:
    """A rate from ``0.35``, ``"0.35"``, ``"35%"`` or ``35 %``: exact, as a Fraction.

    Does not check the range; :func:`check_rate` does. Raises ValueError.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a rate ({RATE_FORMS}), got {value!r}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a rate ({RATE_FORMS}), got {value!r}")
        # repr gives the shortest decimal that round-trips: 0.35 -> "0.35" -> 7/20.
        return Fraction(Decimal(repr(value)))
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        is_percent = text.endswith("%")
        number = text[:-1] if is_percent else text
        try:
            decimal_value = Decimal(number)
        except InvalidOperation:
            raise ValueError(f"expected a rate ({RATE_FORMS}), got '{value}'") from None
        if not decimal_value.is_finite():
            raise ValueError(f"expected a rate ({RATE_FORMS}), got '{value}'")
        rate = Fraction(decimal_value)
        return rate / 100 if is_percent else rate
    raise ValueError(f"expected a rate ({RATE_FORMS}), got {describe(value)}")


def check_rate(rate: Fraction, original: object) -> None:
    """Require 0 < rate <= 1; the message shows what the user wrote."""
    if 0 < rate <= 1:
        return
    hint = ""
    written_as_percent = isinstance(original, str) and original.strip().endswith("%")
    if rate.denominator == 1 and 1 < rate <= 100 and not written_as_percent:
        hint = f"; did you mean {_show(original)}%?"
    raise ValueError(f"must be a rate between 0 and 1 ({RATE_FORMS}), got {_show(original)}{hint}")


def parse_cli_rate(text: str) -> Fraction:
    """A rate given on the command line, with its range checked (0 < rate <= 1)."""
    rate = parse_rate(text)
    check_rate(rate, text)
    return rate


def _show(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def describe(value: object) -> str:
    """A value read from YAML, named for a message: "a mapping", "the text 'x'", "12"."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the text '{value}'"
    return repr(value)


def format_rate(rate: Fraction, places: int = 1) -> str:
    """``Fraction(1, 3)`` -> ``"33.3%"``; trailing zeros go: ``"25%"``, ``"1.5%"``."""
    percent = rate * 100
    if percent.denominator == 1:
        return f"{percent.numerator}%"
    text = f"{float(percent):.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "AUD": "A$", "CAD": "C$"}


def format_money(amount: Decimal | Fraction | int, currency: str, *, cents: bool = False) -> str:
    """``1200000, "USD"`` -> ``"$1,200,000"``; codes without a symbol follow: ``"1,200 SEK"``."""
    value = (
        Decimal(amount.numerator) / Decimal(amount.denominator)
        if isinstance(amount, Fraction)
        else Decimal(amount)
    )
    places = 2 if cents or value != value.to_integral_value() else 0
    quantized = value.quantize(Decimal(1).scaleb(-places))
    number = f"{abs(quantized):,.{places}f}"
    sign = "-" if quantized < 0 else ""
    symbol = _SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {currency}"


def short_money(amount: Decimal, currency: str) -> str:
    """``1200000`` -> ``"$1.2M"`` for headlines; exact figures go in tables."""
    for threshold, suffix in ((Decimal(10**9), "B"), (Decimal(10**6), "M"), (Decimal(10**3), "k")):
        if abs(amount) >= threshold:
            scaled = (amount / threshold).quantize(Decimal("0.01")).normalize()
            text = f"{scaled:f}{suffix}"
            symbol = _SYMBOLS.get(currency)
            return f"{symbol}{text}" if symbol else f"{text} {currency}"
    return format_money(amount, currency)
