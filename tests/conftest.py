"""Shared fixtures: isolated pipeline dirs and databases, the simulator, ground-truth helpers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dcs_restores.configuration import Credentials, SourceSettings
from dcs_restores_pipeline import runner as pipeline_runner
from dcs_restores_pipeline.runner import RunSummary
from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DcsSimulator, World

RESTORE_FIELDS = (
    "restore_id",
    "project_id",
    "instance_id",
    "backup_id",
    "backup_name",
    "restore_name",
    "restore_remark",
    "backup_remark",
    "status",
    "error_code",
    "progress",
    "created_at",
    "updated_at",
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # a test never reads the developer's ~/.dlt, the repo's .dlt or real credentials
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt_data"))
    for key in list(__import__("os").environ):
        if key.startswith(("SOURCES__", "DESTINATION__", "RUNTIME__")):
            monkeypatch.delenv(key)


class Runner:
    """Runs the real pipeline into one database, with one pipelines dir, against a simulator."""

    def __init__(self, tmp_path: Path) -> None:
        self.database = tmp_path / "restores.duckdb"
        self.pipelines_dir = str(tmp_path / "pipelines")

    def settings(self, simulator: DcsSimulator, **changes: Any) -> SourceSettings:
        values: dict[str, Any] = {
            "endpoint": simulator.base_url,
            "project_id": simulator.world.project_id,
            "credentials": Credentials(access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY),
            "page_size": 10,
            "concurrency": 4,
            "max_retry_delay": 0.05,
        }
        values.update(changes)
        return SourceSettings(**values)

    def run(self, simulator: DcsSimulator, **changes: Any) -> RunSummary:
        return pipeline_runner.run(
            self.settings(simulator, **changes),
            database=self.database,
            pipelines_dir=self.pipelines_dir,
        )

    @property
    def working_dir(self) -> Path:
        """The pipeline's working dir: `dcs_restores/` in the pipelines dir of this database."""
        return self.local_dir / "dcs_restores"

    @property
    def local_dir(self) -> Path:
        """This database's own pipelines dir inside `pipelines_dir` (working dir, lock)."""
        return pipeline_runner.local_dir(self.database, self.pipelines_dir, "duckdb")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.execute(sql).fetchall()

    def restores(self) -> list[dict[str, Any]]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            cursor = con.execute(
                f"select {', '.join(RESTORE_FIELDS)} from dcs.restores order by restore_id"
            )
            return [dict(zip(RESTORE_FIELDS, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


@pytest.fixture
def serve() -> Iterator[Any]:
    started: list[DcsSimulator] = []

    def start(world: World, **options: Any) -> DcsSimulator:
        simulator = DcsSimulator(world, **options)
        simulator.start()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()


def _ts(value: Any) -> datetime | None:
    if value in (None, "", {}):
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def expected_restores(world: World, now: datetime) -> list[dict[str, Any]]:
    """Return what table `restores` must hold at `now`, from the simulator's ground truth.

    Converted from the records exactly as the API renders them, with the standard library
    only, independently of the source's own parser.
    """
    rows = []
    for record in world.ground_truth(now):
        # the documented normalisation: "", {} and null all load as NULL
        row = {field: (record.get(field) or None) for field in RESTORE_FIELDS}
        row["progress"] = None if not record["progress"] else float(record["progress"])
        row["created_at"] = _ts(record["created_at"])
        row["updated_at"] = _ts(record["updated_at"])
        rows.append(row)
    return sorted(rows, key=lambda r: r["restore_id"])


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file built by the real demo (pipeline + models) against the simulator."""
    from dcs_restores_pipeline.demo import run_demo

    root = tmp_path_factory.mktemp("demo")
    database = root / "dcs_restores.duckdb"
    run_demo(database, pipelines_dir=str(root / "pipelines"))
    return database
