"""Figures as the text outputs show them, read back to compare with the JSON of a run.

One rule for every format's tests (terminal, Markdown, HTML, the read-back suite): a
shown figure equals the JSON's value when it is that value rounded to the places shown.
``nulls`` are the texts that show a missing figure (``–``; some tables leave it blank).
"""

from __future__ import annotations

DASH = ("–",)
DASH_OR_BLANK = ("–", "")


def places(text: str) -> int:
    """Decimal places shown: ``62.3`` has one."""
    return len(text.partition(".")[2])


def count(text: str) -> int:
    """``8,800`` is 8800."""
    return int(text.replace(",", ""))


def same_percent(text: str, value: float | None, nulls: tuple[str, ...] = DASH) -> bool:
    """``62.3%`` shows ``value`` (0.623) rounded to its places."""
    if value is None:
        return text in nulls
    shown = text.removesuffix("%")
    return abs(float(shown) / 100 - value) <= 0.5 * 10.0 ** -(places(shown) + 2) + 1e-12


def same_money(text: str, value: float | None, nulls: tuple[str, ...] = DASH) -> bool:
    """``$1,179,782`` or ``$2,377.63`` shows ``value`` rounded to its places."""
    if value is None:
        return text in nulls
    shown = text.removeprefix("$").replace(",", "")
    return abs(float(shown) - value) <= 0.5 * 10.0 ** -places(shown) + 1e-9


def same_days(text: str, value: float | None, nulls: tuple[str, ...] = DASH) -> bool:
    """Days as shown: ``36``, ``1.5`` or ``1,204``."""
    if value is None:
        return text in nulls
    shown = text.replace(",", "")
    return abs(float(shown) - value) <= 0.5 * 10.0 ** -places(shown) + 1e-9
