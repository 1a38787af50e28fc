"""The demo database as tests read it: a copy with the views' clock pinned at the demo run's
time, and what the demo world is known to hold at risk."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
from dcs_restores_pipeline.demo import read_clock
from dcs_restores_pipeline.views import pin_clock_sql
from dcs_simulator.demo_world import AtRisk, at_risk_expectations


def pinned_copy(demo_database: Path, directory: Path) -> Path:
    """A copy of the demo database in `directory` whose views read "now" as the demo run's
    time (so their ages do not drift with the wall clock)."""
    copy = directory / "dcs_restores.duckdb"
    shutil.copyfile(demo_database, copy)
    now = read_clock(copy).now
    with duckdb.connect(str(copy)) as con:
        con.execute(pin_clock_sql("dcs", now))
    return copy


def demo_at_risk(demo_database: Path) -> AtRisk:
    """The at-risk instances of the world the demo database was loaded from."""
    return at_risk_expectations(read_clock(demo_database).anchor)
