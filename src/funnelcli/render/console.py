"""What every Rich renderable shares: the console, the guard against control characters,
and the funnel chart. The report's and the plan's renderables are in ``console_report``
and ``console_plan``."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.text import Text

from funnelcli.render.neutralise import printable

CHART_WIDTH = 40


def make_console(*, no_color: bool = False, stderr: bool = False) -> Console:
    """A console that drops colour when asked, when NO_COLOR is set, or when not a terminal.

    Markup and emoji codes are off: CRM values like ``[link=javascript:...]`` or ``[/]``
    are text to show, never markup to obey (our own styling uses Text styles).
    """
    return Console(
        stderr=stderr,
        no_color=no_color or None,
        highlight=False,
        soft_wrap=False,
        markup=False,
        emoji=False,
    )


class Printable:
    """A renderable whose text reaches the terminal (or the HTML page) without controls.

    Every name from a CRM, a funnel file or a file name passes through here on its way out,
    so a deal named ``ESC[2J`` shows as ``[2J`` instead of clearing the screen. Rich keeps
    its own colours and cursor moves apart from the text (styles and control segments),
    so those are left alone.
    """

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.renderable, options):
            if segment.control:
                yield segment
            else:
                yield Segment(printable(segment.text), segment.style)


def funnel_chart(labels: Sequence[str], counts: Sequence[int], width: int = CHART_WIDTH) -> Text:
    """Centred bars, widest at the top, each as wide as its count relative to the first.

    Bars are at least one cell wide so a small won count still shows.
    """
    largest = max(counts, default=0) or 1
    label_width = max((len(label) for label in labels), default=0)
    text = Text()
    for label, count in zip(labels, counts, strict=True):
        cells = max(1, round(width * count / largest)) if count else 0
        padding = (width - cells) // 2
        text.append(" " * (label_width - cell_len(label)) + label + " ")
        text.append(" " * padding)
        text.append("█" * cells, style="cyan")
        text.append(" " * (width - cells - padding))
        text.append(f" {count:,}\n")
    text.rstrip()
    return text


class FunnelChart:
    """The funnel chart, as wide as :data:`CHART_WIDTH` or as the terminal allows."""

    def __init__(self, labels: Sequence[str], counts: Sequence[int]) -> None:
        self.labels = labels
        self.counts = counts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        label_width = max((cell_len(label) for label in self.labels), default=0)
        count_width = max((len(f"{count:,}") for count in self.counts), default=0)
        room = options.max_width - label_width - count_width - 2
        yield funnel_chart(self.labels, self.counts, width=max(5, min(CHART_WIDTH, room)))
