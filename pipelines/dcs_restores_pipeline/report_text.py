"""The terminal report: what is at risk first, then the period's figures; at most 100 columns.

Every value from the database goes through `printable`, so a name cannot act on the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from unicodedata import east_asian_width

from dcs_restores_pipeline import reportformat as fmt
from dcs_restores_pipeline.reportdata import (
    FAILING_STREAK,
    MAX_DAYS_WITHOUT_SUCCESS,
    MAX_RPO_HOURS,
    Instance,
    ReportData,
)

WIDTH = 100
# a scheduled run's log stays readable with thousands of instances
MAX_RISK_LINES = 15
MAX_INSTANCE_LINES = 20
TOP_CODES = 5
NAME_WIDTH = 22


def render(data: ReportData) -> str:
    """Return the report as lines of at most WIDTH characters, without a trailing newline."""
    if not data.has_data:
        return f"No restores loaded in schema {data.schema} yet."
    lines = [_clip(f"DCS restore report, {data.period.label()}"), _clip(_loaded(data)), ""]
    lines += _at_risk(data)
    lines += ["", *_headline(data), ""]
    lines += _instances(data.instances)
    lines += _codes(data)
    return "\n".join(lines)


def totals_line(data: ReportData) -> str:
    """All loaded restores, whatever the period."""
    total = sum(int(i.readiness["count_restores"] or 0) for i in data.instances)
    restored = sum(1 for i in data.instances if i.readiness["count_restores"])
    line = f"{total} restores on {restored} instances loaded"
    # instances listed without any restore are the ones nobody has tested
    known = len(data.instances)
    return line if known == restored else f"{line} ({known} instances known)"


def _loaded(data: ReportData) -> str:
    running = len(data.in_progress)
    overdue = sum(1 for r in data.in_progress if r["is_overdue"])
    return f"{totals_line(data)}; {running} running now, {overdue} overdue"


def _at_risk(data: ReportData) -> list[str]:
    risky = data.at_risk
    lines = [
        f"AT RISK NOW: {len(risky)} of {len(data.instances)} instances",
        f"(a restore running late, the last {FAILING_STREAK}+ restores failed, no successful "
        f"restore in {MAX_DAYS_WITHOUT_SUCCESS} days,",
        f" or the newest restorable backup older than {MAX_RPO_HOURS}h)",
    ]
    if not risky:
        return [*lines, "nothing at risk"]
    for i in risky[:MAX_RISK_LINES]:
        lead = f"  {_instance_label(i)}  "
        line = lead + "; ".join(i.reasons)
        if len(line) <= WIDTH:
            lines.append(line)
        else:
            # one reason a line, under the first
            lines += [_clip((lead if n == 0 else " " * len(lead)) + reason)
                      for n, reason in enumerate(i.reasons)]  # fmt: skip
    if len(risky) > MAX_RISK_LINES:
        lines.append(f"  ... and {len(risky) - MAX_RISK_LINES} more at risk")
    return lines


def _headline(data: ReportData) -> list[str]:
    h, p = data.headline, data.previous
    return [
        f"In the period (change against the previous {data.period.days} days):",
        _clip(
            f"  {h.restores} restores ({fmt.change(h.restores, p.restores)}) on {h.instances} "
            f"instances, {h.finished} finished, {h.failed} failed"
        ),
        _clip(
            f"  failure rate {fmt.percent(h.failure_rate)} "
            f"({fmt.change(h.failure_rate, p.failure_rate, points=True)}), "
            f"p50 {fmt.duration(h.p50)} ({fmt.change(h.p50, p.p50)}), "
            f"p95 {fmt.duration(h.p95)} ({fmt.change(h.p95, p.p95)})"
        ),
    ]


def _instances(instances: Sequence[Instance]) -> list[str]:
    rows = [
        [
            _cut(fmt.name(i.readiness["instance_name"], i.instance_id), NAME_WIDTH),
            fmt.short_id(i.instance_id),
            str(i.restores),
            str(i.failed),
            fmt.percent(i.failure_rate),
            fmt.duration(i.readiness["p50_duration_seconds"]),
            fmt.duration(i.readiness["p95_duration_seconds"]),
            fmt.utc(i.readiness["last_successful_restore_at"]),
        ]
        for i in instances[:MAX_INSTANCE_LINES]
    ]
    headers = ["instance", "id", "restores", "failed", "rate", "p50", "p95", "last success"]
    lines = [
        "Instances by risk (restores, failed, rate: the period; p50, p95, last success (UTC):",
        "all loaded history)",
    ]
    lines += align(headers, rows, right={2, 3, 4, 5, 6})
    if len(instances) > MAX_INSTANCE_LINES:
        lines.append(f"... and {len(instances) - MAX_INSTANCE_LINES} more instances")
    return lines


def _codes(data: ReportData) -> list[str]:
    if not data.code_days:
        return []
    totals: dict[str | None, int] = {}
    meanings: dict[str | None, str | None] = {}
    for c in data.code_days:
        totals[c.code] = totals.get(c.code, 0) + c.failures
        meanings[c.code] = c.meaning
    ranked = sorted(totals, key=lambda k: (-totals[k], k or "~"))
    rows = [
        [fmt.code(k), str(totals[k]), fmt.name(meanings[k]) if meanings[k] else _no_meaning(k)]
        for k in ranked[:TOP_CODES]
    ]
    lines = [
        "",
        f"Top error codes in the period ({sum(totals.values())} failed restores)",
        *align(["code", "failed", "meaning"], rows, right={1}),
    ]
    if len(ranked) > TOP_CODES:
        rest = sum(totals[k] for k in ranked[TOP_CODES:])
        lines.append(f"... and {len(ranked) - TOP_CODES} more codes ({rest} failed restores)")
    return lines


def _no_meaning(code: str | None) -> str:
    return "no error code reported" if code is None else "undocumented code"


def _instance_label(i: Instance) -> str:
    name = _cut(fmt.name(i.readiness["instance_name"], i.instance_id), NAME_WIDTH)
    return f"{_pad(name, NAME_WIDTH, right=False)} {fmt.short_id(i.instance_id):<8}"


def align(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Return header and rows as aligned text; the columns numbered in `right` align right."""
    widths = [max(_width(v) for v in column) for column in zip(headers, *rows, strict=True)]

    def line(values: Sequence[str]) -> str:
        cells = [
            _pad(v, w, right=n in right)
            for n, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return _clip("  ".join(cells).rstrip())

    return [line(headers), *(line(r) for r in rows)]


def _width(text: str) -> int:
    """Columns `text` takes on a terminal: CJK and other wide characters take two."""
    return sum(2 if east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, *, right: bool) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill


def _cut(text: str, width: int) -> str:
    """The longest start of `text` that takes at most `width` columns."""
    while _width(text) > width:
        text = text[:-1]
    return text


def _clip(line: str) -> str:
    return line if _width(line) <= WIDTH else _cut(line, WIDTH - 3) + "..."
