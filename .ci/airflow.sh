#!/usr/bin/env bash
# Runs the Airflow DAG (pipelines/airflow/dcs_restores_dag.py) for real, in Airflow 3 in a venv
# of its own: two simulated targets (`beta` with its own keys, from an Airflow connection) into
# a new database on the CI PostgreSQL. Prints one line for eval:
#   export DCS_AIRFLOW_RESULT=FILE
# FILE (JSON) names the database, the task states and the times; tests/scale_out checks it.
# Usage: eval "$(bash .ci/postgres.sh)"; eval "$(bash .ci/airflow.sh)"
# Everything else goes to stderr. Airflow stays out of the project's venv and dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
: "${DCS_TEST_POSTGRES_URL:?run eval \"\$(bash .ci/postgres.sh)\" first}"
AIRFLOW_VERSION=3.1.8
UV_VERSION=0.13.9
venv=${DCS_AIRFLOW_VENV:-$repo/.ci/.airflow-venv}
py=$venv/bin/python
work=$(mktemp -d /tmp/dcs-airflow.XXXXXX)

log() { echo "airflow.sh: $*" >&2; }

started=$(date +%s)
if ! "$py" -c "import importlib.metadata as m; assert m.version('apache-airflow') == '$AIRFLOW_VERSION'" \
  2>/dev/null || [ ! -x "$venv/bin/uv" ]; then
  rm -rf "$venv"
  python3.11 -m venv "$venv"
  # uv installs Airflow's ~200 packages in well under a minute (pip took 3-6 minutes here)
  "$venv/bin/pip" install --quiet "uv==$UV_VERSION" >&2
  # Airflow's constraints files are not reachable here: the version is pinned instead
  "$venv/bin/uv" pip install --quiet --python "$py" "apache-airflow==$AIRFLOW_VERSION" >&2
fi
# the project into Airflow's environment, as a deployment installs it (the tasks call its CLI)
"$venv/bin/uv" pip install --quiet --python "$py" -e . >&2
install_s=$(($(date +%s) - started))
log "Airflow $AIRFLOW_VERSION and the project installed in ${install_s}s ($venv)"

export AIRFLOW_HOME=$work/airflow_home
export AIRFLOW__CORE__DAGS_FOLDER=$repo/pipelines/airflow
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///$work/airflow.db
export DLT_DATA_DIR=$work/dlt_data
mkdir -p "$AIRFLOW_HOME"
"$venv/bin/airflow" db migrate >"$work/migrate.log" 2>&1 || { tail -20 "$work/migrate.log" >&2; exit 1; }

# a database of its own on the CI PostgreSQL, and the Airflow connection that names it
database=dcs_airflow_$(date +%s)_$$
"$py" - "$DCS_TEST_POSTGRES_URL" "$database" >"$work/postgres.json" <<'PY'
import json, sys
from urllib.parse import urlsplit, unquote
import psycopg2
admin, name = sys.argv[1], sys.argv[2]
con = psycopg2.connect(admin)
con.autocommit = True
con.cursor().execute(f'create database "{name}"')
parts = urlsplit(admin)
print(json.dumps({
    "conn_type": "postgres", "host": parts.hostname, "port": parts.port or 5432,
    "login": unquote(parts.username or ""), "password": unquote(parts.password or ""),
    "schema": name,
}))
PY
AIRFLOW_CONN_DCS_RESTORES_POSTGRES=$(cat "$work/postgres.json")
export AIRFLOW_CONN_DCS_RESTORES_POSTGRES

"$py" -m tests.scale_out.serve_two "$work/simulators.json" >"$work/simulators.log" 2>&1 &
simulators=$!
trap 'kill "$simulators" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -s "$work/simulators.json" ] && break
  kill -0 "$simulators" 2>/dev/null || { cat "$work/simulators.log" >&2; exit 1; }
  sleep 0.2
done
[ -s "$work/simulators.json" ] || { log "the simulators did not start"; exit 1; }

# the workers' environment: the targets without keys, the shared keys (alpha's); beta's own
# keys come from its connection, dcs_restores_beta
eval "$("$py" - "$work/simulators.json" <<'PY'
import json, shlex, sys
from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from tests.scale_out.serve_two import BETA_AK, BETA_SK
sims = json.load(open(sys.argv[1]))
targets = [{"name": name, **sims[name]} for name in ("alpha", "beta")]
beta = {"conn_type": "generic", "login": BETA_AK, "password": BETA_SK}
for key, value in {
    "SOURCES__DCS_RESTORES__TARGETS": json.dumps(targets),
    "SOURCES__DCS_RESTORES__CREDENTIALS__ACCESS_KEY": DEMO_ACCESS_KEY,
    "SOURCES__DCS_RESTORES__CREDENTIALS__SECRET_KEY": DEMO_SECRET_KEY,
    "SOURCES__DCS_RESTORES__PAGE_SIZE": "5",
    "AIRFLOW_CONN_DCS_RESTORES_BETA": json.dumps(beta),
}.items():
    print(f"export {key}={shlex.quote(value)}")
PY
)"
# the simulated restores fail more often than a real project's: the check must pass here
export DCS_RESTORES_CHECK_ARGS="--max-failure-rate 1 --since-days 3650"

started=$(date +%s)
status=0
# bounded: a hung task must not hold CI until its own limit
timeout 1200 "$venv/bin/airflow" dags test dcs_restores >"$work/dags_test.log" 2>&1 || status=$?
dags_test_s=$(($(date +%s) - started))
log "airflow dags test: exit $status in ${dags_test_s}s (log: $work/dags_test.log)"
[ "$status" -eq 0 ] || tail -40 "$work/dags_test.log" >&2

"$py" - "$work" "$database" "$install_s" "$dags_test_s" "$status" >"$work/result.json" <<'PY'
import json, sqlite3, sys
work, database, install_s, dags_test_s, status = sys.argv[1:]
con = sqlite3.connect(f"{work}/airflow.db")
tasks = [
    {"task_id": t, "map_index": m, "state": s, "try_number": n}
    for t, m, s, n in con.execute(
        "select task_id, map_index, state, try_number from task_instance order by task_id, map_index"
    )
]
runs = [s for (s,) in con.execute("select state from dag_run")]
print(json.dumps({
    "database": database, "airflow_home": f"{work}/airflow_home", "work": work,
    "dag_runs": runs, "tasks": tasks, "dags_test_exit": int(status),
    "install_seconds": int(install_s), "dags_test_seconds": int(dags_test_s),
}, indent=1))
PY
log "result: $work/result.json"
echo "export DCS_AIRFLOW_RESULT=$work/result.json"
