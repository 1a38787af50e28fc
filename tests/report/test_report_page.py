"""The HTML page is self-contained, escapes what the database says, and has its charts."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
from dcs_restores_pipeline.report import run_report, write_html
from dcs_restores_pipeline.report_html import CHART_TITLES
from dcs_restores_pipeline.views import apply_models_duckdb
from report_tables import BACKUPS_DDL, create_tables


def test_page_is_self_contained_with_every_chart(risk_database: Path, tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    run_report(risk_database, page)
    text = page.read_text(encoding="utf-8")
    charts = re.findall(r"<figure class='chart' data-chart='([^']+)'><svg ", text)
    assert charts == list(CHART_TITLES)
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", text)
    assert "<link" not in text and "@import" not in text
    # a name with terminal controls is shown escaped, never raw
    assert "cache-\\x1b[31mstale\\x07" in text
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)


def test_empty_database_page(tmp_path: Path) -> None:
    con = duckdb.connect()
    create_tables(con)
    con.execute(BACKUPS_DDL)
    apply_models_duckdb(con, "dcs")
    page = write_html(con, tmp_path / "empty.html").read_text(encoding="utf-8")
    assert "No restores loaded yet." in page
