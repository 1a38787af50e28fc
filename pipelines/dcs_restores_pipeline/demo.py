"""The demo: the real pipeline, signed, against the local DCS simulator at the real time.

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
from datetime import UTC, datetime
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
from dcs_simulator.demo_world import DEMO_SEED, build_demo_world

from dcs_restores_pipeline import runner
from dcs_restores_pipeline.config import DATABASE_ENV, database_path
from dcs_restores_pipeline.runner import RunSummary

# the demo world's records, and so the meaning of a demo database, changed with this name
DEMO_WORLD = "story-1"
CLOCK_SCHEMA = "dcs_demo"
CLOCK_TABLE = f"{CLOCK_SCHEMA}.simulator_clock"


@dataclass(frozen=True)
class DemoClock:
    """The demo's clock: where the world's history ends, how many runs saw it, and when.

    The world's history ends at `anchor` (the real time of the first run); each run serves it
    at the real time of that run (`now`), never earlier than the run before.
    """

    anchor: datetime
    runs: int
    now: datetime


def wall_clock() -> datetime:
    """The real time, to the second (the demo clock's default)."""
    return datetime.now(UTC).replace(microsecond=0)


def demo_world(anchor: datetime, until: datetime | None = None) -> World:
    """Return the demo's simulated project: history up to `anchor`, its life on until `until`."""
    return build_demo_world(anchor, until, seed=DEMO_SEED)


def _stored_clock(database: Path) -> DemoClock | None:
    """The clock in an existing database; None when the demo did not write that file.

    Raises:
        ConfigError: an earlier demo, with another world, wrote the file.
    """
    with duckdb.connect(str(database), read_only=True) as con:
        columns = {
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = 'simulator_clock'",
                [CLOCK_SCHEMA],
            ).fetchall()
        }
        if not columns:
            return None
        if "world" not in columns:
            row = None
        else:
            row = con.execute(f"select anchor, runs, now, world from {CLOCK_TABLE}").fetchone()
    if row is None or row[3] != DEMO_WORLD:
        raise ConfigError(
            f"{database} was written by an earlier version of the demo, whose simulated world "
            "differs: delete it (or run the demo in another directory) to start the demo over"
        )
    return DemoClock(anchor=row[0].astimezone(UTC), runs=int(row[1]), now=row[2].astimezone(UTC))


def read_clock(database: Path) -> DemoClock:
    """Return the demo clock kept in the database (a fresh one if the database is new).

    Raises:
        ConfigError: an earlier demo, with another world, wrote the file.
    """
    if database.exists():
        stored = _stored_clock(database)
        if stored is not None:
            return stored
    anchor = wall_clock()
    return DemoClock(anchor=anchor, runs=0, now=anchor)


def write_clock(database: Path, clock: DemoClock) -> None:
    with duckdb.connect(str(database)) as con:
        con.execute(f"create schema if not exists {CLOCK_SCHEMA}")
        con.execute(
            f"create or replace table {CLOCK_TABLE} "
            "(anchor timestamptz, runs integer, now timestamptz, world varchar)"
        )
        con.execute(
            f"insert into {CLOCK_TABLE} values (?, ?, ?, ?)",
            [clock.anchor, clock.runs, clock.now, DEMO_WORLD],
        )


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
    clock: Callable[[], datetime] = wall_clock,
) -> tuple[RunSummary, DemoClock]:
    """Run the pipeline against a simulator whose clock is the real time (`clock()`).

    The first run anchors the world's history at its own time; later runs serve the same world
    at their own time, so restores begun since have appeared and running ones have moved on.
    A new database starts the demo over: the demo's local state is dropped with it, so
    cursors never outlive the data they describe.

    Returns:
        The run's summary, and the clock of this run (`runs` before it, `now` its time).

    Raises:
        ConfigError: `database` is not the demo's (see check_demo_database), or an earlier
            demo's.
    """
    database = database.resolve()
    check_demo_database(database)
    stored = _stored_clock(database) if database.exists() else None
    if stored is None:
        # the first run anchors the world's history at its own time
        now = clock()
        stored = DemoClock(anchor=now, runs=0, now=now)
    else:
        # never back in time: the loaded statuses are those of the latest run
        now = max(stored.now, clock())
    with _without_production_settings():
        if stored.runs == 0:
            # the clock marks the file as the demo's before anything else is written to it
            write_clock(database, stored)
            runner.make_pipeline(database, pipelines_dir, destination_kind="duckdb").drop()
        world = demo_world(stored.anchor, now)
        with DcsSimulator(world, now=now) as simulator:
            summary = runner.run(
                demo_settings(simulator.base_url),
                database=database,
                pipelines_dir=pipelines_dir,
                progress=progress,
                destination_kind="duckdb",
                take_over=False,
            )
    write_clock(database, DemoClock(anchor=stored.anchor, runs=stored.runs + 1, now=now))
    return summary, DemoClock(anchor=stored.anchor, runs=stored.runs, now=now)
