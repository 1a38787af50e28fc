"""Airflow 3 DAG: one task per DCS target (dynamic task mapping) into PostgreSQL, then the
models and the check once.

Copy this file into the DAGs folder. The workers need the `dcs-restores` command: install the
project into Airflow's environment (`pip install dcs-restores`), or point DCS_RESTORES_BIN at
the command in the project's own venv (e.g. /opt/dcs-restores/.venv/bin/dcs-restores).

Configuration is the project's usual environment of the workers (SOURCES__DCS_RESTORES__TARGETS,
DESTINATION_TYPE=postgres, ...); this file holds no credential. Each task takes its secrets
when it runs, from Airflow connections when they exist, else from the environment:
- `dcs_restores_<target>` (login: access key, password: secret key; extra
  `{"security_token": ...}` for temporary keys): that target's keys;
- `dcs_restores_postgres` (a postgres connection): DESTINATION__POSTGRES__CREDENTIALS.
Secrets reach the command's environment only: never an XCom, a rendered field or a log line.

Each target runs as `dcs-restores run --target NAME`, with its own pipeline name, state and
lock: targets load at the same time into one PostgreSQL dataset, and one target's failure
fails (and retries) its own task only. `models` and `check` run once after every target has
finished, whatever the outcome, so the targets that loaded are modelled and checked; the leaf
`all_targets_loaded` fails the DAG run when a target did not load.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Connection, dag, task

CONNECTION_PREFIX = "dcs_restores_"
POSTGRES_CONNECTION = "dcs_restores_postgres"
SOURCE = "SOURCES__DCS_RESTORES__"
EXIT_CONFIG = 2  # the command's exit code for a configuration error: retrying does not help
# a task's own bound: a run that hangs is killed and retried, not left holding a worker slot
RUN_TIMEOUT = timedelta(hours=float(os.environ.get("DCS_RESTORES_TASK_HOURS", "2")))
PARALLEL_TARGETS = int(os.environ.get("DCS_RESTORES_PARALLEL_TARGETS", "8"))
CHECK_ARGS = os.environ.get(
    "DCS_RESTORES_CHECK_ARGS", "--max-failure-rate 0.05 --max-p95-seconds 600"
).split()


def _command() -> str:
    """The `dcs-restores` command: DCS_RESTORES_BIN, else the one beside this Python (the
    project installed into Airflow's environment), else the one on PATH."""
    configured = os.environ.get("DCS_RESTORES_BIN", "").strip()
    if configured:
        return configured
    beside = Path(sys.executable).with_name("dcs-restores")
    return str(beside) if beside.is_file() else (shutil.which("dcs-restores") or "dcs-restores")


def _connection(conn_id: str) -> Any | None:
    """The Airflow connection `conn_id`, or None when there is none."""
    try:
        return Connection.get(conn_id)
    except Exception as exc:
        if type(exc).__name__ in ("AirflowNotFoundException", "ConnectionNotFound"):
            return None
        raise


def _environment(target: str | None = None) -> dict[str, str]:
    """The command's environment: the worker's, plus the secrets of the connections."""
    env = dict(os.environ)
    # dlt would look for an Airflow Variable `dlt_secrets_toml` by importing Airflow in every
    # command (~15 s each); the settings come from the environment and connections here
    env.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
    postgres = _connection(POSTGRES_CONNECTION)
    if postgres is not None:
        login = quote(postgres.login or "", safe="")
        password = quote(postgres.password or "", safe="")
        env["DESTINATION_TYPE"] = "postgres"
        env["DESTINATION__POSTGRES__CREDENTIALS"] = (
            f"postgresql://{login}:{password}@{postgres.host}:{postgres.port or 5432}/"
            f"{postgres.schema}"
        )
    keys = _connection(CONNECTION_PREFIX + target) if target else None
    if keys is not None:
        env[SOURCE + "CREDENTIALS__ACCESS_KEY"] = keys.login or ""
        env[SOURCE + "CREDENTIALS__SECRET_KEY"] = keys.password or ""
        token = (keys.extra_dejson or {}).get("security_token")
        if token:
            env[SOURCE + "CREDENTIALS__SECURITY_TOKEN"] = str(token)
    return env


def _cli(args: list[str], target: str | None = None) -> str:
    """Run `dcs-restores ARGS`, its stderr into the task log; return its stdout.

    Raises:
        AirflowFailException: a configuration error (exit 2): no retry.
        RuntimeError: any other failure (the task is retried), with the command's last line.
    """
    done = subprocess.run(
        [_command(), *args],
        env=_environment(target),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT.total_seconds(),
        check=False,
    )
    # the command never prints a secret: its output is safe for the task log
    print(done.stdout, end="")
    print(done.stderr, end="", file=sys.stderr)
    if done.returncode == 0:
        return done.stdout
    lines = done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or [""]
    message = f"dcs-restores {args[0]} exited {done.returncode}: {lines[-1][:500]}"
    if done.returncode == EXIT_CONFIG:
        from airflow.exceptions import AirflowFailException

        raise AirflowFailException(message)
    raise RuntimeError(message)


@dag(
    dag_id="dcs_restores",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["dcs-restores"],
)
def dcs_restores() -> None:
    @task(retries=0)
    def targets() -> list[str]:
        """The configured targets' names (no secret: they go to XCom)."""
        names = json.loads(_cli(["targets", "--json"]))
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise RuntimeError("dcs-restores targets --json did not print a list of names")
        return names

    @task(max_active_tis_per_dagrun=PARALLEL_TARGETS, execution_timeout=RUN_TIMEOUT)
    def load(target: str) -> dict[str, Any]:
        """Load one target; its run summary (figures and one-line errors) is the XCom."""
        summary = json.loads(_cli(["run", "--target", target, "--json", "--quiet"], target))
        return dict(summary)

    @task(trigger_rule="all_done")
    def models() -> None:
        _cli(["models"])

    @task(trigger_rule="all_done", retries=0)
    def check() -> None:
        """Exit 3 of `dcs-restores check` (a threshold crossed) fails this task: the alert."""
        _cli(["check", *CHECK_ARGS])

    loaded = load.expand(target=targets())
    loaded >> EmptyOperator(task_id="all_targets_loaded")
    loaded >> models() >> check()


dcs_restores()
