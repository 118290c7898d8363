"""Exact values -> JSON numbers, and the few text forms every renderer shares."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction


def number(value: Decimal | Fraction | int | None) -> int | float | None:
    """A whole value as an int, anything else as a float (rates keep full precision)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else float(value)
    return int(value) if value == value.to_integral_value() else float(value)


def money(value: Decimal | Fraction | None) -> int | float | None:
    """Money as a JSON number: whole amounts as ints, others rounded to cents."""
    if value is None:
        return None
    exact = Fraction(value)
    if exact.denominator == 1:
        return exact.numerator
    return round(float(exact), 2)


def rate(value: Fraction | None) -> float | None:
    """Rates (and ratios) are always JSON floats: 1.0, never 1."""
    return None if value is None else float(value)
