"""The text summary has the right figures, the HTML report embeds every chart, errors are short."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import duckdb
import pytest
from dcs_restores_pipeline.report import ReportError, run_report, terminal_summary, write_html

CHART_TITLES = (
    "Failure rate over time",
    "Duration per instance",
    "Failures by error code",
    "Slowest restores",
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def embedded_pngs(page: str) -> dict[str, bytes]:
    """Return the images embedded in `page`, by alt text."""
    found = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    return {alt: base64.b64decode(data) for alt, data in found}


def test_terminal_summary_figures(db: duckdb.DuckDBPyConnection) -> None:
    # instances with most failures first; inst-b p50 = 67.5 s, p95 = 217.5 s
    assert terminal_summary(db) == (
        "16 restores on 4 instances: 12 finished, 7 failed (58.3%), 3 in progress,"
        " 1 with another status\n"
        "\n"
        "instance  name         restores  finished  failed  failure rate      p50        p95\n"
        "inst-b    cache-stage         6         5       3         60.0%  1m 7.5s   3m 37.5s\n"
        "inst-d    -                   3         3       2         66.7%  5m 0.0s  18m 30.0s\n"
        "inst-a    cache-prod          5         4       2         50.0%  6m 0.0s   27m 0.0s\n"
        "inst-c    sessions            2         0       0             -        -          -\n"
        "\n"
        "Top error codes (7 failed restores)\n"
        "code         failed  meaning\n"
        "(none)            3  no error code reported\n"
        "dcs.08.0002       2  Execution timed out.\n"
        "dcs.08.0007       1  Failed to synchronize data during restoration.\n"
        "dcs.08.9999       1  undocumented code"
    )


def test_terminal_summary_empty_database(empty_db: duckdb.DuckDBPyConnection) -> None:
    assert terminal_summary(empty_db) == "No restores loaded in schema dcs yet."


def test_write_html_embeds_every_chart(report_database: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(report_database), read_only=True) as con:
        written = write_html(con, tmp_path / "out" / "report.html")

    page = written.read_text()
    images = embedded_pngs(page)
    assert sorted(images) == sorted(CHART_TITLES)
    assert all(png.startswith(PNG_SIGNATURE) for png in images.values())
    # self-contained: no external stylesheet, script or image
    assert "<style>" in page
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", page)
    for table in ("Weekly trend (UTC weeks)", "Instances", "Error codes", "Ten slowest"):
        assert re.search(rf"<h3>{re.escape(table)}[^<]*</h3>\n<table>", page)


def test_write_html_tables_show_hand_rows(db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    page = write_html(db, tmp_path / "report.html").read_text()
    assert "<td>dcs.08.9999</td><td>undocumented code</td><td>1</td>" in page
    assert "<td>(none)</td><td>no error code reported</td><td>3</td>" in page
    assert "<td>inst-a</td><td>cache-prod</td><td>5</td><td>1</td><td>4</td><td>2</td>" in page
    # timestamps are shown in UTC although the session zone is Asia/Tokyo
    assert "<td>2024-03-12 08:00:00</td>" in page


def test_write_html_empty_database(empty_db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    page = write_html(empty_db, tmp_path / "report.html").read_text()
    assert sorted(embedded_pngs(page)) == sorted(CHART_TITLES)
    assert "No restores loaded yet." in page


def test_run_report_writes_html(report_database: Path, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    text = run_report(report_database, html)
    assert text == run_report(report_database, None)
    assert len(embedded_pngs(html.read_text())) == len(CHART_TITLES)


def test_run_report_text_only(report_database: Path) -> None:
    assert "Top error codes" in run_report(report_database, None)


def test_run_report_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"run `dcs-restores run` first$") as error:
        run_report(tmp_path / "absent.duckdb", None)
    assert "\n" not in str(error.value)


def test_run_report_without_views(tmp_path: Path) -> None:
    database = tmp_path / "tables_only.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema dcs; create table dcs.restores (restore_id text)")
    with pytest.raises(ReportError, match="dcs-restores models") as error:
        run_report(database, None)
    assert "\n" not in str(error.value)


def test_run_report_not_a_database(tmp_path: Path) -> None:
    database = tmp_path / "notes.duckdb"
    database.write_text("not a database\n" * 100)
    with pytest.raises(ReportError, match="cannot open") as error:
        run_report(database, None)
    assert "\n" not in str(error.value)
