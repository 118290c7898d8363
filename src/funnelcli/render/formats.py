"""One table per result from a format's name to its writer: a new format is one entry.

A writer is named by module and function and imported only when its format is asked for:
``funnel plan --format json`` loads neither Rich nor openpyxl nor the report's code
(tests/system/test_startup.py holds it to that). The commands look their format up here and hand
what the writer made to one output step (``commands.common.write_output``), which prints
a renderable, writes text, or writes bytes by what the entry says it makes.
"""

from __future__ import annotations

import importlib
from typing import Any, Literal, NamedTuple


class Writer(NamedTuple):
    """A format's writer: what it makes, and the module and function that make it.

    ``renderable`` is a Rich renderable for the terminal (plain text, COLUMNS or 100 wide, to a
    file), ``text`` a str and ``bytes`` a binary file. A named tuple, not a dataclass, for
    start-up (see loading.LoadedFunnel)."""

    makes: Literal["renderable", "text", "bytes"]
    module: str
    function: str

    def write(self, *arguments: Any) -> Any:
        """The writer's output for one result (the arguments its table's writers all take)."""
        module = importlib.import_module(f"funnelcli.render.{self.module}")
        return getattr(module, self.function)(*arguments)


REPORT_FORMATS = {
    "table": Writer("renderable", "console_report", "report_renderable"),
    "json": Writer("text", "json_report", "report_json"),
    "csv": Writer("text", "csv_md_report", "report_csv"),
    "markdown": Writer("text", "csv_md_report", "report_markdown"),
    "xlsx": Writer("bytes", "xlsx_report", "report_xlsx"),
    "html": Writer("text", "html_report", "report_html"),
}
"""Writers of a report: each takes (ExportReport, funnel source, export name)."""

PLAN_FORMATS = {
    "table": Writer("renderable", "console_plan", "plan_renderable"),
    "json": Writer("text", "json_plan", "plan_json"),
    "csv": Writer("text", "csv_md_plan", "plan_csv"),
    "markdown": Writer("text", "csv_md_plan", "plan_markdown"),
    "xlsx": Writer("bytes", "xlsx_plan", "plan_xlsx"),
    "html": Writer("text", "html_plan", "plan_html"),
}
"""Writers of a plan: each takes (Plan, funnel source, PlanContext or None)."""

TREND_FORMATS = {
    "table": Writer("text", "trend", "trend_text"),
    "json": Writer("text", "trend", "trend_json"),
    "csv": Writer("text", "trend", "trend_csv"),
}
"""Writers of a trend of snapshots: each takes the Trend."""
