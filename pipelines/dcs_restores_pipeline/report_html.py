"""The HTML report: one self-contained page (inline CSS, SVG charts, a few lines of JS).

Every value from the database is escaped for HTML and made printable; the page loads nothing
from anywhere else, so it works offline and from a mail attachment.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from dcs_restores_pipeline import charts
from dcs_restores_pipeline import reportformat as fmt
from dcs_restores_pipeline.reportdata import (
    FAILING_STREAK,
    MAX_DAYS_WITHOUT_SUCCESS,
    MAX_RPO_HOURS,
    Headline,
    Instance,
    ReportData,
)
from dcs_restores_pipeline.text import printable

# the page stays light with 1,000 instances: the rest is counted, not listed
MAX_RISK_ROWS = 25
MAX_RUNNING_ROWS = 10
MAX_INSTANCE_ROWS = 100
CHART_TITLES = ("Volume and failure rate", "Duration trend", "Failures by error code")


def render(data: ReportData) -> str:
    """Return the whole page."""
    if not data.has_data:
        body = "<p class='empty'>No restores loaded yet.</p>"
    else:
        body = "\n".join(
            [
                _headline(data),
                _at_risk(data),
                _running(data),
                _charts(data),
                _codes(data),
                _instances(data),
            ]
        )
    return _PAGE.format(
        period=_h(data.period.label()),
        generated=_h(fmt.utc(data.generated_at)),
        body=body,
        script=_SCRIPT,
    )


def chart_svgs(data: ReportData) -> list[tuple[str, str]]:
    """Each chart's title and SVG, in page order."""
    days = [d.day for d in data.days]
    figures = [
        charts.volume_and_failure_rate(data.days),
        charts.duration_trend(data.days),
        charts.failures_by_code(data.code_days, days),
    ]
    return [(t, charts.to_svg(f)) for t, f in zip(CHART_TITLES, figures, strict=True)]


def _h(value: Any) -> str:
    return escape(printable(str(value)))


def _headline(data: ReportData) -> str:
    h, p = data.headline, data.previous

    def card(label: str, value: str, delta: str, before: str) -> str:
        return (
            f"<div class='card'><div class='label'>{_h(label)}</div>"
            f"<div class='value'>{_h(value)}</div>"
            f"<div class='delta'>{_h(delta)} <span class='muted'>vs {_h(before)}</span></div>"
            "</div>"
        )

    cards = [
        card("Restores", str(h.restores), fmt.change(h.restores, p.restores), str(p.restores)),
        card(
            "Failure rate",
            fmt.percent(h.failure_rate),
            fmt.change(h.failure_rate, p.failure_rate, points=True),
            fmt.percent(p.failure_rate),
        ),
        card("p50 duration", fmt.duration(h.p50), fmt.change(h.p50, p.p50), fmt.duration(p.p50)),
        card("p95 duration", fmt.duration(h.p95), fmt.change(h.p95, p.p95), fmt.duration(p.p95)),
    ]
    return (
        f"<section id='headline'><div class='cards'>{''.join(cards)}</div>"
        f"<p class='muted'>{_h(_summary(h))}; changes against the previous "
        f"{data.period.days} days ({_h(data.period.previous().label())}).</p></section>"
    )


def _summary(h: Headline) -> str:
    return (
        f"{h.restores} restores on {h.instances} instances: {h.finished} finished, "
        f"{h.failed} failed"
    )


def _at_risk(data: ReportData) -> str:
    risky = data.at_risk
    rules = (
        f"An instance is at risk when a restore runs past its expected duration, its last "
        f"{FAILING_STREAK} or more restores failed, it has had no successful restore in "
        f"{MAX_DAYS_WITHOUT_SUCCESS} days (or never), or its newest restorable backup is older "
        f"than {MAX_RPO_HOURS} hours."
    )
    head = (
        f"<section id='at-risk'><h2>At risk now: {len(risky)} of {len(data.instances)} "
        f"instances</h2><p class='muted'>{_h(rules)}</p>"
    )
    if not risky:
        return head + "<p class='ok'>Nothing at risk.</p></section>"
    rows = "".join(
        "<tr>"
        f"<td>{_instance_cell(i)}</td>"
        f"<td class='wrap'><ul class='why'>{_reasons(i)}</ul></td>"
        f"<td>{_h(fmt.utc(i.readiness['last_successful_restore_at']))}</td>"
        f"<td class='num'>{_h(i.readiness['consecutive_failed_restores'] or 0)}</td>"
        f"<td class='num'>{_h(fmt.duration(i.readiness['rpo_exposure_seconds']))}</td>"
        "</tr>"
        for i in risky[:MAX_RISK_ROWS]
    )
    more = _more(len(risky) - MAX_RISK_ROWS, "instances at risk")
    return (
        f"{head}<table class='risk'><thead><tr><th>instance</th><th>why</th>"
        "<th>last success (UTC)</th><th>failed in a row</th><th>RPO exposure</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{more}</section>"
    )


def _reasons(i: Instance) -> str:
    return "".join(f"<li>{_h(r)}</li>" for r in i.reasons)


