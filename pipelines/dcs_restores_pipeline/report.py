"""Restore report from the SQL views: a text summary for logs and a self-contained HTML page."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import duckdb
from dcs_restores.errors import DcsRestoresError
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dcs_restores_pipeline.config import DATASET_NAME
from dcs_restores_pipeline.text import printable
from dcs_restores_pipeline.views import quote

Row = dict[str, Any]
# key in the row, header, formatter
Column = tuple[str, str, Callable[[Any], str]]

# the views the report reads; all come from models/ (beside this file)
REPORT_VIEWS = (
    "restore_instance_summary",
    "restore_failures_by_error_code",
    "restore_failure_rates",
    "restore_durations",
    "restore_slowest",
    "restore_trend_weekly",
)
# a scheduled run's log stays readable with thousands of instances
MAX_INSTANCE_LINES = 30
TOP_ERROR_CODES = 5
MAX_BOXPLOT_INSTANCES = 15


class ReportError(DcsRestoresError):
    """The report cannot be produced; the message is one line meant for the user."""


def terminal_summary(con: duckdb.DuckDBPyConnection, schema: str = DATASET_NAME) -> str:
    """Return a plain-text summary: totals, then per instance, then the top error codes.

    Args:
        con: A connection to the database holding the views.
        schema: The dataset schema with the views.

    Returns:
        Lines joined by newlines, without a trailing newline.
    """
    instances = _rows(con, schema, "restore_instance_summary")
    if not instances:
        return f"No restores loaded in schema {schema} yet."
    lines = [_totals_line(instances), ""]
    ranked = sorted(
        instances,
        key=lambda r: (-r["count_failed"], -(r["failure_rate"] or 0), r["instance_id"]),
    )
    table = [
        [
            r["instance_id"],
            r["instance_name"] or "-",
            str(r["count_restores"]),
            str(r["count_finished"]),
            str(r["count_failed"]),
            _percent(r["failure_rate"]),
            _duration(r["p50_duration_seconds"]),
            _duration(r["p95_duration_seconds"]),
        ]
        for r in ranked[:MAX_INSTANCE_LINES]
    ]
    headers = ["instance", "name", "restores", "finished", "failed", "failure rate", "p50", "p95"]
    lines += _align(headers, table, right={2, 3, 4, 5, 6, 7})
    if len(ranked) > MAX_INSTANCE_LINES:
        lines.append(f"... and {len(ranked) - MAX_INSTANCE_LINES} more instances")

    codes = _rows(con, schema, "restore_failures_by_error_code")
    if codes:
        total = sum(c["count_failures"] for c in codes)
        codes.sort(key=lambda c: (-c["count_failures"], c["error_code"] or "~"))
        lines += ["", f"Top error codes ({total} failed restores)"]
        code_table = [
            [_code(c["error_code"]), str(c["count_failures"]), _meaning(c)]
            for c in codes[:TOP_ERROR_CODES]
        ]
        lines += _align(["code", "failed", "meaning"], code_table, right={1})
    return "\n".join(lines)


def write_html(con: duckdb.DuckDBPyConnection, path: Path, schema: str = DATASET_NAME) -> Path:
    """Write a self-contained HTML report: inline CSS and charts as base64 PNG images.

    Args:
        con: A connection to the database holding the views.
        path: The file to write; parent folders are created.
        schema: The dataset schema with the views.

    Returns:
        The path written.
    """
    instances = _rows(con, schema, "restore_instance_summary", "instance_id")
    codes = _rows(
        con, schema, "restore_failures_by_error_code", "count_failures desc, error_code nulls last"
    )
    for code in codes:
        code["meaning_text"] = _meaning(code)
    slowest = _rows(con, schema, "restore_slowest", "duration_rank")
    trend = _rows(con, schema, "restore_trend_weekly", "week_start")
    daily = _query(
        con,
        f"select day, sum(finished) as finished, sum(failed) as failed"
        f" from {quote(schema)}.restore_failure_rates group by day order by day",
    )
    durations = _query(
        con,
        f"select instance_id, duration_seconds from {quote(schema)}.restore_durations"
        " where duration_seconds is not null order by instance_id",
    )
    names = {r["instance_id"]: r["instance_name"] or r["instance_id"] for r in instances}

    # each section: a chart, then the table behind it
    sections = [
        ("Failure rate over time", _chart(_failure_rate_chart, daily),
         "Weekly trend (UTC weeks)", _html_table(trend, _TREND_COLUMNS)),
        ("Duration per instance", _chart(_duration_chart, durations, names),
         "Instances", _html_table(instances, _INSTANCE_COLUMNS)),
        ("Failures by error code", _chart(_error_code_chart, codes),
         "Error codes", _html_table(codes, _CODE_COLUMNS)),
        ("Slowest restores", _chart(_slowest_chart, slowest, names),
         "Ten slowest finished restores", _html_table(slowest, _SLOWEST_COLUMNS)),
    ]  # fmt: skip
    body = "\n".join(
        f'<h2>{escape(title)}</h2>\n<img alt="{escape(title)}" src="data:image/png;base64,{png}">'
        f"\n<h3>{escape(subtitle)}</h3>\n{table}"
        for title, png, subtitle, table in sections
    )
    summary = _totals_line(instances) if instances else "No restores loaded yet."
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = _PAGE.format(summary=escape(summary), generated=generated, body=body)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def run_report(database: Path, html: Path | None = None, schema: str = DATASET_NAME) -> str:
    """Open `database` read-only and return the terminal summary, writing HTML if asked.

    Args:
        database: The DuckDB file the pipeline loaded.
        html: Where to write the HTML report, or None for text only.
        schema: The dataset schema with the views.

    Returns:
        The terminal summary (the same text whether or not HTML was written).

    Raises:
        ReportError: the file does not exist, cannot be opened, or lacks the views.
    """
    if not database.is_file():
        raise ReportError(f"no database at {database}; run `dcs-restores run` first")
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        raise ReportError(f"cannot open {database}: {_first_line(exc)}") from exc
    with closing(con):
        missing = _missing_views(con, schema)
        if missing:
            raise ReportError(
                f"{database} lacks the views {', '.join(missing)} in schema {schema}; "
                "run `dcs-restores models` (or `dcs-restores run`) first"
            )
        try:
            text = terminal_summary(con, schema)
            if html is not None:
                write_html(con, html, schema)
        except duckdb.CatalogException as exc:
            # the views exist but a table under them is gone
            raise ReportError(
                f"the views in {database} cannot be read ({_first_line(exc)}); "
                "run `dcs-restores run` first"
            ) from exc
    return text


def _missing_views(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Return the report views that do not exist in `schema`."""
    found = con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]
    ).fetchall()
    present = {name for (name,) in found}
    return [view for view in REPORT_VIEWS if view not in present]


