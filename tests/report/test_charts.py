"""The shared charts: honest axes, partial days marked, series told apart without colour."""

from __future__ import annotations

from datetime import date, timedelta

from dcs_restores_pipeline import charts
from dcs_restores_pipeline.reportdata import CodeDay, Day

START = date(2026, 11, 1)


def day(n: int, restores: int, failed: int, *, partial: bool = False) -> Day:
    return Day(START + timedelta(days=n), restores, restores, failed, 60.0 * n + 30, 90.0 * n + 60,
               partial)  # fmt: skip


def test_failure_rate_axis_fits_the_data_and_partial_days_are_marked() -> None:
    days = [day(0, 3, 1, partial=True), day(1, 40, 8), day(2, 46, 4), day(3, 5, 0, partial=True)]
    figure = charts.volume_and_failure_rate(days)
    volume, rate = figure.axes
    # the partial first day's 1 of 3 is the highest rate drawn: the axis ends near it, not at 100 %
    assert rate.get_ylim()[1] == 1 / 3 * 1.25
    assert volume.get_ylim()[1] == 46 * 1.18
    marks = [t.get_text() for t in volume.texts]
    assert marks == ["partial", "partial"]
    svg = charts.to_svg(figure)
    assert svg.startswith("<svg") and "failure rate, partial day" in svg


def test_codes_differ_by_hatch_and_the_rest_is_one_series() -> None:
    code_days = [CodeDay(START, f"dcs.08.000{n}", None, 10 - n) for n in range(1, 8)] + [
        CodeDay(START + timedelta(days=1), None, None, 2)
    ]
    legend = charts.code_legend(code_days)
    assert [label for _key, label in legend] == [
        "dcs.08.0001 (9)", "dcs.08.0002 (8)", "dcs.08.0003 (7)", "dcs.08.0004 (6)",
        "dcs.08.0005 (5)", "3 other codes (9)",
    ]  # fmt: skip
    figure = charts.failures_by_code(code_days, [START, START + timedelta(days=1)])
    (axes,) = figure.axes
    hatches = [c.patches[0].get_hatch() for c in axes.containers]
    assert len(set(hatches)) == len(hatches) == 6


def test_durations_in_minutes_and_labels_drawn_literally() -> None:
    figure = charts.duration_trend([day(n, 10, 1) for n in range(5)])
    (axes,) = figure.axes
    assert axes.get_ylabel() == "duration (minutes)"
    code_days = [CodeDay(START, "a$x^2$b\x1b[31m", None, 3)]
    svg = charts.to_svg(charts.failures_by_code(code_days, [START]))
    assert "a$x^2$b\\x1b[31m (3)" in svg and "\x1b" not in svg
