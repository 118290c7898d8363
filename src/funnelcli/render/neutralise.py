"""Text from a CRM or a funnel file, made safe to open in a spreadsheet.

A cell that begins with ``=``, ``+``, ``-`` or ``@`` is a formula to Excel, LibreOffice
and Google Sheets, so a deal named ``=HYPERLINK("http://x","click")`` in a CRM export
would become a live link (or worse) in our CSV. Following the OWASP guidance on CSV
injection, such text gets a leading single quote, which spreadsheets show as text.
Numbers we compute (a negative -5 or -0.25) are not text and are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePath
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for the annotation
    from funnelcli.plan import PlanContext

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


# --- text for a terminal, an HTML page or a Markdown file --------------------------------

_BIDI_CONTROLS = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
"""Embeddings, overrides and isolates: they reorder the text that follows them on screen."""

_UNPRINTABLE = dict.fromkeys(
    (
        *(code for code in range(0x20) if chr(code) not in "\t\n"),
        0x7F,
        *range(0x80, 0xA0),
        *_BIDI_CONTROLS,
    )
)
"""C0 controls but tab and newline, DEL, C1 controls and bidi controls: dropped."""


def printable(text: str) -> str:
    """``text`` without the characters a terminal obeys instead of showing.

    A CRM value holding ``ESC[2J`` would clear the screen, ``ESC]0;...BEL`` retitle the
    window, and a right-to-left override show a name backwards. These characters take no
    cell on screen, so dropping them leaves every table column as wide as it was.
    """
    return text.translate(_UNPRINTABLE)


_MARKDOWN_SPECIAL = {
    **{ord(char): "\\" + char for char in "\\`*~[]()|"},
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord('"'): "&quot;",
    ord("\n"): " ",
    ord("\t"): " ",
}
"""Markdown's link, code, emphasis and table syntax escaped; HTML's as entities."""

_EMPHASIS_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
"""An underscore not between two letters or digits: only those can start or end emphasis
(CommonMark), so ``deals_2026.csv`` keeps its underscore as it is and ``_x_`` is escaped."""


def markdown_text(text: str) -> str:
    """``text`` as a Markdown renderer shows it literally: no link, no HTML, one table cell.

    A deal named ``[x](javascript:alert(1))`` or ``<img src=x onerror=...>`` in a report
    mailed as Markdown must not become a link or markup in the reader's mail or chat.
    Brackets, parentheses, backticks, emphasis marks and pipes get a backslash (CommonMark
    shows an escaped punctuation mark as itself); ``&``, ``<``, ``>`` and ``"`` become
    entities; line breaks become spaces, so a value stays in its row.
    """
    return _EMPHASIS_UNDERSCORE.sub(r"\\_", printable(text).translate(_MARKDOWN_SPECIAL))


# --- file names in an output that is forwarded ---------------------------------------------

_BUILT_FROM = "built from "
"""How a funnel built from an export names its source (readers/evidence.py)."""


def forwarded_name(source: str) -> str:
    """A file as an output mailed or pasted elsewhere names it: its name, not its path.

    ``/home/ann/exports/deals.csv`` says where the file sits on one machine, which is no
    business of the reader's; ``deals.csv`` is what they know it by. A funnel built from
    an export keeps its wording (``built from deals.csv``); a label that is no path (the
    ``built-in default``) is as it was.
    """
    if source.startswith(_BUILT_FROM):
        return _BUILT_FROM + forwarded_name(source.removeprefix(_BUILT_FROM))
    return PurePath(source).name or source


def forwarded_context(context: PlanContext) -> PlanContext:
    """The plan's context with its exports named as a forwarded output names them
    (:func:`forwarded_name`): the sentences that quote them then name no machine path."""
    return context._replace(
        rates_from=context.rates_from and forwarded_name(context.rates_from),
        credit_from=context.credit_from and forwarded_name(context.credit_from),
    )
