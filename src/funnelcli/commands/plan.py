"""``funnel plan``: from a revenue target back to the count needed at every stage."""

# No `from __future__ import annotations`: typer reads plan's signature (see cli.py).
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from funnelcli.commands.common import (
    FIRST_YEAR,
    LAST_YEAR,
    DateFormatOption,
    DecimalOption,
    FormatOption,
    NoColorOption,
    OutputOption,
    QuietOption,
    check_date_format,
    choose_format,
    decimal_separator,
    parse_date,
    parse_option,
    print_warnings,
    report_notes,
    report_skips,
    user_errors,
    write_output,
)
from funnelcli.errors import EXIT_ALERT, UsageError, print_warning

if TYPE_CHECKING:  # what a run needs is imported in the functions: --help needs none of it
    from decimal import Decimal
    from fractions import Fraction

    from funnelcli.loading import LoadedFunnel
    from funnelcli.plan import Plan
    from funnelcli.results import ExportReport


def plan(
    funnel: Annotated[
        str | None,
        typer.Argument(
            metavar="FUNNEL",
            help="Funnel YAML file. Default: ./funnel.yaml, else the built-in B2B funnel.",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str,
        typer.Option(
            metavar="AMOUNT",
            help="Revenue to book, in the funnel's currency: 1200000, 1,200,000, 1.2M, 250k, $1.2M or 1.2M USD.",
            show_default=False,
        ),
    ] = "",
    deal_value: Annotated[
        str | None,
        typer.Option(
            metavar="AMOUNT",
            help="Average won deal value (overrides average_deal_value: in the YAML).",
            show_default=False,
        ),
    ] = None,
    confidence: Annotated[
        str | None,
        typer.Option(
            metavar="PERCENT",
            help="Also plan to reach the target with this probability: 0.9 or 90%.",
            show_default=False,
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="DATE",
            help="Deadline YYYY-MM-DD: pace the leads to close by then (exit 1 when it is too late).",
            show_default=False,
        ),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            metavar="PERIOD",
            help="Period to book in: 2027-Q1, 2027-03 or 2027 (its end is the deadline).",
            show_default=False,
        ),
    ] = None,
    per: Annotated[
        str, typer.Option(metavar="month|week", help="Pacing buckets: month or week.")
    ] = "month",
    as_of: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="The day the plan starts, YYYY-MM-DD. Default: today.",
            show_default=False,
        ),
    ] = None,
    cost_per_lead: Annotated[
        str | None,
        typer.Option(
            metavar="AMOUNT",
            help="Spend per lead (overrides cost_per_lead: in the YAML).",
            show_default=False,
        ),
    ] = None,
    rates_from: Annotated[
        str | None,
        typer.Option(
            metavar="EXPORT",
            help="Plan with this export's measured conversion rates and average won value.",
            show_default=False,
        ),
    ] = None,
    credit_pipeline: Annotated[
        str | None,
        typer.Option(
            metavar="EXPORT",
            help="Credit this export's open deals first (expected wins), plan new leads for the gap; "
            "its measured rates are used.",
            show_default=False,
        ),
    ] = None,
    decimal: DecimalOption = None,
    date_format: DateFormatOption = None,
    booked: Annotated[
        str | None,
        typer.Option(
            metavar="AMOUNT",
            help="Revenue already booked toward the target (with --credit-pipeline).",
            show_default=False,
        ),
    ] = None,
    output_format: FormatOption = None,
    output: OutputOption = None,
    no_color: NoColorOption = False,
    quiet: QuietOption = False,
) -> None:
    """How many deals and leads per stage you need to book a revenue target.

    Example: funnel plan sample_funnels/b2b_saas.yaml --target 1.2M --deal-value 24k --confidence 90%
    """
    with user_errors():
        # lazy, here and below: `funnel plan --help` imports no funnel, value or reader code,
        # `plan --format json` only what it uses (tests/system/test_startup.py)
        from funnelcli.loading import resolve_funnel
        from funnelcli.plan import make_plan

        if not target:
            raise UsageError("--target is required: the revenue to book, like --target 1.2M")
        target_amount = parse_option("--target", target, _positive_amount)
        deal_amount = (
            parse_option("--deal-value", deal_value, _positive_amount)
            if deal_value is not None
            else None
        )
        cost = (
            parse_option("--cost-per-lead", cost_per_lead, _positive_amount)
            if cost_per_lead is not None
            else None
        )
        level = (
            parse_option("--confidence", confidence, _confidence_level)
            if confidence is not None
            else None
        )
        chosen_format = choose_format(output_format, output)
        if per not in ("month", "week"):
            raise UsageError(f"--per: '{per}' is not a pacing bucket; use month or week")
        if by is not None and period is not None:
            raise UsageError("--by and --period both give a deadline; pass one of them")
        today = parse_option("--as-of", as_of, parse_date) if as_of is not None else dt.date.today()
        pacing = None
        if by is not None:
            from funnelcli.pacing import PacingRequest

            pacing = PacingRequest(
                deadline=parse_option("--by", by, parse_date), as_of=today, per=per
            )
        elif period is not None:
            from funnelcli.pacing import PacingRequest, parse_period

            first, last = parse_option("--period", period, parse_period)
            _check_year("--period", period, first)
            pacing = PacingRequest(deadline=last, as_of=today, period_start=first, per=per)
        history = credit_pipeline or rates_from
        separator = decimal_separator(decimal)
        if date_format is not None and not history:
            raise UsageError("--date-format goes with --rates-from or --credit-pipeline")
        if date_format is not None:
            parse_option("--date-format", date_format, check_date_format)
        if history:
            from funnelcli.readers.export import ReadOptions
            from funnelcli.reporting import resolve_funnel_for_export

            # Its rates come from the export: with no funnel file, so do its stages.
            loaded = resolve_funnel_for_export(
                funnel, history, ReadOptions(date_format=date_format, decimal=separator)
            )
        else:
            loaded = resolve_funnel(funnel)
        print_warnings(loaded, quiet)
        _check_currencies(
            loaded.funnel.currency,
            {
                "--target": target,
                "--deal-value": deal_value,
                "--cost-per-lead": cost_per_lead,
                "--booked": booked,
            },
        )
        if rates_from and credit_pipeline and Path(rates_from) != Path(credit_pipeline):
            raise UsageError(
                "--credit-pipeline measures its rates from its own export; "
                "give --rates-from the same file or leave it out"
            )
        booked_amount = (
            parse_option("--booked", booked, _parse_amount_or_zero) if booked is not None else None
        )
        if booked_amount is not None and not credit_pipeline:
            raise UsageError("--booked goes with --credit-pipeline")
        if separator is not None and not history:
            raise UsageError("--decimal goes with --rates-from or --credit-pipeline")
        context = None
        if history:
            from funnelcli.planning import plan_from_export

            result, context = plan_from_export(
                loaded,
                history,
                target_amount,
                credit=bool(credit_pipeline),
                deal_value=deal_amount,
                booked=booked_amount,
                confidence=level,
                cost=cost,
                pacing=pacing,
                today=today,
                on_read=lambda read: _tell_read(read, loaded, quiet, date_format),
                warn=lambda line: print_warning(line, quiet),
                decimal=separator,
                date_format=date_format,
            )
        else:
            result = make_plan(
                loaded.funnel,
                target_amount,
                deal_value=deal_amount,
                confidence=level,
                cost_per_lead=cost,
                pacing=pacing,
            )
        source = loaded.funnel.source
        protected = tuple(path for path in (funnel, rates_from, credit_pipeline) if path)
        from funnelcli.render.formats import PLAN_FORMATS

        writer = PLAN_FORMATS[chosen_format]
        made = writer.write(result, source, context)
        write_output(writer, made, output, no_color, protected)
        _alert_if_too_late(result)


