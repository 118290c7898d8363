"""The geometry of the HTML page's charts: where each bar goes, in the SVG's own units.

Only numbers and the text each bar carries are made here; the markup is written by the
templates (``sections/chart.html.j2``), where autoescaping covers every label. The SVG
scales to its container through its viewBox, so a narrow window or a printed page gets
the whole chart.
"""

from __future__ import annotations

from collections.abc import Sequence

from funnelcli.render.html import Bar, Chart

WIDTH = 920
"""The charts' width in user units: the page's column, in pixels, on a wide screen."""

_BAR_LEFT, _BAR_RIGHT = 220, 760  # funnel: the bars' band, centred in it
_BAR_HEIGHT = 30
_GAP = 24  # between two bars: room for the conversion to the next stage
_PAD = 8
_MIN_BAR = 2  # a stage with a handful of deals still shows a sliver


def funnel_chart(
    title: str,
    description: str,
    labels: Sequence[str],
    counts: Sequence[int],
    notes: Sequence[str],
) -> Chart:
    """Centred bars, one per stage, each as wide as its count against the largest.

    ``notes[i]`` is written between bar i and bar i+1 (the conversion between them)."""
    largest = max(counts, default=0) or 1
    band = _BAR_RIGHT - _BAR_LEFT
    middle = (_BAR_LEFT + _BAR_RIGHT) / 2
    bars = []
    for index, (label, count) in enumerate(zip(labels, counts, strict=True)):
        width = max(_MIN_BAR, band * count / largest) if count else 0
        y = _PAD + index * (_BAR_HEIGHT + _GAP)
        note = notes[index] if index < len(notes) else ""
        bars.append(
            Bar(
                label,
                f"{count:,}",
                round(middle - width / 2, 2),
                y,
                round(width, 2),
                _BAR_HEIGHT,
                note,
            )
        )
    height = 2 * _PAD + len(bars) * _BAR_HEIGHT + max(0, len(bars) - 1) * _GAP
    return Chart(
        title,
        description,
        WIDTH,
        height,
        tuple(bars),
        "funnel",
        label_x=_BAR_LEFT - 12,
        figure_x=_BAR_RIGHT + 12,
        note_x=middle,
    )


_PLOT_LEFT, _PLOT_RIGHT = 48, WIDTH - 32  # room for the first and last labels
_PLOT_TOP, _BASELINE = 24, 176  # figures sit above the bars, labels below the baseline
_COLUMNS_HEIGHT = 204
_MAX_COLUMN = 64
_MAX_LABELLED = 14
"""Above this many columns only every second (third...) period is labelled under its bar."""


def column_chart(
    title: str, description: str, labels: Sequence[str], values: Sequence[int]
) -> Chart:
    """Vertical bars from one baseline, one per period, tallest the full height."""
    largest = max(values, default=0) or 1
    slot = (_PLOT_RIGHT - _PLOT_LEFT) / max(1, len(values))
    width = min(_MAX_COLUMN, slot * 0.62)
    every = -(-len(values) // _MAX_LABELLED)  # ceiling: label every n-th period
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = max(_MIN_BAR, (_BASELINE - _PLOT_TOP) * value / largest) if value else 0
        x = _PLOT_LEFT + slot * index + (slot - width) / 2
        top = round(_BASELINE - height, 2)
        bar = Bar(label, f"{value:,}", round(x, 2), top, round(width, 2), round(height, 2))
        bars.append(bar._replace(labelled=index % every == 0, figured=every == 1))
    # Too many columns to print each figure: a line at the tallest one says the scale.
    scale = "" if every == 1 else f"{largest:,}"
    return Chart(
        title,
        description,
        WIDTH,
        _COLUMNS_HEIGHT,
        tuple(bars),
        "columns",
        _BASELINE,
        top_y=_PLOT_TOP,
        top_label=scale,
    )
