"""``make screenshots``: the README's pictures of the HTML report and plan, remade.

Renders the Maven report (with its funnel, as of 2017-12-31) and the B2B SaaS plan to HTML
with ``funnel``, opens each in the system's Chromium (driven by playwright) at 1280 pixels
wide, and saves full-page PNG screenshots as docs/report.png and docs/plan.png.
SOURCE_DATE_EPOCH pins the pages' generation date so that a remake changes only what changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
WIDTH = 1280
EPOCH = "1796083200"  # 2026-12-01 00:00 UTC: the day the plan is made as of
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--headless",
]

PAGES = {
    "report": [
        *("report", "examples/maven_pipeline.csv", "--funnel", "sample_funnels/maven_crm.yaml"),
        *("--as-of", "2017-12-31"),
    ],
    "plan": [
        *("plan", "sample_funnels/b2b_saas.yaml", "--target", "1.2M", "--confidence", "90%"),
        *("--as-of", "2026-12-01", "--by", "2027-03-31", "--cost-per-lead", "45"),
    ],
}


def render(arguments: list[str], target: Path) -> None:
    environment = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    command = [sys.executable, "-m", "funnelcli", *arguments, "--format", "html"]
    command += ["--output", str(target)]
    subprocess.run(command, cwd=ROOT, env=environment, check=True)


def main() -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not on PATH: install it (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": 800})
            for name, arguments in PAGES.items():
                html = Path(folder) / f"{name}.html"
                render(arguments, html)
                page.goto(html.as_uri())
                page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)
                print(f"docs/{name}.png")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
