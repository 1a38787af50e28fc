"""Open an HTML report in Debian's headless chromium: console errors, chart sizes, screenshot.

Also a command: `.venv/bin/python tests/report/browser.py REPORT.html SHOT.png` prints what
it found and saves a full-page screenshot.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
# never a downloaded browser, never a network call of its own
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class PageCheck:
    """What the browser saw."""

    errors: list[str] = field(default_factory=list)
    # chart title -> (width, height, number of drawn elements)
    charts: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    # the `failed` column after one click on its header
    sorted_by_failed: list[int] = field(default_factory=list)


def open_report(report: Path, screenshot: Path) -> PageCheck:
    """Load `report` at a laptop's width, measure each chart, click a header, screenshot."""
    from playwright.sync_api import sync_playwright

    check = PageCheck()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.on("console", lambda m: check.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: check.errors.append(str(e)))
            page.on("request", lambda r: check.requests.append(r.url))
            page.goto(report.resolve().as_uri(), wait_until="load")
            found: list[dict[str, Any]] = page.eval_on_selector_all(
                "figure.chart",
                """figs => figs.map(f => {
                    const svg = f.querySelector('svg');
                    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
                    const drawn = svg ? svg.querySelectorAll('path, rect, use, text').length : 0;
                    return {title: f.dataset.chart, width: box.width, height: box.height, drawn};
                })""",
            )
            check.charts = {c["title"]: (c["width"], c["height"], c["drawn"]) for c in found}
            header = page.locator("table.sortable th", has_text="failed").first
            if header.count():
                header.click()
                column = header.evaluate("th => th.cellIndex")
                check.sorted_by_failed = page.eval_on_selector_all(
                    "table.sortable tbody tr",
                    f"rows => rows.map(r => Number(r.cells[{column}].dataset.sort))",
                )
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return check


if __name__ == "__main__":
    result = open_report(Path(sys.argv[1]), Path(sys.argv[2]))
    print(json.dumps({"errors": result.errors, "charts": result.charts}, indent=1))
    print(f"screenshot: {sys.argv[2]}")