def _running(data: ReportData) -> str:
    running = data.in_progress
    if not running:
        return "<section id='running'><h2>Running now</h2><p>No restore running.</p></section>"
    names = {i.instance_id: i for i in data.instances}
    rows = "".join(
        f"<tr{' class=overdue' if r['is_overdue'] else ''}>"
        f"<td>{_instance_cell(names[r['instance_id']]) if r['instance_id'] in names else _h(fmt.short_id(r['instance_id']))}</td>"  # noqa: E501
        f"<td><code>{_h(fmt.short_id(r['restore_id']))}</code></td>"
        f"<td>{_h(r['status'])}</td><td>{_h(fmt.utc(r['created_at']))}</td>"
        f"<td class='num'>{_h(fmt.duration(r['elapsed_seconds']))}</td>"
        f"<td class='num'>{_h(fmt.duration(r['expected_duration_seconds']))}</td>"
        f"<td>{'<strong>overdue</strong>' if r['is_overdue'] else 'on time'}</td></tr>"
        for r in running[:MAX_RUNNING_ROWS]
    )
    overdue = sum(1 for r in running if r["is_overdue"])
    return (
        f"<section id='running'><h2>Running now: {len(running)} "
        f"restore{'s' if len(running) != 1 else ''}, {overdue} overdue</h2>"
        "<table><thead><tr><th>instance</th><th>restore</th><th>status</th>"
        "<th>started (UTC)</th><th>running for</th><th>expected</th><th></th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{_more(len(running) - MAX_RUNNING_ROWS, 'restores')}"
        "</section>"
    )


def _charts(data: ReportData) -> str:
    notes = {
        "Volume and failure rate": "Bars: restores created per day (failed hatched). Line: "
        "failed / finished, right axis. Days marked partial are the first day of loaded "
        "history or today.",
        "Duration trend": "Median (p50, solid, circles) and p95 (dashed, triangles) of "
        "finished restores created that day.",
        "Failures by error code": "Failed restores per day, one hatch and colour per code; "
        "meanings in the table below.",
    }
    figures = "".join(
        f"<figure class='chart' data-chart='{_h(title)}'>{svg}"
        f"<figcaption>{_h(notes[title])}</figcaption></figure>"
        for title, svg in chart_svgs(data)
    )
    return f"<section id='charts'><h2>Over time</h2>{figures}</section>"


def _codes(data: ReportData) -> str:
    totals: dict[str | None, list[Any]] = {}
    for c in data.code_days:
        entry = totals.setdefault(c.code, [0, c.meaning, set()])
        entry[0] += c.failures
        entry[2].add(c.day)
    if not totals:
        return "<section id='codes'><h2>Error codes</h2><p>No failed restore.</p></section>"
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1][0], kv[0] or "~"))
    rows = "".join(
        f"<tr><td><code>{_h(fmt.code(code))}</code></td>"
        f"<td class='wrap'>{_h(meaning or ('no error code reported' if code is None else 'undocumented code'))}</td>"  # noqa: E501
        f"<td class='num'>{count}</td><td class='num'>{len(days)}</td>"
        f"<td>{_h(fmt.utc(max(days)))}</td></tr>"
        for code, (count, meaning, days) in ranked
    )
    return (
        "<section id='codes'><h2>Error codes in the period</h2><table><thead><tr><th>code</th>"
        "<th>meaning</th><th>failed restores</th><th>days seen</th><th>last day</th></tr>"
        f"</thead><tbody>{rows}</tbody></table></section>"
    )


# key, header, text, sort value; the sort value is what a click on the header orders by
_Column = tuple[str, Callable[[Instance], str], Callable[[Instance], Any]]


