"""`check`, `report` and `models` on a large database, each timed whole-process.

A real run against a small simulator creates the schema, the tables and the views; then
synthetic restores (and their instances) are added with one SQL statement each, so that the
generated database has the shape the commands read, at any size, in seconds.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from dcs_restores_pipeline.bench_command import (
    console_script,
    isolated_env,
    run_timed,
    source_settings,
)

RESTORES_PER_INSTANCE = 1000
COMMANDS = (
    ("check", ["check", "--max-failure-rate", "0.5", "--per-instance"]),
    ("report", ["report"]),
    ("models", ["models"]),
)


def fill_sql(total: int, per_instance: int = RESTORES_PER_INSTANCE) -> list[str]:
    """Statements adding `total` restores over `total / per_instance` instances to schema dcs.

    Statuses: ~2 % failed, a few open, the rest succeeded; created over the last 90 days,
    finished 1-30 minutes later; ids that cannot collide with the simulator's.
    """
    instances = max(1, -(-total // per_instance))
    return [
        f"""
        insert into dcs.instances by name
        select 'bench-' || i as instance_id, first(project_id) over () as project_id,
               first(endpoint) over () as endpoint, 'bench instance ' || i as name,
               'Redis' as engine, '6.0' as engine_version, 'RUNNING' as status,
               now() - interval 400 day as created_at, now() as updated_at,
               first(_dlt_load_id) over () as _dlt_load_id, 'bi' || i as _dlt_id
        from range({instances}) t(i), (select * from dcs.instances limit 1)
        """,
        f"""
        insert into dcs.restores by name
        with base as (select project_id, endpoint, _dlt_load_id from dcs.restores limit 1)
        select 'bench-r-' || i as restore_id, base.project_id, base.endpoint,
               'bench-' || (i // {per_instance}) as instance_id,
               'bk-' || i as backup_id, 'backup ' || i as backup_name,
               'restore ' || i as restore_name,
               case when i % 50 = 0 then 'failed' when i % 997 = 0 then 'restoring'
                    else 'succeed' end as status,
               case when i % 50 = 0 then 'DCS.5000' end as error_code,
               case when i % 997 = 0 then 40.0 else 100.0 end as progress,
               now() - (i % 7776000) * interval 1 second as created_at,
               now() - (i % 7776000) * interval 1 second
                   + (60 + (i * 7919) % 1740) * interval 1 second as updated_at,
               base._dlt_load_id, 'br' || i as _dlt_id
        from range({total}) t(i), base
        """,
    ]


def run_big_db(total: int) -> dict[str, Any]:
    """Build a database of `total` restores and time each command on it."""
    import duckdb

    from dcs_restores_pipeline import bench

    sim_args = argparse.Namespace(
        instances=10, restores=5, latency_ms=0.0, big_instance_restores=None, throttle_rps=None
    )
    figures: dict[str, Any] = {"restores": total, "commands": []}
    with tempfile.TemporaryDirectory(prefix="dcs-bench-bigdb-") as tmp:
        workdir = Path(tmp)
        with bench.simulator(sim_args) as target:
            settings = source_settings(
                target.url, target.project_id, target.access_key, target.secret_key, 8, 1000
            )
            env = isolated_env(workdir, settings)
            made = run_timed([console_script(), "run", "--quiet"], env, workdir)
            if made.exit_code:
                raise RuntimeError(f"the run that makes the schema failed: {made.stderr[-500:]}")
        database = workdir / "dcs_restores.duckdb"
        with duckdb.connect(str(database)) as con:
            for statement in fill_sql(total):
                con.execute(statement)
            count = con.execute("select count(*) from dcs.restores").fetchall()[0][0]
        figures["restores_in_table"] = count
        figures["database_mb"] = database.stat().st_size / 2**20
        for name, args in COMMANDS:
            timed = run_timed([console_script(), *args], env, workdir)
            figures["commands"].append(
                {
                    "command": " ".join(["dcs-restores", *args]),
                    "name": name,
                    "wall_s": timed.wall_s,
                    "cpu_s": timed.cpu_s,
                    "peak_mb": timed.peak_mb,
                    "exit_code": timed.exit_code,
                    "last_line": (timed.stdout.strip().splitlines() or [""])[-1][:200],
                }
            )
    return figures


def render(figures: dict[str, Any]) -> str:
    lines = [
        f"database of {figures['restores_in_table']:,} restores "
        f"({figures['database_mb']:.0f} MB DuckDB file), each command whole-process:",
        f"{'command':<58}{'wall s':>8}{'CPU s':>7}{'peak MB':>9}{'exit':>6}",
    ]
    for c in figures["commands"]:
        lines.append(
            f"{c['command']:<58}{c['wall_s']:>8.2f}{c['cpu_s']:>7.2f}{c['peak_mb']:>9.1f}{c['exit_code']:>6}"
        )
    return "\n".join(lines)
