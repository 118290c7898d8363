"""Results -> Rich renderables for a person at a terminal: tables and a funnel chart."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from funnelcli.plan import Plan, PlanContext
from funnelcli.render.neutralise import printable
from funnelcli.render.plan_files import context_lines, detail_lines, summary_sentence
from funnelcli.values import format_rate

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


def plan_renderable(
    plan: Plan, funnel_source: str, context: PlanContext | None = None
) -> RenderableType:
    title = Text(f"Plan: {plan.funnel}", style="bold")
    if plan.funnel_is_default:
        title.append("  (write your own with 'funnel init')", style="dim")
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("Stage")
    table.add_column("Needed", justify="right")
    confidence = plan.confidence
    if confidence:
        table.add_column(f"At {format_rate(confidence.level)}", justify="right")
    table.add_column("To next", justify="right")
    table.add_column("To won", justify="right")
    if plan.pacing:
        table.add_column("Enter by", justify="right")
    for index, stage in enumerate(plan.stages):
        row = [stage.name, f"{stage.needed:,}"]
        if confidence:
            row.append(f"{confidence.needed[index]:,}")
        row.append(
            format_rate(stage.conversion_to_next) if stage.conversion_to_next is not None else ""
        )
        row.append(format_rate(stage.cumulative_to_won, 2))
        if plan.pacing:
            row.append(stage.enter_by.isoformat() if stage.enter_by else "")
        table.add_row(*row)
    parts: list[RenderableType] = [
        title,
        Text(summary_sentence(plan, context)),
        Text(""),
        table,
        Text(""),
        FunnelChart([stage.name for stage in plan.stages], [stage.needed for stage in plan.stages]),
        Text(""),
    ]
    parts += [Text(line) for line in detail_lines(plan)]
    if context is not None:
        parts += [Text(line) for line in context_lines(plan, context)]
    if plan.pacing and plan.pacing.schedule:
        parts += [Text(""), _schedule_table(plan)]
    if plan.sensitivity:
        parts += [Text(""), _sensitivity_table(plan)]
    parts += [Text(""), Text(f"Funnel: {funnel_source}", style="dim")]
    return Group(*parts)


def _schedule_table(plan: Plan) -> Table:
    assert plan.pacing is not None
    table = Table(
        title=f"Leads to add per {plan.pacing.per}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    table.add_column(plan.pacing.per.capitalize())
    table.add_column("From")
    table.add_column("To")
    table.add_column("Leads", justify="right")
    for row in plan.pacing.schedule:
        table.add_row(row.label, row.start.isoformat(), row.end.isoformat(), f"{row.leads:,}")
    return table


def _sensitivity_table(plan: Plan) -> Table:
    table = Table(
        title="If one rate rose 5 points",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    table.add_column("Stage")
    table.add_column("Rate", justify="right")
    table.add_column("Leads needed", justify="right")
    table.add_column("Saved", justify="right")
    lever = plan.lever
    for row in plan.sensitivity:
        style = "bold green" if lever is not None and row.stage == lever.stage else None
        table.add_row(
            row.stage,
            f"{format_rate(row.current_rate)} -> {format_rate(row.raised_rate)}",
            f"{row.leads_needed:,}",
            f"{row.leads_saved:,}",
            style=style,
        )
    return table
