"""On the demo world, the report names what the world is known to hold at risk, and the
error-code chart's data shows the incident day."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dcs_restores_pipeline.report import run_report
from dcs_restores_pipeline.reportdata import ReportData, load
from dcs_simulator.demo_world import AtRisk

from tests.support.demo import demo_at_risk, pinned_copy


@pytest.fixture(scope="module")
def pinned(demo_database: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pinned_copy(demo_database, tmp_path_factory.mktemp("report-demo"))


@pytest.fixture(scope="module")
def risk(demo_database: Path) -> AtRisk:
    return demo_at_risk(demo_database)


@pytest.fixture(scope="module")
def data(pinned: Path) -> ReportData:
    with duckdb.connect(str(pinned), read_only=True) as con:
        return load(con, "dcs")


def test_at_risk_names_the_demo_characters(data: ReportData, risk: AtRisk) -> None:
    reasons = {i.readiness["instance_name"]: i.reasons for i in data.at_risk}
    assert risk.flaky.name in reasons
    assert any(
        r.startswith("last ") and r.endswith(" restores failed") for r in reasons[risk.flaky.name]
    )
    (overdue,) = [r for r in reasons[risk.overdue.name] if r.startswith("overdue: ")]
    assert overdue.startswith(f"overdue: restore {risk.overdue_restore_id[:8]} ")
    assert reasons[risk.never_restored.name] == ["never restored"]
    assert any(r.startswith("newest restorable backup ") for r in reasons[risk.stale_backups.name])


def test_incident_day_stands_out_by_error_code(data: ReportData, risk: AtRisk) -> None:
    per_day: dict[object, int] = {}
    for c in data.code_days:
        per_day[c.day] = per_day.get(c.day, 0) + c.failures
    assert max(per_day, key=lambda d: per_day[d]) == risk.incident_day
    incident = [c for c in data.code_days if c.day == risk.incident_day]
    top = max(incident, key=lambda c: c.failures)
    assert top.code == risk.incident_code and top.failures >= 10


def test_terminal_report_leads_with_the_characters(pinned: Path, risk: AtRisk) -> None:
    lines = run_report(pinned).splitlines()
    start = lines.index(next(line for line in lines if line.startswith("AT RISK NOW: ")))
    risk_block = lines[start : lines.index("", start)]
    for name in (risk.flaky.name, risk.overdue.name, risk.never_restored.name,
                 risk.stale_backups.name):  # fmt: skip
        assert any(line.startswith(f"  {name} ") for line in risk_block), (name, risk_block)
    assert all(len(line) <= 100 for line in lines)
