"""Amounts and rates typed by a person (command line and YAML), parsed exactly.

Amounts become :class:`~decimal.Decimal` and rates :class:`~fractions.Fraction`,
never floats: a plan rounds counts up, and a float's 0.35 is a hair above or below
35%, enough to turn 100 leads into 101.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from funnelcli.errors import shown

AMOUNT_FORMS = "1200000, 1,200,000, 1_200_000, 1.2M, 250k or $1.2M"
RATE_FORMS = "like 0.35 or 35%"
MAX_AMOUNT = Decimal(10) ** 15  # no deal, target or cost is larger; the same cap as money.py
AMOUNT_RANGE = "use an amount up to 1,000,000,000,000,000 (10^15)"
# A rate, a number of days or a probability written as 1e400 or 1e-400 is out of any range;
# refusing it before Fraction() spares building a number of that many digits.
_MOST_DIGITS = 400
_WHOLE_FLOAT_LIMIT = 1e16  # a float at or above this is shown as written (1e+308), not expanded

_SUFFIX_MULTIPLIERS = {"": 1, "k": 10**3, "m": 10**6, "mm": 10**6, "b": 10**9, "bn": 10**9}
_CURRENCY_SIGNS = "$€£¥"
_AMOUNT_PATTERN = re.compile(
    r"""^\s*
    (?P<sign>-)?\s*
    (?:(?P<code_before>[A-Za-z]{3})\s+)?          # an ISO code before the number: USD 1.2M
    (?P<symbol_before>US\$|[$€£¥])?\s*
    (?P<number>\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:\.\d+)?  # 500 000, grouped by spaces
      |\d[\d,_]*(?:\.\d+)?|\.\d+)
    \s*(?P<suffix>k|m|mm|b|bn)?
    \s*(?P<symbol_after>[$€£¥])?                  # or after it: 500k€, 500 000 €
    (?:\s*(?P<code_after>[A-Za-z]{3}))?           # 500k USD
    \s*$""",
    re.IGNORECASE | re.VERBOSE,
)
# A pattern, not a compiled one: re compiles it on the first amount with a comma.
_GROUPED_THOUSANDS = r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$"

_SYMBOL_CURRENCIES = {
    "US$": ("USD",),
    # $ is every dollar's sign (and the peso's): only a currency without it disagrees.
    "$": ("USD", "CAD", "AUD", "NZD", "SGD", "HKD", "TWD", "MXN", "ARS", "CLP", "COP"),
    "€": ("EUR",),
    "£": ("GBP",),
    "¥": ("JPY", "CNY"),
}


def parse_amount(text: str) -> Decimal:
    """Parse an amount as a person types it: ``1,200,000``, ``1_200_000``, ``1.2M``, ``$250k``.

    A currency symbol or ISO code may stand before or after the number (``500k€``,
    ``USD 500k``); :func:`check_amount_currency` holds it to the funnel's currency.
    Raises ValueError naming the accepted forms, or the accepted range when the amount
    is above :data:`MAX_AMOUNT` either side of 0. Negative amounts parse (the caller
    decides whether they are allowed).
    """
    match = _AMOUNT_PATTERN.match(text)
    if match is None:
        raise ValueError(f"'{text}' is not an amount; use {AMOUNT_FORMS}")
    number = match["number"]
    if "," in number and not re.match(_GROUPED_THOUSANDS, number):
        raise ValueError(f"'{text}' has misplaced thousands separators; use {AMOUNT_FORMS}")
    digits = "".join(char for char in number if char in "0123456789.")
    try:
        value = Decimal(digits)
    except InvalidOperation as error:  # pragma: no cover - the pattern admits only digits
        raise ValueError(f"'{text}' is not an amount; use {AMOUNT_FORMS}") from error
    value *= _SUFFIX_MULTIPLIERS[(match["suffix"] or "").lower()]
    if value > MAX_AMOUNT:
        raise ValueError(f"'{shown(text)}' is too large; {AMOUNT_RANGE}")
    return -value if match["sign"] else value


def check_amount_currency(text: str, currency: str) -> None:
    """Refuse an amount whose currency symbol or ISO code is not ``currency``'s.

    ``€500k`` planned as $500k would be a silent error of the exchange rate: the amount
    must be in the funnel's currency, written with its sign or code, or with none.
    Raises ValueError; an amount that does not parse is left to :func:`parse_amount`.
    """
    match = _AMOUNT_PATTERN.match(text)
    if match is None:
        return
    for written in (match["code_before"], match["code_after"]):
        if written is not None and written.upper() != currency:
            raise ValueError(_other_currency(text, match, written.upper(), currency))
    for written in (match["symbol_before"], match["symbol_after"]):
        if written is not None and currency not in _SYMBOL_CURRENCIES[written.upper()]:
            raise ValueError(_other_currency(text, match, _SYMBOL_NAMES[written.upper()], currency))


_SYMBOL_NAMES = {"US$": "USD", "$": "dollars ($)", "€": "EUR", "£": "GBP", "¥": "yen or yuan (¥)"}


def _other_currency(text: str, match: re.Match[str], written: str, currency: str) -> str:
    number = f"{match['number']}{match['suffix'] or ''}"
    return (
        f"'{shown(text)}' is in {written}, but the funnel's currency is {currency}; "
        f"give the amount in {currency}, like {number} or {number} {currency}"
    )


def amount_from_yaml(value: object) -> Decimal:
    """An amount from a YAML value: a number, or a string in any form :func:`parse_amount` takes.

    Like :func:`parse_amount`, refuses amounts above :data:`MAX_AMOUNT` either side of 0.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected an amount ({AMOUNT_FORMS}), got {value!r}")
    if isinstance(value, str):
        return parse_amount(value)
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite amount, got {value!r}")
        amount = Decimal(repr(value))
    else:
        raise ValueError(f"expected an amount ({AMOUNT_FORMS}), got {describe(value)}")
    if amount.copy_abs() > MAX_AMOUNT:
        raise ValueError(f"{as_written(value)} is too large; {AMOUNT_RANGE}")
    return amount


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
            raise ValueError(f"expected a rate ({RATE_FORMS}), got '{shown(value)}'") from None
        if not decimal_value.is_finite() or (
            decimal_value and abs(decimal_value.adjusted()) > _MOST_DIGITS
        ):
            raise ValueError(f"expected a rate ({RATE_FORMS}), got '{shown(value)}'")
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
    return shown(value) if isinstance(value, str) else as_written(value)


def as_written(value: object) -> str:
    """A number from YAML as the user wrote it, for a message: ``25``, ``0.35``, ``1e+308``.

    A whole float reads as a whole number (``25.0`` -> ``25``) unless it is huge: ``1.0e+308``
    stays ``1e+308`` instead of 309 digits. A huge integer is cut like any long value.
    Anything else goes through :func:`describe`.
    """
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _WHOLE_FLOAT_LIMIT:
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        if abs(value) < 10**_MOST_DIGITS:
            return shown(str(value))
        return f"{Decimal(value):.6e}"  # str() of a 4,300-digit int raises; Decimal does not
    return describe(value)


def describe(value: object) -> str:
    """A value read from YAML, named for a message: "a mapping", "the text 'x'", "12".

    Never str() or repr() of a container: an alias bomb is a small list of lists that
    expands to billions of items when printed. Texts are cut and escaped to stay one line.
    """
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, set | frozenset):
        return "a set"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the text '{shown(value)}'"
    if isinstance(value, dt.datetime):
        return f"the date and time {value.isoformat(' ')}"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, float):
        return repr(value)  # as written: 25.0, 1e+308
    if isinstance(value, bool | int):
        return as_written(value)
    return f"a {type(value).__name__}"


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
