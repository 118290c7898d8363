"""Text from a CRM or a funnel file, made safe to open in a spreadsheet.

A cell that begins with ``=``, ``+``, ``-`` or ``@`` is a formula to Excel, LibreOffice
and Google Sheets, so a deal named ``=HYPERLINK("http://x","click")`` in a CRM export
would become a live link (or worse) in our CSV. Following the OWASP guidance on CSV
injection, such text gets a leading single quote, which spreadsheets show as text.
Numbers we compute (a negative -5 or -0.25) are not text and are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@")
"""What makes a spreadsheet read a cell as a formula (``@`` is Lotus syntax Excel still runs)."""

_CONTROL_STARTS = ("\t", "\r")
"""A tab or carriage return first can split or hide a cell in a spreadsheet's import."""

_LEADING_SPACE = " \t\r\n"


def neutralise(value: str) -> str:
    """``value`` with a ``'`` in front when a spreadsheet would run it as a formula."""
    if value.startswith(_CONTROL_STARTS) or value.lstrip(_LEADING_SPACE).startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_cells(values: Iterable[object]) -> list[object]:
    """A row for a CSV or sheet writer: text cells neutralised, numbers and dates as they are."""
    return [neutralise(value) if isinstance(value, str) else value for value in values]
