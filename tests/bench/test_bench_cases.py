"""The benchmark's own logic: figures, targets, request counts, the timed child, the database."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest
from dcs_restores_pipeline.bench_bigdb import fill_sql
from dcs_restores_pipeline.bench_cases import CommandRun, _counts, render, summary_rows
from dcs_restores_pipeline.bench_command import isolated_env, run_timed, source_settings


def _run(case: str, run: str, wall_s: float, requests: int, throttled: int = 0) -> CommandRun:
    return CommandRun(
        case=case, run=run, instances=300, restores=5, latency_ms=50.0, concurrency=8,
        wall_s=wall_s, cpu_s=1.0, peak_mb=100.0, exit_code=0, rows=1500, requests=requests,
        by_kind={"instances": 1, "restores": requests - 1}, throttled=throttled,
    )  # fmt: skip


def test_serial_time_floor_and_speedup_come_from_the_requests_made() -> None:
    run = _run("first", "first", wall_s=3.0, requests=301, throttled=1)
    # a throttled attempt is not a needed request
    assert run.serial_s == pytest.approx(15.0)
    assert run.floor_s == pytest.approx(15.0 / 8)
    assert run.speedup == pytest.approx(5.0)
    assert run.target() == (">= 5x serial", True)
    assert _run("first", "first", wall_s=3.1, requests=301).target() == (">= 5x serial", False)


def test_idle_and_large_runs_have_their_own_targets() -> None:
    idle = _run("idle", "idle", wall_s=0.0, requests=301)
    idle.wall_s = idle.floor_s + 0.99
    assert idle.target() == ("<= floor + 1 s", True)
    idle.wall_s = idle.floor_s + 1.01
    assert idle.target() == ("<= floor + 1 s", False)
    large = _run("large", "first", wall_s=0.0, requests=2001)
    large.wall_s = 1.19 * large.floor_s
    assert large.target() == ("<= 1.2x floor", True)
    large.wall_s = 1.21 * large.floor_s
    assert large.target()[1] is False


def test_request_counts_are_the_difference_per_kind() -> None:
    before = {"requests": 10, "by_kind": {"instances": 2, "restores": 8}, "by_status": {"429": 1}}
    after = {
        "requests": 613,
        "by_kind": {"instances": 3, "restores": 308, "backups": 300, "other": 2},
        "by_status": {"200": 610, "429": 3},
    }
    total, kinds, throttled = _counts(before, after)
    assert (total, throttled) == (603, 2)
    assert kinds == {"instances": 1, "restores": 300, "backups": 300, "other": 2}


def test_the_table_shows_kinds_ratio_and_verdict() -> None:
    row = _run("first", "first", wall_s=2.5, requests=301).as_dict()
    text = render([row])
    assert "1 instances+300 restores" in text
    assert " 6.0 " in text  # 15.05 s serial / 2.5 s
    assert ">= 5x serial: met" in text


def test_summary_rows_reads_the_last_json_line_or_gives_zero() -> None:
    assert summary_rows('noise\n{"rows_extracted": 1495, "requests": 301}\n') == 1495
    assert summary_rows("instances read: 3\n") == 0
    assert summary_rows("") == 0
    assert summary_rows('["a list"]') == 0


def test_run_timed_measures_the_child_alone(tmp_path: Path) -> None:
    code = "import sys; x = bytearray(120 * 2**20); x[::4096] = b'1' * len(x[::4096]); " \
        "print('done'); sys.exit(3)"  # fmt: skip
    timed = run_timed([sys.executable, "-c", code], {"PATH": "/usr/bin"}, tmp_path, timeout_s=60)
    assert timed.exit_code == 3
    assert timed.stdout == "done\n"
    assert 120 <= timed.peak_mb < 400
    assert 0 < timed.wall_s < 60
    assert 0 < timed.cpu_s < 60


def test_a_child_past_its_timeout_is_killed(tmp_path: Path) -> None:
    timed = run_timed([sys.executable, "-c", "import time; time.sleep(30)"], {}, tmp_path, 0.5)
    assert timed.exit_code == -9
    assert timed.wall_s < 20


def test_the_measured_child_sees_no_settings_of_the_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__DCS_RESTORES__ENDPOINT", "https://dcs.example.com")
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", "/elsewhere.duckdb")
    env = isolated_env(
        tmp_path, source_settings("http://127.0.0.1:1", "p" * 32, "AK", "SK", None, 500)
    )
    assert env["SOURCES__DCS_RESTORES__ENDPOINT"] == "http://127.0.0.1:1"
    assert env["DESTINATION__DUCKDB__CREDENTIALS"] == str(tmp_path / "dcs_restores.duckdb")
    assert env["DLT_DATA_DIR"] == str(tmp_path / "dlt_data")
    assert env["SOURCES__DCS_RESTORES__PAGE_SIZE"] == "500"
    assert "SOURCES__DCS_RESTORES__CONCURRENCY" not in env


def test_the_big_database_gets_the_restores_asked_for(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "db.duckdb")) as con:
        con.execute("create schema dcs")
        con.execute(
            "create table dcs.instances (instance_id varchar, project_id varchar, endpoint "
            "varchar, name varchar, engine varchar, engine_version varchar, status varchar, "
            "created_at timestamptz, updated_at timestamptz, _dlt_load_id varchar, _dlt_id varchar)"
        )
        con.execute(
            "create table dcs.restores (restore_id varchar, project_id varchar, instance_id "
            "varchar, endpoint varchar, backup_id varchar, backup_name varchar, restore_name "
            "varchar, status varchar, error_code varchar, progress double, created_at "
            "timestamptz, updated_at timestamptz, _dlt_load_id varchar, _dlt_id varchar)"
        )
        con.execute("insert into dcs.instances (instance_id, project_id) values ('i0', 'p')")
        con.execute("insert into dcs.restores (restore_id, project_id) values ('r0', 'p')")
        for statement in fill_sql(2500, per_instance=1000):
            con.execute(statement)
        rows = con.execute(
            "select count(*), count(distinct instance_id), count(*) filter (status = 'failed'), "
            "count(*) filter (updated_at <= created_at), count(distinct project_id) "
            "from dcs.restores where restore_id like 'bench-%'"
        ).fetchall()[0]
        instances = con.execute("select count(*) from dcs.instances").fetchall()[0][0]
    assert rows == (2500, 3, 50, 0, 1)
    assert instances == 4