def _alert_if_too_late(result: "Plan") -> None:
    """Too late for the deadline: the output is written, then exit 1 as a fired alert does,
    so that a cron job or a script can tell a plan that cannot be met from one that can."""
    if result.pacing is None or result.pacing.feasible:
        return
    from funnelcli.render.plan_view import pacing_sentence

    sys.stderr.write(f"alert: {pacing_sentence(result).rstrip('.')}\n")
    raise typer.Exit(EXIT_ALERT)


def _check_currencies(currency: str, amounts: dict[str, str | None]) -> None:
    """Each amount typed with a currency sign or code must be in the funnel's currency:
    '--target €500k' on a USD funnel is refused, not planned as $500k."""
    from funnelcli.values import check_amount_currency

    for option, text in amounts.items():
        if text is not None:
            parse_option(option, text, lambda typed: check_amount_currency(typed, currency))


def _check_year(option: str, text: str, day: dt.date) -> None:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise UsageError(
            f"{option}: '{text}': the year must be between {FIRST_YEAR} and {LAST_YEAR}"
        )


def _positive_amount(text: str) -> "Decimal":
    from funnelcli.values import parse_amount

    amount = parse_amount(text)
    if amount <= 0:
        raise ValueError(f"must be above 0, got {text}")
    return amount


def _confidence_level(text: str) -> "Fraction":
    from funnelcli.values import parse_rate

    level = parse_rate(text)
    if not 0 < level < 1:
        raise ValueError(f"must be a probability above 0 and below 1 (like 0.9 or 90%), got {text}")
    return level


def _parse_amount_or_zero(text: str) -> "Decimal":
    from funnelcli.values import parse_amount

    amount = parse_amount(text)
    if amount < 0:
        raise ValueError(f"must be 0 or more, got {text}")
    return amount


def _tell_read(
    read: "ExportReport", loaded: "LoadedFunnel", quiet: bool, date_format: str | None
) -> None:
    """What the export could not say, as 'funnel report' says it: rows skipped, lost deals
    without a stage (then no rate can be measured: report.py)."""
    report_skips(read, loaded, quiet=quiet, as_errors=False, date_format=date_format)
    report_notes(read, quiet)
