"""The `report` command: open the database read-only, read the views, print text, write HTML."""

from __future__ import annotations

from contextlib import closing
from datetime import date
from pathlib import Path

import duckdb
from dcs_restores.errors import DcsRestoresError

from dcs_restores_pipeline import report_html, report_text
from dcs_restores_pipeline.config import DATASET_NAME
from dcs_restores_pipeline.reportdata import REPORT_VIEWS, ReportData, load, missing_views

__all__ = ["REPORT_VIEWS", "ReportError", "run_report", "terminal_summary", "write_html"]


class ReportError(DcsRestoresError):
    """The report cannot be produced; the message is one line meant for the user."""


def terminal_summary(
    con: duckdb.DuckDBPyConnection,
    schema: str = DATASET_NAME,
    since: date | None = None,
    until: date | None = None,
) -> str:
    """Return the terminal report (at risk first, at most 100 columns, no trailing newline)."""
    return report_text.render(load(con, schema, since, until))


def write_html(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    schema: str = DATASET_NAME,
    since: date | None = None,
    until: date | None = None,
) -> Path:
    """Write the self-contained HTML report to `path` (parent folders created); return it."""
    return _write(report_html.render(load(con, schema, since, until)), path)


def run_report(
    database: Path,
    html: Path | None = None,
    schema: str = DATASET_NAME,
    since: date | None = None,
    until: date | None = None,
) -> str:
    """Open `database` read-only and return the terminal report, writing HTML if asked.

    Raises:
        ReportError: the file does not exist, cannot be opened, or lacks the views.
    """
    if since is not None and until is not None and since > until:
        raise ReportError(f"--since {since} is after --until {until}")
    if not database.is_file():
        raise ReportError(f"no database at {database}; run `dcs-restores run` first")
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        raise ReportError(f"cannot open {database}: {_first_line(exc)}") from exc
    with closing(con):
        missing = missing_views(con, schema)
        if missing:
            raise ReportError(
                f"{database} lacks the views {', '.join(missing)} in schema {schema}; "
                "run `dcs-restores models` (or `dcs-restores run`) first"
            )
        try:
            data: ReportData = load(con, schema, since, until)
        except duckdb.CatalogException as exc:
            # the views exist but a table under them is gone
            raise ReportError(
                f"the views in {database} cannot be read ({_first_line(exc)}); "
                "run `dcs-restores run` first"
            ) from exc
    if html is not None:
        _write(report_html.render(data), html)
    return report_text.render(data)


def _write(page: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
