"""The DAG file, read without Airflow: current imports, one mapped task per target, no secret.

CI imports and runs it in real Airflow (`.ci/airflow.sh`, checked by test_airflow_result.py);
these checks hold wherever Airflow is not installed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

USER_AND_PASSWORD = re.compile(r"://[^/@\s]+:[^/@\s]+@")
ACCESS_KEY = re.compile(r"[A-Z0-9]{20}")
DAG = Path(__file__).resolve().parents[2] / "pipelines" / "airflow" / "dcs_restores_dag.py"


def imports() -> set[str]:
    tree = ast.parse(DAG.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_dag_uses_airflow_3_imports_only() -> None:
    airflow = {name for name in imports() if name.split(".")[0] == "airflow"}
    assert "airflow.sdk" in airflow
    assert "airflow.providers.standard.operators.empty" in airflow
    # airflow.operators.* and airflow.models.DAG are Airflow 2's (deprecated in 3)
    assert not {n for n in airflow if n.startswith(("airflow.operators", "airflow.models"))}


def test_one_mapped_load_task_per_target_then_models_and_check() -> None:
    text = DAG.read_text(encoding="utf-8")
    assert "load.expand(target=targets())" in text
    assert '["run", "--target", target, "--json", "--quiet"]' in text
    assert "loaded >> models() >> check()" in text


def test_no_credential_in_the_dag_file() -> None:
    """Keys and passwords reach the tasks from connections or the environment only."""
    constants = [
        node.value
        for node in ast.walk(ast.parse(DAG.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    assert constants  # the file was read
    assert [c for c in constants if USER_AND_PASSWORD.search(c)] == []
    assert [c for c in constants if ACCESS_KEY.fullmatch(c)] == []
