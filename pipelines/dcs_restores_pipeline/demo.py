"""The demo: the real pipeline, signed, against the local DCS simulator; each run moves time on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from dcs_restores.configuration import Credentials, SourceSettings
from dcs_simulator import (
    DEFAULT_PROJECT_ID,
    DEMO_ACCESS_KEY,
    DEMO_SECRET_KEY,
    DcsSimulator,
    World,
)

from dcs_restores_pipeline import runner
from dcs_restores_pipeline.runner import RunSummary

DEMO_SEED = 7
DEMO_INSTANCES = 12
DEMO_RESTORES_PER_INSTANCE = 150
DEMO_BIG_INSTANCE_RESTORES = 1500
DEMO_HISTORY = timedelta(days=60)
DEMO_FUTURE = timedelta(days=30)
# how far the simulated world moves between two demo runs
DEMO_STEP = timedelta(hours=12)
CLOCK_SCHEMA = "dcs_demo"
CLOCK_TABLE = f"{CLOCK_SCHEMA}.simulator_clock"


@dataclass(frozen=True)
class DemoClock:
    """Where the demo world starts and how many demo runs have already happened."""

    anchor: datetime
    runs: int

    @property
    def now(self) -> datetime:
        return self.anchor + self.runs * DEMO_STEP


def demo_world(anchor: datetime) -> World:
    """Return the demo's simulated project: its history ends at `anchor`, its future follows."""
    return World.generate(
        seed=DEMO_SEED,
        project_id=DEFAULT_PROJECT_ID,
        instances=DEMO_INSTANCES,
        restores_per_instance=DEMO_RESTORES_PER_INSTANCE,
        start=anchor - DEMO_HISTORY,
        span=DEMO_HISTORY + DEMO_FUTURE,
        empty_instances=1,
        big_instance_restores=DEMO_BIG_INSTANCE_RESTORES,
    )


def read_clock(database: Path) -> DemoClock:
    """Return the demo clock kept in the database (a fresh one if the database is new)."""
    if database.exists():
        with duckdb.connect(str(database), read_only=True) as con:
            found = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = 'simulator_clock'",
                [CLOCK_SCHEMA],
            ).fetchone()
            if found and found[0]:
                row = con.execute(f"select anchor, runs from {CLOCK_TABLE}").fetchone()
                if row:
                    return DemoClock(anchor=row[0].astimezone(UTC), runs=int(row[1]))
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return DemoClock(anchor=anchor, runs=0)


def write_clock(database: Path, clock: DemoClock) -> None:
    with duckdb.connect(str(database)) as con:
        con.execute(f"create schema if not exists {CLOCK_SCHEMA}")
        con.execute(f"create or replace table {CLOCK_TABLE} (anchor timestamptz, runs integer)")
        con.execute(f"insert into {CLOCK_TABLE} values (?, ?)", [clock.anchor, clock.runs])


def demo_settings(endpoint: str) -> SourceSettings:
    return SourceSettings(
        endpoint=endpoint,
        project_id=DEFAULT_PROJECT_ID,
        credentials=Credentials(access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY),
    )


def run_demo(
    database: Path,
    pipelines_dir: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[RunSummary, DemoClock]:
    """Run the pipeline against a simulator whose clock stands `runs x 12 h` after the anchor.

    A new database starts the demo over: the pipeline's local state is dropped with it, so
    cursors never outlive the data they describe.
    """
    clock = read_clock(database)
    pipeline = runner.make_pipeline(database, pipelines_dir)
    if clock.runs == 0 and not database.exists():
        pipeline.drop()
    with DcsSimulator(demo_world(clock.anchor), now=clock.now) as simulator:
        summary = runner.run(
            demo_settings(simulator.base_url),
            database=database,
            pipelines_dir=pipelines_dir,
            progress=progress,
        )
    next_clock = DemoClock(anchor=clock.anchor, runs=clock.runs + 1)
    write_clock(database, next_clock)
    return summary, clock
