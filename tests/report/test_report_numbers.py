"""The report's headline, at-risk list and instance rows are the views' numbers, on a world
whose at-risk instances are known."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dcs_restores_pipeline import reportformat as fmt
from dcs_restores_pipeline.report import ReportError, run_report
from dcs_restores_pipeline.report_text import align
from dcs_restores_pipeline.reportdata import load
from report_world import FLAKY, HEALTHY, INSTANCES, NEVER, OVERDUE, STALE_BACKUP, UNTESTED

TODAY = datetime.now(UTC).date()
SINCE = TODAY - timedelta(days=13)


def views(database: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def cells_of(row: str) -> list[str]:
    return [unescape(c) for c in re.findall(r"<td[^>]* data-sort='[^']*'>(.*?)</td>", row)]


def test_headline_is_the_views_sums(risk_database: Path) -> None:
    with duckdb.connect(str(risk_database), read_only=True) as con:
        data = load(con, "dcs", SINCE, TODAY)
    ((restores, finished, failed),) = views(
        risk_database,
        "select sum(count_restores), sum(count_finished), sum(count_failed)"
        " from dcs.restore_daily where day between ? and ?",
        [SINCE, TODAY],
    )
    ((p50, p95),) = views(
        risk_database,
        "select quantile_cont(duration_seconds, 0.5), quantile_cont(duration_seconds, 0.95)"
        " from dcs.restore_durations"
        " where cast(created_at at time zone 'UTC' as date) between ? and ?",
        [SINCE, TODAY],
    )
    h = data.headline
    # the world: 6 + 5 + 5 + 1 restores in the last two weeks, 3 failed, 1 running
    assert (h.restores, h.finished, h.failed, h.instances) == (17, 16, 3, 4)
    assert (h.restores, h.finished, h.failed) == (restores, finished, failed)
    assert h.p50 == pytest.approx(p50) and h.p95 == pytest.approx(p95)
    assert h.failure_rate == pytest.approx(3 / 16)
    # the previous two weeks hold nothing; 45 days ago is further back
    assert data.previous.restores == 0
    assert sum(d.restores for d in data.days) == 17 and len(data.days) == 14


def test_at_risk_names_the_known_instances(risk_database: Path) -> None:
    with duckdb.connect(str(risk_database), read_only=True) as con:
        data = load(con, "dcs", SINCE, TODAY)
    reasons = {i.instance_id: i.reasons for i in data.at_risk}
    assert set(reasons) == {FLAKY, OVERDUE, NEVER, STALE_BACKUP, UNTESTED}
    assert reasons[FLAKY] == ["last 3 restores failed"]
    assert reasons[NEVER] == ["never restored"]
    assert reasons[UNTESTED] == ["no successful restore in 45 days"]
    assert reasons[STALE_BACKUP] == ["newest restorable backup 10d 00h old"]
    (overdue,) = reasons[OVERDUE]
    assert re.fullmatch(r"overdue: restore o9 restoring 6h 00m \(expected \S+ \S+\)", overdue)
    # the running late restore outranks history
    assert data.instances[0].instance_id == OVERDUE
    assert data.instances[-1].instance_id == HEALTHY


def test_instance_rows_are_readiness_rows(risk_database: Path, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    run_report(risk_database, html, since=SINCE, until=TODAY)
    page = html.read_text(encoding="utf-8")
    table = page[page.index("<section id='instances'>") :]
    rows = dict(re.findall(r"<tr data-instance='([^']+)'>(.*?)</tr>", table))
    assert set(rows) == {i for i, _ in INSTANCES}
    readiness = views(
        risk_database,
        "select instance_id, p50_duration_seconds, p95_duration_seconds"
        " from dcs.instance_readiness",
    )
    for instance_id, p50, p95 in readiness:
        cells = [
            unescape(c)
            for c in re.findall(r"<td[^>]* data-sort='[^']*'>(.*?)</td>", rows[instance_id])
        ]
        assert cells[5] == fmt.duration(p50) and cells[6] == fmt.duration(p95), cells
    flaky = cells_of(rows[FLAKY])
    # instance, risk, restores, failed, failure rate in the period
    assert flaky[1:4] == ["last 3 restores failed", "5", "3"] and flaky[4] == "60.0%"
    assert fmt.short_id(FLAKY) in flaky[0] and "cache-flaky" in flaky[0]
    # the only project is named once, above the table, not on each row
    assert page.count("0123456789abcdef0123456789abcdef") == 1


def test_terminal_report_leads_with_risk_and_fits(risk_database: Path) -> None:
    text = run_report(risk_database, since=SINCE, until=TODAY)
    lines = text.splitlines()
    assert lines[0] == f"DCS restore report, {SINCE} to {TODAY} (UTC, 14 days)"
    assert lines[1] == (
        "18 restores on 5 instances loaded (6 instances known); 1 running now, 1 overdue"
    )
    assert lines[3] == "AT RISK NOW: 5 of 6 instances"
    risk = lines[6:11]
    assert [line.split()[0] for line in risk] == [
        "cache-overdue",
        "cache-flaky",
        "cache-never",
        "cache-untested",
        "cache-\\x1b[31mstale\\x0",  # cut at 22 characters
    ]
    assert "  failure rate 18.8% (no earlier data), p50 " in text
    assert all(len(line) <= 100 for line in lines)
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)


def test_since_after_until_is_one_line(risk_database: Path) -> None:
    with pytest.raises(ReportError, match=r"^--since 2024-03-02 is after --until 2024-03-01$"):
        run_report(risk_database, since=date(2024, 3, 2), until=date(2024, 3, 1))


def test_wide_names_keep_the_columns_aligned() -> None:
    lines = align(["name", "failed"], [["订单缓存-cn", "2"], ["café", "11"]], right={1})
    # CJK characters take two columns: the numbers still end in the same column
    assert lines == ["name         failed", "订单缓存-cn       2", "café             11"]
