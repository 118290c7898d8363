"""``funnel inspect`` as plain text: what the reader found and what to add to the YAML."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len

from funnelcli.definition import Funnel, label_key
from funnelcli.inference import InferredFunnel
from funnelcli.render.starter import yaml_scalar
from funnelcli.results import FIELD_DESCRIPTIONS, HISTORY_SKIP_REASONS
from funnelcli.vocabulary import outcome_word

if TYPE_CHECKING:  # types only: a renderer works from results, never from a reader
    from funnelcli.readers.history import HistoryIndex
    from funnelcli.readers.inspect import Inspection


def _pad(text: str, width: int) -> str:
    """Left-align in display cells, not characters: 潜在客户 takes eight cells, not four."""
    return text + " " * max(0, width - cell_len(text))


def inspection_text(
    found: Inspection, funnel: Funnel, inferred: InferredFunnel | None = None
) -> str:
    """What was found; with ``inferred`` (no funnel file), the labels no evidence orders
    and those the evidence says are no stage (shown with why, and not suggested)."""
    unordered = inferred.unordered if inferred else ()
    not_stages = {label_key(label): why for label, why in (inferred.not_stages if inferred else ())}
    table = found.table
    lines = [f"{table.source}: {table.kind.upper()}, looks like a {found.columns.dialect} export"]
    if table.kind == "csv":
        delimiter = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(
            table.delimiter or "", ""
        )
        lines.append(f"  encoding {table.encoding}, delimiter {delimiter}")
    else:
        lines.append(f"  sheet '{table.sheet}'")
    lines.append(
        f"  header on row {table.header_row}"
        + (f" below {table.title_rows} title rows" if table.title_rows else "")
        + f"; {found.rows:,} data rows"
        + (f", {table.stats.blank_rows:,} blank" if table.stats.blank_rows else "")
        + (f", {table.stats.footer_rows:,} footer rows ignored" if table.stats.footer_rows else "")
    )
    lines += ["", "Columns:"]
    for name, description in FIELD_DESCRIPTIONS.items():
        index = found.columns.get(name)
        if index is None:
            lines.append(f"  {_pad(description, 26)} not found")
        else:
            how = (
                "from columns: in the funnel file"
                if name in found.columns.by_mapping
                else "recognised"
            )
            lines.append(f"  {_pad(description, 26)} '{found.columns.headers[index]}' ({how})")
    for column in found.columns.entered:
        target = (
            funnel.stages[column.stage].name if column.stage is not None else "no stage (unmapped)"
        )
        lines.append(f"  {_pad('entered date, ' + target, 26)} '{column.header}'")
    lines += ["", f"Stage labels (funnel: {funnel.source}):"]
    if funnel.evidence is not None:
        lines.append(f"  stages and order from {funnel.evidence}")
    if unordered:
        lines.append(
            "  ORDER UNKNOWN: nothing in the export gives the place of "
            + ", ".join(f"'{label}'" for label in unordered)
            + f"; `funnel init --from {table.source}` writes the funnel to put in order"
        )
    unmapped = []
    for stats in found.labels:
        target = found.maps_to.get(label_key(stats.label), "")
        shown = stats.label or "(empty)"
        no_stage = not_stages.get(label_key(stats.label))
        if not target and no_stage is None:
            unmapped.append(stats.label)
        if target:
            where = f"-> {target}"
        elif no_stage is not None:
            where = f"-> skipped: {no_stage}"
        else:
            where = "-> UNMAPPED" if stats.label else "-> skipped (missing stage)"
        lines.append(f"  {_pad(shown, 32)} {stats.count:>8,}  {where}")
    if found.statuses:
        lines += [
            "",
            "Statuses: "
            + ", ".join(f"{label} {count:,}" for label, count in found.statuses.most_common()),
        ]
    lines += [
        "",
        "Currencies: "
        + ", ".join(f"{code} {count:,}" for code, count in found.currencies.most_common()),
    ]
    if found.pipelines:
        lines.append(
            "Pipelines: "
            + ", ".join(f"{name} {count:,}" for name, count in found.pipelines.most_common())
        )
    if found.date_orders:
        lines += ["", "Dates:"]
        lines += [f"  '{order.header}': {order.order}" for order in found.date_orders]
    missing = [
        name for name in ("stage", "amount", "created", "closed") if found.columns.get(name) is None
    ]
    lines += suggestions([label for label in unmapped if label], missing, funnel)
    return "\n".join(lines) + "\n"


def suggestions(unmapped: list[str], missing: list[str], funnel: Funnel) -> list[str]:
    """What to add to the funnel file, as YAML that ``report`` and ``validate`` accept.

    Lost-looking labels go under ``lost:`` (the funnel's own lost labels kept), won-looking
    ones become aliases of the won stage; any other label is shown as an alias of the first
    stage, with a comment to move it to the stage it means: only the user knows that.
    """
    if not unmapped and not missing:
        return []
    lines = ["", "To add to the funnel file:"]
    words = {label: outcome_word(label) for label in unmapped}
    lost = [label for label in unmapped if words[label] == "lost"]
    won = [label for label in unmapped if words[label] == "won"]
    other = [label for label in unmapped if words[label] not in ("lost", "won")]
    if other or won:
        lines.append("  stages:")
    if other:
        lines += [
            "    # each label as an alias of the stage it means, for example:",
            f"    - name: {yaml_scalar(funnel.stages[0].name)}",
            "      aliases: " + _flow([*funnel.stages[0].aliases, *other[:8]]),
        ]
    if won:
        lines += [
            f"    - name: {yaml_scalar(funnel.won_stage.name)}",
            "      aliases: " + _flow([*funnel.won_stage.aliases, *won]),
        ]
    if lost:
        lines.append("  lost: " + _flow([*funnel.lost_labels, *lost]))
    if missing:
        lines += ["  columns:  # the export's header for each field not found"]
        lines += [f"    # {name}: <header>  ({FIELD_DESCRIPTIONS[name]})" for name in missing]
    return lines


def _flow(labels: list[str]) -> str:
    return "[" + ", ".join(yaml_scalar(label) for label in labels) + "]"


def history_text(found: HistoryIndex) -> str:
    """What a stage-history file holds: its columns, rows and deals, and what was skipped."""
    account = found.account
    headers = found.header
    columns = found.columns
    lines = ["", f"{found.source}: stage history, looks like a {found.dialect} export"]
    for label, index in (
        ("deal id", columns.deal_id),
        ("deal name", columns.deal_name),
        ("stage", columns.stage),
        ("changed on", columns.changed),
        ("from stage", columns.from_stage),
    ):
        shown_header = f"'{headers[index]}'" if index is not None else "not found"
        lines.append(f"  {_pad(label, 26)} {shown_header}")
    lines.append(
        f"  {account.read:,} rows read, {account.used:,} used ({account.unchanged:,} repeat a stage), "
        f"{account.skipped_total:,} skipped; {account.deals:,} deals"
    )
    for reason, count in account.skipped.most_common():
        examples = ", ".join(f"row {row} '{value}'" for row, value in account.examples[reason])
        lines.append(
            f"  skipped, {HISTORY_SKIP_REASONS.get(reason, reason)}: {count:,} ({examples})"
        )
    return "\n".join(lines) + "\n"
