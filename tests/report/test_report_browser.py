"""The HTML report of a demo database in real headless chromium: no console error, every
chart drawn with a size, the table sorts on a click, nothing fetched; a full-page screenshot.

Skips only when chromium is absent and DCS_REQUIRE_BROWSER is unset (CI sets it). Set
DCS_SCREENSHOT=FILE.png to keep a copy of the screenshot.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest
from browser import CHROMIUM, open_report
from dcs_restores_pipeline.report import run_report
from dcs_restores_pipeline.report_html import CHART_TITLES

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("DCS_REQUIRE_BROWSER"),
    reason="no /usr/bin/chromium (install Debian's chromium, or set DCS_REQUIRE_BROWSER=1)",
)


def instances(database: Path) -> int:
    with duckdb.connect(str(database), read_only=True) as con:
        ((count,),) = con.execute("select count(*) from dcs.instance_readiness").fetchall()
    return int(count)


def test_demo_report_in_chromium(demo_database: Path, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    run_report(demo_database, html)
    shot = tmp_path / "report.png"

    check = open_report(html, shot)

    assert check.errors == []
    assert sorted(check.charts) == sorted(CHART_TITLES)
    for title, (width, height, drawn) in check.charts.items():
        # a 1366-pixel window draws each chart across the page, with its bars and lines
        assert width > 600 and height > 150 and drawn > 50, (title, width, height, drawn)
    # the page itself and nothing else: no CDN, no font, no image from anywhere
    assert check.requests == [html.resolve().as_uri()]
    # one click on "failed" sorts the instances by their failed restores, most first
    failed = check.sorted_by_failed
    assert failed == sorted(failed, reverse=True) and len(failed) == instances(demo_database)
    assert failed[0] > failed[-1]
    assert shot.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("DCS_SCREENSHOT"):
        shutil.copy(shot, os.environ["DCS_SCREENSHOT"])
