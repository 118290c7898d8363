"""What the report's and the plan's HTML pages share: the templates, the page's parts, the date.

A page is one self-contained file a person forwards: its styles inline in one ``<style>``
block, its charts inline SVG, no script and no request to anywhere. It is made from the
Jinja2 templates in ``funnelcli/templates/html/``, with autoescaping on: every value put
in a page is escaped, so a deal named ``<script>...`` shows as that text. Nothing from a
CRM or a funnel file is ever marked safe. Jinja2 is imported here, and this module only by
the HTML writers (``html_report``, ``html_plan``): other formats never pay its import.

A page is a list of :class:`Section` s, each drawn by its own template
(``sections/<kind>.html.j2``): a new part of a page (a forecast, say) is one more section
kind and one more entry in the list.
"""

from __future__ import annotations

import datetime as dt
import os
import unicodedata
from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple

import jinja2
from markupsafe import Markup

from funnelcli.errors import UsageError
from funnelcli.render.neutralise import printable

SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"
"""Seconds since 1970-01-01 UTC: when set, the page's generation time (reproducible outputs,
https://reproducible-builds.org/specs/source-date-epoch/)."""


class Cell(NamedTuple):
    """One table cell: its text, and a mark with what the mark means (said in words too)."""

    text: str
    mark: str = ""  # a symbol after the text: ▼ below plan, ★ the lever
    mark_label: str = ""  # the mark's meaning, for screen readers (the legend says it too)
    strong: bool = False
    good: bool = False  # the mark points at something to do (the lever), not a shortfall


class Column(NamedTuple):
    name: str
    numeric: bool = True  # right-aligned, tabular figures


class Table(NamedTuple):
    """A table of a page: a caption, columns, rows whose first cell names the row."""

    caption: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    notes: tuple[str, ...] = ()  # the legend and footnotes, under the table
    strong_rows: frozenset[int] = frozenset()  # rows to set in bold (the (others) row, say)


class Card(NamedTuple):
    """A headline figure: its label, the figure, and a line of context under it."""

    label: str
    value: str
    detail: str = ""


class Bar(NamedTuple):
    """One bar of a chart, in the SVG's user units, with its label and figure as text."""

    label: str
    figure: str
    x: float
    y: float
    width: float
    height: float
    note: str = ""  # under the bar: the conversion to the next stage
    labelled: bool = True  # False: too many columns to label each (the tooltip still does)
    figured: bool = True


class Chart(NamedTuple):
    """An SVG chart: its accessible title and description, size and bars."""

    title: str
    description: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    kind: str  # "funnel" (centred horizontal bars) or "columns"
    axis_y: float = 0  # columns: the baseline
    label_x: float = 0  # funnel: where names end, figures start and notes centre
    figure_x: float = 0
    note_x: float = 0
    top_y: float = 0  # columns: the height of the tallest, with its figure as the scale
    top_label: str = ""


class Section(NamedTuple):
    """One part of a page, drawn by ``templates/html/sections/<kind>.html.j2``.

    ``kind``: cards, chart, table, callout or sentences; ``body`` what that template reads
    (a tuple of cards, a Chart, a Table, a sentence, a tuple of sentences)."""

    kind: str
    title: str
    body: Any
    tone: str = ""  # callouts: "warning", "alert" or "" (the bottleneck)


class Page(NamedTuple):
    """A whole page: the title, the lines under it, its sections and its footer lines."""

    title: str
    subtitle: str
    facts: tuple[tuple[str, str], ...]  # (label, value) under the title: source, dates
    sections: tuple[Section, ...]
    footer: tuple[str, ...]


def _finalize(value: object) -> object:
    """Every printed value without the control characters a browser would render as junk
    (the terminal's rule, neutralise.printable); the templates' own markup is left as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return value


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("funnelcli", "templates/html"),
        # On for every template, whatever its file name: nothing reaches a page unescaped.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["short"] = short
    return environment


LABEL_CELLS = 22
"""A name wider than this many cells (a CJK character takes two) is cut with "…" in a chart;
the table beside it has it whole, and the bar's tooltip too."""


def short(label: str, limit: int = LABEL_CELLS) -> str:
    """``label`` cut to ``limit`` cells, with "…" as the last one when it was cut."""
    widths = [2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in label]
    if sum(widths) <= limit:
        return label
    used = 0
    for index, width in enumerate(widths):
        if used + width > limit - 1:
            return label[:index] + "…"
        used += width
    return label


def render_page(page: Page) -> str:
    """The page as one HTML document."""
    return _environment().get_template("page.html.j2").render(page=page)


def generated_at(environ: dict[str, str] | None = None) -> str:
    """When the page was made, to the minute in UTC: ``SOURCE_DATE_EPOCH`` when it is set.

    A malformed value is refused (exit 2) rather than replaced by the clock: whoever set it
    wanted a reproducible page."""
    environ = dict(os.environ) if environ is None else environ
    raw = environ.get(SOURCE_DATE_EPOCH)
    if raw is None or raw == "":
        moment = dt.datetime.now(dt.UTC)
    else:
        if not raw.strip().isdigit():
            raise UsageError(
                f"{SOURCE_DATE_EPOCH}={raw!r}: not a whole number of seconds since "
                "1970-01-01 UTC; set it to one (date +%s) or unset it"
            )
        try:
            moment = dt.datetime.fromtimestamp(int(raw), dt.UTC)
        except (OverflowError, ValueError, OSError):
            raise UsageError(
                f"{SOURCE_DATE_EPOCH}={raw!r}: too large for a date; set it to seconds since "
                "1970-01-01 UTC (date +%s) or unset it"
            ) from None
    return moment.strftime("%Y-%m-%d %H:%M UTC")


CARDS_PER_ROW = 6


def card_rows(cards: Sequence[Card], most: int = CARDS_PER_ROW) -> tuple[tuple[Card, ...], ...]:
    """``cards`` in rows of at most ``most``, as even as can be (7 cards: 4 and 3)."""
    rows = -(-len(cards) // most)
    size = -(-len(cards) // rows) if rows else 0
    return tuple(tuple(cards[start : start + size]) for start in range(0, len(cards), size or 1))


_DETAIL_STARTS = (" (", ", ", " per ")
"""Where a key figure's value stops and its context starts: ``$0 (weighted $0)``,
``median 57, p90 106``, ``$54,640.75 per day``."""


def cards_from(figures: Sequence[tuple[str, str]]) -> tuple[Card, ...]:
    """Cards from the (label, value) pairs every format shows, in the same words.

    The value up to its first parenthesis, comma or "per" is the card's figure, the rest
    its detail line (``$0 (weighted $0)``: ``$0`` over ``weighted $0``); a pair without
    a label (a note) joins the card before it."""
    cards: list[Card] = []
    for label, value in figures:
        if not label and cards:
            last = cards[-1]
            cards[-1] = last._replace(detail="; ".join(filter(None, (last.detail, value))))
            continue
        cards.append(Card(label, *_split_figure(value)))
    return tuple(cards)


def _split_figure(value: str) -> tuple[str, str]:
    starts = [(value.find(start), start) for start in _DETAIL_STARTS if start in value]
    if not starts:
        return value, ""
    index, start = min(starts)
    figure, detail = value[:index], value[index:]
    if start == " (":
        if not detail.endswith(")"):
            return value, ""
        detail = detail[2:-1]
    elif start == ", ":
        detail = detail[2:]
    else:
        detail = detail[1:]
    return figure, detail
