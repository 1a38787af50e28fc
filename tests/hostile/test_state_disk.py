"""A full disk anywhere in a run ends with one line that says "disk full" and where, exit 1;
once there is space again, the next run converges to the API's rows."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dcs_restores_pipeline.cli import main
from dcs_simulator import DcsSimulator
from dlt.common.data_writers.buffered import BufferedDataWriter
from dlt.common.storages.file_storage import FileStorage
from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient

from tests.conftest import Runner
from tests.support.cli import cli_env
from tests.support.truth import assert_matches_truth
from tests.support.worlds import quick_run, small_world

BOUND_S = 60
NO_SPACE = os.strerror(errno.ENOSPC)


def _enospc(path: str) -> OSError:
    return OSError(errno.ENOSPC, NO_SPACE, path)


def _extract_writer(monkeypatch: pytest.MonkeyPatch, runner: Runner) -> str:
    where = str(runner.working_dir / "normalize" / "x" / "r.parquet")

    def flush(self: Any, *args: Any, **kwargs: Any) -> None:
        raise _enospc(where)

    monkeypatch.setattr(BufferedDataWriter, "_flush_items", flush)
    return where


def _state_file(monkeypatch: pytest.MonkeyPatch, runner: Runner) -> str:
    original = FileStorage.save

    def save(self: FileStorage, relative_path: str, data: Any, *args: Any, **kwargs: Any) -> str:
        if relative_path == "state.json":
            raise _enospc(self.make_full_path(relative_path))
        return original(self, relative_path, data, *args, **kwargs)

    monkeypatch.setattr(FileStorage, "save", save)
    return str(runner.working_dir / "state.json")


def _database(monkeypatch: pytest.MonkeyPatch, runner: Runner) -> str:
    """DuckDB says it in its own words, inside dlt's load-job exceptions."""
    original = DuckDbSqlClient.execute_query
    where = f"{runner.database}.wal"

    def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if 'INSERT INTO "dcs"."restores"' in str(query) or 'into "dcs"."restores"' in str(query):
            raise duckdb.IOException(f'IO Error: Could not write file "{where}": {NO_SPACE}')
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(DuckDbSqlClient, "execute_query", execute)
    return where


FAULTS: dict[str, Callable[[pytest.MonkeyPatch, Runner], str]] = {
    "extract-writer": _extract_writer,
    "state-file": _state_file,
    "database": _database,
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_disk_full_is_one_line_that_says_so(
    serve,
    runner: Runner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: str,
) -> None:
    world = small_world(seed=41)
    assert world.default_now is not None
    simulator: DcsSimulator = serve(world, now=world.default_now - timedelta(days=2))
    quick_run(runner, simulator)
    simulator.advance(timedelta(days=1))
    for key, value in cli_env(simulator, runner).items():
        monkeypatch.setenv(key, value)
    # dlt retries a load job that DuckDB failed with an IO error; fewer retries, same verdict
    monkeypatch.setenv("LOAD__RAISE_ON_MAX_RETRIES", "1")

    with monkeypatch.context() as patched:
        where = FAULTS[fault](patched, runner)
        capsys.readouterr()
        started = time.monotonic()
        code = main(["run", "--quiet"])
        assert time.monotonic() - started < BOUND_S
        err = capsys.readouterr().err

    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("dcs-restores: error:")]
    assert len(errors) == 1, err
    assert errors[0].startswith("dcs-restores: error: disk full (no space left on device)")
    assert f"writing {where}" in errors[0]
    # dlt may log its retries of a load job before; the run's last line is the verdict
    assert err.strip().splitlines()[-1] == errors[0]
    assert "reset-pending" not in errors[0]

    # space again: the next run loads everything, nothing twice
    capsys.readouterr()
    assert main(["run", "--quiet"]) == 0, capsys.readouterr().err
    assert_matches_truth(runner, simulator)


def test_disk_full_writing_the_html_report(
    serve,
    runner: Runner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    simulator: DcsSimulator = serve(small_world(seed=42))
    runner.run(simulator)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(runner.database))
    html = tmp_path / "out" / "report.html"
    original = Path.write_text

    def write_text(self: Path, *args: Any, **kwargs: Any) -> int:
        if self == html:
            raise _enospc(str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    capsys.readouterr()
    assert main(["report", "--html", str(html)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        f"dcs-restores: error: disk full (no space left on device) writing {html}: "
        "free space on that file system and run again"
    )
