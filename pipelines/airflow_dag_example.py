"""Example Airflow DAG: load DCS restores every hour, then alert when thresholds are crossed.

Copy this file into the DAGs folder of an Airflow deployment whose workers have the
`dcs-restores` command installed. Configuration comes from the environment of the workers
(SOURCES__DCS_RESTORES__*, DESTINATION__DUCKDB__CREDENTIALS or DESTINATION_TYPE=postgres);
secrets are best injected from an Airflow connection or a secrets backend into those variables.
Exit codes: `run` 0 ok, 1 failed run, 2 bad configuration; `check` 3 when a threshold is crossed,
which fails the task and triggers Airflow's usual alerting.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(
    dag_id="dcs_restores",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # one run of the pipeline at a time
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10)},
) as dag:
    load = BashOperator(
        task_id="load",
        bash_command="dcs-restores run --json --quiet",
        do_xcom_push=True,  # the JSON run summary becomes the task's XCom value
    )
    check = BashOperator(
        task_id="check",
        bash_command="dcs-restores check --max-failure-rate 0.05 --max-p95-seconds 600",
    )
    load >> check
