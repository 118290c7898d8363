"""The table from format name to writer (render/formats.py): every entry leads to a writer
that makes what the entry says, and the tables offer what --format lists."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from rich.console import Console

from funnelcli.definition import default_funnel
from funnelcli.loading import load_funnel_file
from funnelcli.plan import make_plan
from funnelcli.readers.export import ReadOptions, report_export
from funnelcli.render.formats import PLAN_FORMATS, REPORT_FORMATS, TREND_FORMATS, Writer
from funnelcli.render.output import FORMATS
from funnelcli.trend import Change, Trend, TrendRow

from ..conftest import DATA

TABLES = {"report": REPORT_FORMATS, "plan": PLAN_FORMATS, "trend": TREND_FORMATS}
ENTRIES = [
    pytest.param(writer, id=f"{result}-{name}")
    for result, table in TABLES.items()
    for name, writer in table.items()
]


@pytest.mark.parametrize("writer", ENTRIES)
def test_each_entry_names_a_function_that_exists(writer: Writer) -> None:
    module = importlib.import_module(f"funnelcli.render.{writer.module}")
    assert callable(getattr(module, writer.function))


def test_reports_and_plans_take_every_format_that_format_lists() -> None:
    assert tuple(REPORT_FORMATS) == FORMATS
    assert tuple(PLAN_FORMATS) == FORMATS


def test_trends_take_table_json_and_csv() -> None:
    assert tuple(TREND_FORMATS) == ("table", "json", "csv")


def _made_as_said(writer: Writer, made: object) -> None:
    if writer.makes == "text":
        assert isinstance(made, str) and made
    elif writer.makes == "bytes":
        assert isinstance(made, bytes) and made
    else:  # a Rich renderable: it prints, and prints something
        console = Console(width=100, no_color=True)
        with console.capture() as captured:
            console.print(made)
        assert captured.get().strip()


@pytest.mark.parametrize("name", list(REPORT_FORMATS))
def test_each_report_writer_makes_what_its_entry_says(name: str) -> None:
    funnel = load_funnel_file(str(DATA / "cli_report" / "small.yaml")).funnel
    result = report_export(
        str(DATA / "cli_report" / "small.csv"),
        funnel,
        as_of=dt.date(2025, 6, 30),
        options=ReadOptions(),
    )
    writer = REPORT_FORMATS[name]
    _made_as_said(writer, writer.write(result, "small.yaml", "small.csv"))


@pytest.mark.parametrize("name", list(PLAN_FORMATS))
def test_each_plan_writer_makes_what_its_entry_says(name: str) -> None:
    plan = make_plan(default_funnel(), Decimal(1_200_000))
    writer = PLAN_FORMATS[name]
    _made_as_said(writer, writer.write(plan, "built-in default", None))


@pytest.mark.parametrize("name", list(TREND_FORMATS))
def test_each_trend_writer_makes_what_its_entry_says(name: str) -> None:
    row = TrendRow(1, "2025-06-30T00:00:00", dt.date(2025, 6, 30), 0.5, 2, 3, (0.25,))
    trend = Trend(
        source="history.db",
        funnel="Sales",
        stages=("Lead",),
        rows=(row,),
        changes=(Change("Lead", 0.25, 0.25, 0.0),),
        win_rate_change=Change("Win rate", 0.5, 0.5, 0.0),
    )
    writer = TREND_FORMATS[name]
    _made_as_said(writer, writer.write(trend))