def _query(con: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
    """Return the result of `sql` as one dict per row."""
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _rows(con: duckdb.DuckDBPyConnection, schema: str, view: str, order: str = "1") -> list[Row]:
    """Return all rows of one view."""
    return _query(con, f"select * from {quote(schema)}.{quote(view)} order by {order}")


def _totals_line(instances: list[Row]) -> str:
    """Return the one-line overview across all instances."""
    total = sum(r["count_restores"] for r in instances)
    finished = sum(r["count_finished"] for r in instances)
    failed = sum(r["count_failed"] for r in instances)
    running = sum(r["count_in_progress"] for r in instances)
    other = sum(r["count_other_status"] for r in instances)
    rate = _percent(failed / finished if finished else None)
    line = (
        f"{total} restores on {len(instances)} instances: {finished} finished, "
        f"{failed} failed ({rate}), {running} in progress"
    )
    return line + (f", {other} with another status" if other else "")


def _align(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Return header and rows as aligned text; the columns numbered in `right` align right.

    Values come from the database (names, codes, meanings): control characters in them are
    escaped, so a name cannot recolour or clear the terminal that reads the report.
    """
    headers = [printable(v) for v in headers]
    rows = [[printable(v) for v in row] for row in rows]
    widths = [max(len(v) for v in column) for column in zip(headers, *rows, strict=True)]

    def line(values: Sequence[str]) -> str:
        cells = [
            v.rjust(w) if i in right else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _duration(seconds: float | None) -> str:
    """Return e.g. `45.0s`, `3m 37.5s` or `2h 05m`."""
    if seconds is None:
        return "-"
    # round first so 119.96 s shows as 2m 0.0s, not 1m 60.0s
    total = round(seconds, 1)
    if total < 60:
        return f"{total:.1f}s"
    if total < 3600:
        minutes, rest = divmod(total, 60)
        return f"{int(minutes)}m {rest:.1f}s"
    hours, rest = divmod(round(total), 3600)
    return f"{hours}h {rest // 60:02d}m"


def _code(code: str | None) -> str:
    return code or "(none)"


def _meaning(row: Row) -> str:
    if row["meaning"]:
        return str(row["meaning"])
    return "no error code reported" if row["error_code"] is None else "undocumented code"


def _cell(value: Any) -> str:
    """Return a table cell's text: timestamps in UTC, rates as percentages."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _html_table(rows: list[Row], columns: list[Column]) -> str:
    """Return an HTML table of `rows`; each column is (key, header, formatter)."""
    if not rows:
        return "<p class='empty'>No rows.</p>"
    head = "".join(f"<th>{escape(title)}</th>" for _, title, _ in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{escape(printable(fmt(r[key])))}</td>" for key, _, fmt in columns)
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_INSTANCE_COLUMNS: list[Column] = [
    ("project_id", "project", _cell),
    ("instance_id", "instance", _cell),
    ("instance_name", "name", _cell),
    ("count_restores", "restores", _cell),
    ("count_in_progress", "in progress", _cell),
    ("count_finished", "finished", _cell),
    ("count_failed", "failed", _cell),
    ("failure_rate", "failure rate", _percent),
    ("p50_duration_seconds", "p50", _duration),
    ("p95_duration_seconds", "p95", _duration),
    ("max_duration_seconds", "max", _duration),
    ("last_restore_at", "last restore (UTC)", _cell),
]
_CODE_COLUMNS: list[Column] = [
    ("error_code", "code", _code),
    ("meaning_text", "meaning", _cell),
    ("count_failures", "failed restores", _cell),
    ("count_instances", "instances", _cell),
    ("share_of_failures", "share", _percent),
    ("last_failure_at", "last failure (UTC)", _cell),
]
_SLOWEST_COLUMNS: list[Column] = [
    ("duration_rank", "#", _cell),
    ("restore_id", "restore", _cell),
    ("instance_id", "instance", _cell),
    ("instance_name", "name", _cell),
    ("status", "status", _cell),
    ("error_code", "code", _cell),
    ("created_at", "created (UTC)", _cell),
    ("duration_seconds", "duration", _duration),
]
_TREND_COLUMNS: list[Column] = [
    ("week_start", "week of", _cell),
    ("count_restores", "restores", _cell),
    ("count_in_progress", "in progress", _cell),
    ("count_finished", "finished", _cell),
    ("count_failed", "failed", _cell),
    ("failure_rate", "failure rate", _percent),
    ("p50_duration_seconds", "p50", _duration),
]


def _chart(draw: Callable[..., None], rows: list[Row], *args: Any) -> str:
    """Return a chart as base64 PNG; `draw` fills the axes, or a note says there is no data.

    Labels come from the database: every text is drawn literally (no mathtext, so a name like
    `a$x^2$b` is not parsed as a formula, nor fails to parse), control characters escaped.
    """
    # the text objects read the setting when they are drawn: savefig stays inside the context
    with rc_context({"text.parse_math": False}):
        figure = Figure(figsize=(8, 4), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        if rows:
            draw(axes, rows, *args)
        else:
            axes.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=axes.transAxes)
            axes.set_axis_off()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _failure_rate_chart(axes: Any, daily: list[Row]) -> None:
    days = [r["day"] for r in daily]
    axes.plot(days, [100 * r["failed"] / r["finished"] for r in daily], marker="o")
    axes.set_ylabel("failed / finished (%)")
    axes.set_ylim(0, 105)
    axes.set_title("Failure rate per UTC day, all instances")
    axes.tick_params(axis="x", labelrotation=30)


def _duration_chart(axes: Any, durations: list[Row], names: dict[str, str]) -> None:
    by_instance: dict[str, list[float]] = {}
    for r in durations:
        if r["duration_seconds"] is not None:
            by_instance.setdefault(r["instance_id"], []).append(r["duration_seconds"])
    busiest = sorted(by_instance, key=lambda i: (-len(by_instance[i]), i))[:MAX_BOXPLOT_INSTANCES]
    axes.boxplot([by_instance[i] for i in busiest])
    labels = [printable(names.get(i, i))[:28] for i in busiest]
    axes.set_xticks(range(1, len(busiest) + 1), labels, rotation=30, ha="right")
    axes.set_ylabel("duration (seconds)")
    axes.set_title("Duration of finished restores per instance")


def _error_code_chart(axes: Any, codes: list[Row]) -> None:
    positions = range(len(codes))
    axes.barh(positions, [c["count_failures"] for c in codes])
    axes.set_yticks(positions, [printable(_code(c["error_code"]))[:40] for c in codes])
    axes.invert_yaxis()
    axes.set_xlabel("failed restores")
    axes.set_title("Failures by error code")


def _slowest_chart(axes: Any, slowest: list[Row], names: dict[str, str]) -> None:
    # positions rather than labels as y values, so two restores with equal labels stay apart
    positions = range(len(slowest))
    colors = ["tab:red" if r["status"] == "failed" else "tab:green" for r in slowest]
    axes.barh(positions, [r["duration_seconds"] for r in slowest], color=colors)
    labels = [
        printable(f"{r['restore_id'][:12]} ({names.get(r['instance_id'], '')[:16]})")
        for r in slowest
    ]
    axes.set_yticks(positions, labels)
    axes.invert_yaxis()
    axes.set_xlabel("duration (seconds); red = failed")
    axes.set_title("Slowest finished restores")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>DCS restore report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
h1 {{ margin-bottom: 0.2rem; }}
.meta {{ color: #666; margin-top: 0; }}
img {{ max-width: 100%; border: 1px solid #ddd; }}
table {{ border-collapse: collapse; font-size: 0.9rem; margin-bottom: 1rem; }}
th, td {{ border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; }}
th {{ background: #f3f3f3; }}
.empty {{ color: #666; }}
</style>
</head>
<body>
<h1>DCS restore report</h1>
<p class="meta">Generated {generated}. {summary}</p>
{body}
</body>
</html>
"""