def _instances(data: ReportData) -> str:
    projects = sorted({str(i.readiness["project_id"]) for i in data.instances})
    columns: list[_Column] = [
        ("instance", _instance_cell, lambda i: fmt.name(i.readiness["instance_name"])),
    ]
    if len(projects) > 1:
        columns.append(
            (
                "project",
                lambda i: _h(fmt.short_id(i.readiness["project_id"])),
                lambda i: i.readiness["project_id"],
            )
        )
    columns += [
        ("risk", lambda i: _h("; ".join(i.reasons) or "-"), lambda i: i.score),
        ("restores", lambda i: str(i.restores), lambda i: i.restores),
        ("failed", lambda i: str(i.failed), lambda i: i.failed),
        ("failure rate", lambda i: fmt.percent(i.failure_rate), lambda i: i.failure_rate),
        (
            "p50",
            lambda i: _dur(i, "p50_duration_seconds"),
            lambda i: _raw(i, "p50_duration_seconds"),
        ),
        (
            "p95",
            lambda i: _dur(i, "p95_duration_seconds"),
            lambda i: _raw(i, "p95_duration_seconds"),
        ),
        (
            "last success (UTC)",
            lambda i: _h(fmt.utc(i.readiness["last_successful_restore_at"])),
            lambda i: _raw(i, "days_since_successful_restore"),
        ),
        (
            "RPO exposure",
            lambda i: _dur(i, "rpo_exposure_seconds"),
            lambda i: _raw(i, "rpo_exposure_seconds"),
        ),
    ]
    head = "".join(
        f"<th data-type='{'text' if n == 0 or title == 'project' else 'num'}'>{_h(title)}</th>"
        for n, (title, _t, _s) in enumerate(columns)
    )
    rows = "".join(
        f"<tr data-instance='{_h(i.instance_id)}'>"
        + "".join(
            f"<td{_CELL_CLASS.get(title, ' class=num')} "
            f"data-sort='{_h(_sort_value(sort(i)))}'>{text(i)}</td>"
            for title, text, sort in columns
        )
        + "</tr>"
        for i in data.instances[:MAX_INSTANCE_ROWS]
    )
    project_note = (
        f"Project {_h(projects[0])}. " if len(projects) == 1 else f"{len(projects)} projects. "
    )
    return (
        f"<section id='instances'><h2>Instances ({len(data.instances)})</h2>"
        f"<p class='muted'>{project_note}Sorted by risk; click a header to sort. Restores, "
        "failed and failure rate count the period; p50/p95 and last success all loaded "
        "history.</p>"
        f"<table class='sortable'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        f"{_more(len(data.instances) - MAX_INSTANCE_ROWS, 'instances (see the notebook)')}"
        "</section>"
    )


# every other column of the instances table is a number, aligned right
_CELL_CLASS = {"instance": "", "project": "", "risk": " class=wrap", "last success (UTC)": ""}


def _instance_cell(i: Instance) -> str:
    name = fmt.name(i.readiness["instance_name"], i.instance_id)
    return (
        f"<span class='name'>{escape(name)}</span> "
        f"<code class='id' title='{_h(i.instance_id)}'>{_h(fmt.short_id(i.instance_id))}</code>"
    )


def _dur(i: Instance, key: str) -> str:
    return _h(fmt.duration(i.readiness[key]))


def _raw(i: Instance, key: str) -> Any:
    return i.readiness[key]


def _sort_value(value: Any) -> str:
    # empty sorts after every number (see the script)
    return "" if value is None else str(value)


def _more(count: int, what: str) -> str:
    return f"<p class='more'>... and {count} more {_h(what)}</p>" if count > 0 else ""


_SCRIPT = """
document.querySelectorAll('table.sortable th').forEach((th, col) => {
  th.addEventListener('click', () => {
    const body = th.closest('table').tBodies[0];
    const numeric = th.dataset.type === 'num';
    const down = th.dataset.dir !== 'desc';
    th.closest('tr').querySelectorAll('th').forEach(h => delete h.dataset.dir);
    th.dataset.dir = down ? 'desc' : 'asc';
    const key = r => r.cells[col].dataset.sort;
    const rows = Array.from(body.rows);
    rows.sort((a, b) => {
      const x = key(a), y = key(b);
      if (x === '' || y === '') return (x === '') - (y === '');
      const c = numeric ? Number(x) - Number(y) : x.localeCompare(y);
      return down ? -c : c;
    });
    rows.forEach(r => body.appendChild(r));
  });
});
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DCS restore report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1100px;
  padding: 0 1rem; color: #222; line-height: 1.35; }}
h1 {{ margin: 0 0 0.2rem; font-size: 1.6rem; }}
h2 {{ font-size: 1.2rem; margin: 1.6rem 0 0.4rem; }}
.muted, figcaption, .more {{ color: #555; font-size: 0.85rem; }}
.cards {{ display: grid; grid-template-columns: repeat(4, 1fr); gap: 0.8rem; }}
.card {{ border: 1px solid #ccc; border-radius: 6px; padding: 0.6rem 0.8rem; }}
.card .label {{ font-size: 0.85rem; color: #555; }}
.card .value {{ font-size: 1.6rem; font-weight: 600; }}
.card .delta {{ font-size: 0.85rem; }}
figure.chart {{ margin: 0.8rem 0; }}
figure.chart svg {{ width: 100%; height: auto; display: block; }}
table {{ border-collapse: collapse; font-size: 0.85rem; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.25rem 0.45rem; text-align: left;
  vertical-align: top; }}
th {{ background: #f1f1f1; }}
td {{ white-space: nowrap; }}
td.wrap {{ white-space: normal; }}
table.sortable th {{ cursor: pointer; }}
table.sortable th[data-dir=desc]::after {{ content: " \\25BC"; }}
table.sortable th[data-dir=asc]::after {{ content: " \\25B2"; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
code.id {{ color: #555; font-size: 0.8rem; }}
ul.why {{ margin: 0; padding-left: 1rem; }}
tr.overdue td {{ font-weight: 600; }}
section#at-risk h2 {{ border-left: 6px solid #D55E00; padding-left: 0.5rem; }}
.ok {{ font-weight: 600; }}
</style>
</head>
<body>
<h1>DCS restore report</h1>
<p class="muted">Period {period}. Generated {generated} UTC.</p>
{body}
<script>{script}</script>
</body>
</html>
"""
