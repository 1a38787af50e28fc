"""The last line and exit code of each failing command, as an operator sees them."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dcs_restores_pipeline import cli, runner
from dlt.pipeline.exceptions import PipelineStepFailed

from tests.messages.conftest import COMMAND, PROJECT_ID, P, bare_env

NOT_RUN = "run `dcs-restores run` first"


@pytest.fixture
def database(demo_database: Path, tmp_path: Path) -> Path:
    """A copy of the demo's database (pipeline and views), this test's own."""
    copy = tmp_path / "data" / "restores.duckdb"
    copy.parent.mkdir()
    shutil.copy(demo_database, copy)
    return copy


def _configure(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    monkeypatch.setenv(f"{P}ENDPOINT", endpoint)
    monkeypatch.setenv(f"{P}PROJECT_ID", PROJECT_ID)
    monkeypatch.setenv(f"{P}CREDENTIALS__ACCESS_KEY", "AKAKAKAKAKAK")
    monkeypatch.setenv(f"{P}CREDENTIALS__SECRET_KEY", "sk")
    monkeypatch.setenv(f"{P}MAX_ATTEMPTS", "1")


def _code(argv: list[str]) -> int:
    """main()'s exit code, also for a usage error (argparse exits)."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _threshold_flags() -> list[str]:
    """check's `--max-…` flags (the readiness thresholds may add more), as the line lists them."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["check"]  # type: ignore[index]
    flags = sorted(o for a in sub._actions for o in a.option_strings if o.startswith("--max-"))
    assert {"--max-failure-rate", "--max-p95-seconds"} <= set(flags)
    return flags


# --- a database held by another program ---------------------------------------------------


@pytest.fixture
def holder(database: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process (as a notebook kernel would) holding the DuckDB file open."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', "
            "flush=True); time.sleep(120)",
            str(database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    yield child
    child.kill()
    child.wait()


def test_a_locked_database_names_the_process_and_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database: Path,
    holder: subprocess.Popen[str],
) -> None:
    _configure(monkeypatch, "http://127.0.0.1:1")
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(database))
    line = (
        f"dcs-restores: error: database {database} is locked by process {holder.pid} "
        f"({Path(sys.executable).resolve().name}): close it (a notebook kernel, the DuckDB CLI) "
        "and run again"
    )
    for argv in (["report"], ["models"], ["check", "--max-failure-rate", "0.5"], ["run"]):
        assert cli.main(argv) == cli.EXIT_DESTINATION == 5, argv
        assert capsys.readouterr().err.splitlines()[-1] == line, argv


def test_an_unreachable_postgresql_is_a_destination_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure(monkeypatch, "http://127.0.0.1:1")
    monkeypatch.setenv("DESTINATION_TYPE", "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", "postgresql://u:pw-Xq3@127.0.0.1:1/db")
    assert cli.main(["run", "--quiet"]) == cli.EXIT_DESTINATION
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        "dcs-restores: error: cannot connect to the database: connection to server at "
        '"127.0.0.1", port 1 failed: Connection refused'
    )
    assert "pw-Xq3" not in err


# --- report, models and check: where the database is, and what comes first ---------------


def test_from_root_without_a_database_the_message_names_the_option_and_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database: Path
) -> None:
    monkeypatch.chdir("/")
    for command in ("report", "models", "check"):
        argv = [command] + (["--max-failure-rate", "0.1"] if command == "check" else [])
        assert cli.main(argv) == cli.EXIT_FAILED
        assert capsys.readouterr().err == (
            "dcs-restores: error: no database at /dcs_restores.duckdb: run `dcs-restores run` "
            "first, or name the file with --database PATH or DESTINATION__DUCKDB__CREDENTIALS\n"
        )
    assert cli.main(["report", "--database", str(database)]) == cli.EXIT_OK
    with duckdb.connect(str(database), read_only=True) as con:
        row = con.execute("select count(distinct instance_id) from dcs.restores").fetchone()
    assert row is not None
    assert f"restores on {row[0]} instances" in capsys.readouterr().out


def test_after_a_failed_first_run_report_and_models_say_run_not_models(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure(monkeypatch, "http://127.0.0.1:1")
    assert cli.main(["run", "--quiet"]) == cli.EXIT_FAILED
    capsys.readouterr()
    database = Path("dcs_restores.duckdb").resolve()
    assert database.exists()  # the failed run left a file without the schema
    for command in ("report", "models"):
        assert cli.main([command]) == cli.EXIT_FAILED
        err = capsys.readouterr().err
        assert err == (
            f"dcs-restores: error: no restores loaded in {database} yet (no table dcs.restores): "
            f"{NOT_RUN}\n"
        )
        assert "dcs-restores models" not in err


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["check"],
            "dcs-restores check: error: no threshold given: set at least one of "
            f"{', '.join(_threshold_flags())} (see `dcs-restores check --help`)",
        ),
        (
            ["check", "--max-failure-rate", "5"],
            "dcs-restores check: error: argument --max-failure-rate: '5' is out of range: give a "
            "fraction from 0 to 1 (a fraction: 0.05 means 5 %) (see `dcs-restores check --help`)",
        ),
        (
            ["check", "--max-failure-rate", "0.1", "--since-days", "-1"],
            "dcs-restores check: error: argument --since-days: '-1' is out of range: give days "
            "above 0 and at most 36500 (see `dcs-restores check --help`)",
        ),
        (
            ["check", "--max-failure-rate", "0.1", "--since-days", "1e300"],
            "dcs-restores check: error: argument --since-days: '1e300' is out of range: give days "
            "above 0 and at most 36500 (see `dcs-restores check --help`)",
        ),
    ],
)
def test_check_refuses_what_could_never_alert(
    capsys: pytest.CaptureFixture[str], database: Path, argv: list[str], line: str
) -> None:
    # refused before the database is read, with a database that would otherwise pass
    assert _code([*argv, "--database", str(database)]) == cli.EXIT_CONFIG
    assert capsys.readouterr().err == line + "\n"


# --- network and wrapped errors: the last line names the cause ---------------------------


def test_a_host_that_does_not_resolve_is_named_and_tried_at_most_twice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure(monkeypatch, "https://dcs.example.com")
    monkeypatch.setenv(f"{P}MAX_ATTEMPTS", "6")
    monkeypatch.setenv(f"{P}MAX_RETRY_DELAY", "0.05")
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "dcs.example.com":
            asked.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert cli.main(["run", "--quiet"]) == cli.EXIT_FAILED
    line = capsys.readouterr().err.splitlines()[-1]
    assert re.fullmatch(
        rf"dcs-restores: error: GET /v2/{PROJECT_ID}/instances: connection_error: cannot "
        r"resolve host dcs\.example\.com \(gave up after 2 attempts in \d+s\); .*",
        line,
    ), line
    assert len(asked) == 2


def test_a_wrapped_error_ends_with_its_step_and_root_cause(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = types.SimpleNamespace(
        pipeline_name="dcs_restores", has_pending_data=False, first_run=True, state={}
    )

    def failing_run(**_: Any) -> None:
        raise PipelineStepFailed(
            pipeline,  # type: ignore[arg-type]
            "sync",
            None,  # type: ignore[arg-type]
            RuntimeError("the state table is damaged"),
        )

    monkeypatch.setattr(runner, "run", failing_run)
    assert cli.main(["run", "--quiet"]) == cli.EXIT_FAILED
    assert capsys.readouterr().err == (
        "dcs-restores: error: the sync step failed: RuntimeError: the state table is damaged\n"
    )


# --- a reader that goes away: `dcs-restores report | head` -------------------------------


def test_a_closed_pipe_ends_quietly_with_exit_0(tmp_path: Path, database: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes a byte
    try:
        child = subprocess.run(
            [COMMAND, "report", "--database", str(database)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=bare_env(tmp_path),
            cwd=tmp_path,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert (child.returncode, child.stderr) == (0, "")
