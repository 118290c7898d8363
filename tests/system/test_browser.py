"""The HTML pages in a real browser: the system's Chromium, driven by playwright.

Every page of the test exports is opened from a file:// URL. Nothing may go wrong there:
no console error, no page error, no request but the page's own file, no dialog (an
injected ``alert(1)`` that ran would open one). The browser is closed in the fixture's
teardown whatever the tests did. Without Chromium the tests skip, or fail under
FUNNEL_REQUIRE_TOOLS=1 (tests/tools.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from funnelcli.cli import app

from ..conftest import DATA, ROOT
from ..tools import require_program

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--headless",
]
CRM = DATA / "crm"
CASES = DATA / "history_cli_cases"
MAVEN = (
    *("report", str(ROOT / "examples" / "maven_pipeline.csv")),
    *("--funnel", str(ROOT / "sample_funnels" / "maven_crm.yaml"), "--as-of", "2017-12-31"),
)
OWN_FUNNEL_EXPORTS = sorted(
    path.stem
    for path in CRM.glob("*.csv")
    if path.stem not in ("history_deals", "history_stages", "unknown_order")
)


def _crm_runs() -> dict[str, tuple[str, ...]]:
    runs = {}
    for stem in OWN_FUNNEL_EXPORTS:
        export = ("report", str(CRM / f"{stem}.csv"), "--as-of", "2026-12-01")
        runs[f"crm-{stem}"] = export
        funnel = CRM / f"{stem}_funnel.yaml"
        if funnel.exists():
            runs[f"crm-{stem}-funnel"] = (*export, "--funnel", str(funnel))
    return runs


RUNS: dict[str, tuple[str, ...]] = {
    "maven": MAVEN,
    "maven-sliced": (*MAVEN, "--by", "sales_agent", "--cohort", "quarter"),
    "hubspot": ("report", str(ROOT / "examples" / "hubspot_deals.csv"), "--as-of", "2026-12-01"),
    **_crm_runs(),
    "crm-history": (
        *("report", str(CRM / "history_deals.csv"), "--history"),
        *(str(CRM / "history_stages.csv"), "--as-of", "2026-12-01"),
    ),
    "injection": (
        *("report", str(DATA / "forward" / "injection.csv")),
        *("--funnel", str(DATA / "forward" / "injection.yaml"), "--as-of", "2026-07-01"),
    ),
    "compared": (
        *("report", str(CASES / "salesforce_deals.csv"), "--funnel"),
        *(str(CASES / "salesforce_funnel.yaml"), "--history"),
        *(str(CASES / "salesforce_history.csv"), "--as-of", "2025-06-30"),
        *("--compare-to", "2025-03-15"),
    ),
    "plan": (
        *("plan", str(ROOT / "sample_funnels" / "b2b_saas.yaml"), "--target", "1.2M"),
        *("--confidence", "90%", "--as-of", "2026-12-01", "--by", "2027-03-31"),
        *("--cost-per-lead", "45"),
    ),
    "plan-weekly": (
        *("plan", str(ROOT / "sample_funnels" / "b2b_saas.yaml"), "--target", "1.2M"),
        *("--as-of", "2026-12-01", "--by", "2027-12-31", "--per", "week"),
    ),
}


@pytest.fixture(scope="module")
def page_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each run's page, written with --output (the format from the extension)."""
    folder = tmp_path_factory.mktemp("pages")
    runner = CliRunner()
    files = {}
    for name, args in RUNS.items():
        target = folder / f"{name}.html"
        result = runner.invoke(app, [*args, "--output", str(target)], prog_name="funnel")
        assert result.exit_code == 0, (name, result.stderr)
        files[name] = target
    return files


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium, closed (and playwright's driver stopped) whatever the tests do."""
    chromium = require_program("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Visit:
    """What happened while a page was open."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """A function opening a file in a fresh browser context; the context closed after."""
    contexts = []

    def opened(path: Path, width: int = 1280) -> tuple[Any, Visit]:
        context = browser.new_context(viewport={"width": width, "height": 900})
        contexts.append(context)
        page = context.new_page()
        visit = Visit()
        page.on(
            "console",
            lambda message: (
                visit.console_errors.append(message.text) if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
        page.on("request", lambda request: visit.requests.append(request.url))

        def dialog(opened_dialog: Any) -> None:
            visit.dialogs.append(opened_dialog.message)
            opened_dialog.dismiss()

        page.on("dialog", dialog)
        page.goto(path.as_uri(), wait_until="load")
        return page, visit

    try:
        yield opened
    finally:
        for context in contexts:
            context.close()


@pytest.mark.parametrize("name", RUNS)
def test_the_page_opens_cleanly(page_files: dict[str, Path], open_page: Any, name: str) -> None:
    path = page_files[name]
    page, visit = open_page(path)
    assert visit.console_errors == []
    assert visit.page_errors == []
    assert visit.requests == [path.as_uri()]
    assert visit.dialogs == []
    # What a reader and a screen reader find: a heading, captioned tables, charts as images.
    assert page.locator("h1").count() == 1
    assert page.locator("table caption").count() >= 1
    assert page.get_by_role("img").count() == page.locator("svg").count() >= 1
    # Nothing wider than the window at 1280 pixels.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280


def test_injected_names_stay_text_in_the_browser(
    page_files: dict[str, Path], open_page: Any
) -> None:
    page, visit = open_page(page_files["injection"])
    assert visit.dialogs == []
    assert page.evaluate("document.querySelectorAll('script, img, iframe').length") == 0
    stages = page.locator("table").first.locator("tbody th").all_inner_texts()
    assert "<script>alert(1)</script>" in stages
    assert '"><img src=x onerror=alert(1)>' in stages
    assert page.title().startswith("Funnel report: Pipeline <script>alert(1)</script>")


def test_a_narrow_window_keeps_the_page_readable(
    page_files: dict[str, Path], open_page: Any
) -> None:
    """A phone's width: the page does not scroll sideways; a wide table scrolls in its box."""
    page, visit = open_page(page_files["maven-sliced"], width=400)
    assert visit.console_errors == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 400


def test_the_page_prints(page_files: dict[str, Path], open_page: Any) -> None:
    """Chromium's print to PDF: the print rules apply and the PDF is made."""
    page, _ = open_page(page_files["maven"])
    page.emulate_media(media="print")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(255, 255, 255)"
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
