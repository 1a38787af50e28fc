"""The demo: the real pipeline, signed, against the local DCS simulator; each run moves time on.

The demo touches nothing but its own database (`dcs_restores.duckdb` in the working directory)
and its own local state (the pipelines dir of that file, see localstate): the destination
settings (`DESTINATION_TYPE`, `DESTINATION__*`) are the production pipeline's, and it ignores
them; it refuses a database it did not write, and never takes over an earlier version's state.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from dcs_restores.configuration import ConfigError, Credentials, SourceSettings
from dcs_simulator import (
    DEFAULT_PROJECT_ID,
    DEMO_ACCESS_KEY,
    DEMO_SECRET_KEY,
    DcsSimulator,
    World,
)

from dcs_restores_pipeline import runner
from dcs_restores_pipeline.config import DATABASE_ENV, database_path
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


def _stored_clock(database: Path) -> DemoClock | None:
    """The clock in an existing database; None when the demo did not write that file."""
    with duckdb.connect(str(database), read_only=True) as con:
        found = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = 'simulator_clock'",
            [CLOCK_SCHEMA],
        ).fetchone()
        if not (found and found[0]):
            return None
        row = con.execute(f"select anchor, runs from {CLOCK_TABLE}").fetchone()
    return DemoClock(anchor=row[0].astimezone(UTC), runs=int(row[1])) if row else None


def read_clock(database: Path) -> DemoClock:
    """Return the demo clock kept in the database (a fresh one if the database is new)."""
    if database.exists():
        stored = _stored_clock(database)
        if stored is not None:
            return stored
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


def production_settings() -> list[str]:
    """Names of the destination settings in the environment (the demo ignores them)."""
    return sorted(k for k in os.environ if k == "DESTINATION_TYPE" or k.startswith("DESTINATION__"))


@contextmanager
def _without_production_settings() -> Iterator[None]:
    # the demo passes its destination explicitly; hiding these also keeps out the rest
    # (e.g. DuckDB's global_config) that dlt would otherwise read for any duckdb destination
    hidden = {key: os.environ.pop(key) for key in production_settings()}
    try:
        yield
    finally:
        os.environ.update(hidden)


def check_demo_database(database: Path) -> None:
    """Refuse a database the demo did not write: it may be a production one.

    Raises:
        ConfigError: one line naming the file and what to do.
    """
    configured = bool(os.environ.get(DATABASE_ENV, "").strip())
    if database.exists():
        if _stored_clock(database) is not None:
            return
        why = f"it has no {CLOCK_TABLE}, so the demo did not write it"
    elif configured and database_path() == database:
        why = f"{DATABASE_ENV} names it"
    else:
        return
    raise ConfigError(
        f"the demo does not write into {database} ({why}): it writes only its own "
        "dcs_restores.duckdb in the working directory; run the demo in another directory"
    )


def run_demo(
    database: Path,
    pipelines_dir: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[RunSummary, DemoClock]:
    """Run the pipeline against a simulator whose clock stands `runs x 12 h` after the anchor.

    A new database starts the demo over: the demo's local state is dropped with it, so
    cursors never outlive the data they describe.

    Raises:
        ConfigError: `database` is not the demo's (see check_demo_database).
    """
    database = database.resolve()
    check_demo_database(database)
    clock = read_clock(database)
    with _without_production_settings():
        if clock.runs == 0:
            # the clock marks the file as the demo's before anything else is written to it
            write_clock(database, clock)
            runner.make_pipeline(database, pipelines_dir, destination_kind="duckdb").drop()
        with DcsSimulator(demo_world(clock.anchor), now=clock.now) as simulator:
            summary = runner.run(
                demo_settings(simulator.base_url),
                database=database,
                pipelines_dir=pipelines_dir,
                progress=progress,
                destination_kind="duckdb",
                take_over=False,
            )
    next_clock = DemoClock(anchor=clock.anchor, runs=clock.runs + 1)
    write_clock(database, next_clock)
    return summary, clock
