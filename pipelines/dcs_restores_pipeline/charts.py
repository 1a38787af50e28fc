"""The report's charts, shared by the HTML report and the notebook: matplotlib figures, as SVG.

Every chart is readable in greyscale and by colour-blind readers: series differ by shape,
line style or hatching as well as by colour (Okabe-Ito palette), and carry labels.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from matplotlib import dates as _mdates
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from dcs_restores_pipeline.reportdata import CodeDay, Day
from dcs_restores_pipeline.reportformat import code as code_text
from dcs_restores_pipeline.text import printable

# Okabe-Ito: distinguishable with every common colour-vision deficiency
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
HATCHES = ("///", "...", "xxx", "\\\\\\", "ooo", "---", "+++")
GREY = "#9a9a9a"
DARK = "#333333"
TOP_CODES = 5
SIZE = (10.0, 3.4)
# matplotlib.dates has no type hints
mdates: Any = _mdates


def volume_and_failure_rate(days: Sequence[Day]) -> Figure:
    """Restores per day as bars (failed hatched on top), the failure rate as a line."""
    figure, axes = _figure("Restores per UTC day and failure rate")
    if not any(d.restores for d in days):
        return _empty(figure, axes)
    x = [d.day for d in days]
    succeeded = [d.finished - d.failed for d in days]
    failed = [d.failed for d in days]
    other = [d.restores - d.finished for d in days]
    axes.bar(x, succeeded, width=0.8, color="#c9d8e6", edgecolor=DARK, linewidth=0.3)
    axes.bar(x, failed, bottom=succeeded, width=0.8, color=PALETTE[5], hatch="///",
             edgecolor=DARK, linewidth=0.3)  # fmt: skip
    tops = [s + f for s, f in zip(succeeded, failed, strict=True)]
    axes.bar(x, other, bottom=tops, width=0.8, color="white", hatch="...", edgecolor=GREY,
             linewidth=0.3)  # fmt: skip
    for d, height in zip(days, [t + o for t, o in zip(tops, other, strict=True)], strict=True):
        if d.partial and height:
            axes.annotate("partial", (d.day, height), ha="center", va="bottom", fontsize=7,
                          color=DARK, xytext=(0, 2), textcoords="offset points")  # fmt: skip
    axes.set_ylabel("restores per day")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, max(1, *(t + o for t, o in zip(tops, other, strict=True))) * 1.18)

    rate_axes = axes.twinx()
    rated = [d for d in days if d.failure_rate is not None and not d.partial]
    partial = [d for d in days if d.failure_rate is not None and d.partial]
    rate_axes.plot([d.day for d in rated], [d.failure_rate for d in rated], color="black",
                   marker="o", markersize=4, linewidth=1.4)  # fmt: skip
    rate_axes.plot([d.day for d in partial], [d.failure_rate for d in partial], color="black",
                   marker="o", markerfacecolor="white", markersize=5, linestyle="none")  # fmt: skip
    highest = max((d.failure_rate or 0.0) for d in days)
    # fitted to the data, not 0-100 %: a 3 % day and a 20 % day must look different
    rate_axes.set_ylim(0, max(0.05, highest * 1.25))
    rate_axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    rate_axes.set_ylabel("failed / finished")
    _date_axis(axes, x)
    handles = [
        Patch(facecolor="#c9d8e6", edgecolor=DARK, label="succeeded"),
        Patch(facecolor=PALETTE[5], hatch="///", edgecolor=DARK, label="failed"),
        Patch(facecolor="white", hatch="...", edgecolor=GREY, label="running / other"),
        axes.plot([], [], color="black", marker="o", label="failure rate")[0],
    ]
    if partial:
        handles.append(
            axes.plot([], [], color="black", marker="o", markerfacecolor="white",
                      linestyle="none", label="failure rate, partial day")[0]
        )  # fmt: skip
    axes.legend(handles=handles, loc="upper left", ncols=5, fontsize=8, frameon=False)
    return _finish(figure)


def duration_trend(days: Sequence[Day]) -> Figure:
    """p50 and p95 restore duration per UTC day, in minutes or hours as the data needs."""
    figure, axes = _figure("Restore duration per UTC day (finished restores)")
    points = [d for d in days if d.p50 is not None]
    if not points:
        return _empty(figure, axes)
    x = [d.day for d in points]
    highest = max(d.p95 if d.p95 is not None else d.p50 or 0.0 for d in points)
    unit, divisor = _time_unit(highest)
    axes.plot(x, [(d.p50 or 0) / divisor for d in points], color=PALETTE[0], marker="o",
              markersize=4, linewidth=1.6, label="p50 (median)")  # fmt: skip
    axes.plot(x, [(d.p95 or 0) / divisor for d in points], color=PALETTE[1], marker="^",
              markersize=5, linewidth=1.6, linestyle="--", label="p95")  # fmt: skip
    axes.set_ylim(0, highest / divisor * 1.15 or 1)
    axes.set_ylabel(f"duration ({unit})")
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    _date_axis(axes, [d.day for d in days])
    axes.legend(loc="upper left", ncols=2, fontsize=8, frameon=False)
    return _finish(figure)


def failures_by_code(code_days: Sequence[CodeDay], days: Sequence[date]) -> Figure:
    """Failed restores per UTC day, stacked by error code (the top codes, then the rest)."""
    figure, axes = _figure("Failed restores per UTC day by error code")
    if not code_days:
        return _empty(figure, axes)
    legend = code_legend(code_days)
    keys = [key for key, _label in legend]
    per_key = {key: dict.fromkeys(days, 0) for key in keys}
    for c in code_days:
        key = c.code if c.code in per_key else _OTHER
        per_key[key][c.day] = per_key[key].get(c.day, 0) + c.failures
    bottom = dict.fromkeys(days, 0)
    for n, (key, label) in enumerate(legend):
        values = [per_key[key].get(d, 0) for d in days]
        axes.bar(list(days), values, bottom=[bottom[d] for d in days], width=0.8,
                 color=PALETTE[n % len(PALETTE)], hatch=HATCHES[n % len(HATCHES)],
                 edgecolor=DARK, linewidth=0.3, label=label)  # fmt: skip
        for d, v in zip(days, values, strict=True):
            bottom[d] += v
    axes.set_ylabel("failed restores")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, max(bottom.values()) * 1.15 or 1)
    _date_axis(axes, list(days))
    axes.legend(loc="upper left", fontsize=8, frameon=False, ncols=2)
    return _finish(figure)


_OTHER = "\0other"


def code_legend(code_days: Sequence[CodeDay]) -> list[tuple[str | None, str]]:
    """The codes drawn on their own (most failures first) and their labels; then the rest."""
    totals: dict[str | None, int] = {}
    for c in code_days:
        totals[c.code] = totals.get(c.code, 0) + c.failures
    ranked = sorted(totals, key=lambda k: (-totals[k], k or "~"))
    shown: list[tuple[str | None, str]] = [
        (k, f"{code_text(k)[:24]} ({totals[k]})") for k in ranked[:TOP_CODES]
    ]
    rest = sum(totals[k] for k in ranked[TOP_CODES:])
    if rest:
        shown.append((_OTHER, f"{len(ranked) - TOP_CODES} other codes ({rest})"))
    return shown


def to_svg(figure: Figure) -> str:
    """The figure as an SVG element (no XML prolog), text kept as text for search and size."""
    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "dcs-restores"}):
        figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _figure(title: str) -> tuple[Figure, Any]:
    figure = Figure(figsize=SIZE, dpi=100, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title, loc="left", fontsize=11)
    axes.spines[["top"]].set_visible(False)
    axes.grid(axis="y", color="#e4e4e4", linewidth=0.6)
    axes.set_axisbelow(True)
    return figure, axes


def _empty(figure: Figure, axes: Any) -> Figure:
    axes.text(0.5, 0.5, "no data in this period", ha="center", va="center",
              transform=axes.transAxes)  # fmt: skip
    axes.set_xticks([])
    axes.set_yticks([])
    return _finish(figure)


def _finish(figure: Figure) -> Figure:
    # labels come from the database: drawn literally (a name like `a$x^2$b` is no formula),
    # control characters escaped
    for text in figure.findobj(Text):
        text.set_parse_math(False)
        text.set_text(printable(text.get_text()))
    return figure


def _date_axis(axes: Any, days: Sequence[date]) -> None:
    if days:
        axes.set_xlim(mdates.date2num(min(days)) - 0.7, mdates.date2num(max(days)) + 0.7)
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _time_unit(seconds: float) -> tuple[str, float]:
    if seconds < 120:
        return "seconds", 1.0
    if seconds < 3 * 3600:
        return "minutes", 60.0
    return "hours", 3600.0
