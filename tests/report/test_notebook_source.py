"""The analyst notebook: a py:percent source, executed with its parameters honoured, drawing
the report's own charts; the README's headless command works from the repository root."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell
from report_world import world_restores

ROOT = Path(__file__).parents[2]
SOURCE = ROOT / "notebooks" / "restores_report.py"
TODAY = datetime.now(UTC).date()


def read_notebook() -> nbformat.NotebookNode:
    return jupytext.read(SOURCE)


def inject_parameters(notebook: nbformat.NotebookNode, source: str) -> None:
    """Add a cell after the `parameters` cell, as papermill does."""
    position = next(
        i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])
    )
    cell = new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(position + 1, cell)


def outputs(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]


def test_parameters_cell_comes_first() -> None:
    code = [cell for cell in read_notebook().cells if cell.cell_type == "code"]
    assert code[0].metadata["tags"] == ["parameters"]
    assert code[0].source == "database = None\nstart_date = None\nend_date = None"


def test_notebook_honours_its_parameters(risk_database: Path, tmp_path: Path) -> None:
    notebook = read_notebook()
    since = TODAY - timedelta(days=2)
    inject_parameters(
        notebook,
        f"database = {str(risk_database)!r}\nstart_date = {str(since)!r}\n"
        f"end_date = {str(TODAY)!r}",
    )
    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()

    assert not [out for out in outputs(notebook) if out.output_type == "error"]
    printed = [out.text for out in outputs(notebook) if out.output_type == "stream"]
    # counted from the world's rows: which fall in the last three UTC days depends on the hour
    rows = [r for r in world_restores() if since <= r[4].astimezone(UTC).date() <= TODAY]
    finished = [r for r in rows if r[2] in ("succeed", "failed")]
    failed = [r for r in rows if r[2] == "failed"]
    instances = len({r[1] for r in rows})
    assert 2 <= len(failed) < len(finished) < len(rows)
    first = printed[0].splitlines()[0]
    assert first == (
        f"{since} to {TODAY} (UTC, 3 days): {len(rows)} restores on {instances} instances, "
        f"{len(finished)} finished, {len(failed)} failed"
    )
    charts = [cell for cell in notebook.cells if "chart" in cell.metadata.get("tags", [])]
    assert len(charts) == 3
    for cell in charts:
        svgs = [out["data"]["image/svg+xml"] for out in cell.outputs if "data" in out
                and "image/svg+xml" in out["data"]]  # fmt: skip
        assert svgs and "<svg" in svgs[0], cell.source[:60]
    # the instances table is sorted by risk: the overdue restore first, healthy last
    plain = [out["data"].get("text/plain", "") for out in outputs(notebook) if "data" in out]
    tables = [text for text in plain if "cache-healthy" in text]
    (table,) = tables
    assert table.index("cache-overdue") < table.index("cache-flaky") < table.index("cache-healthy")


def test_readme_command_from_the_repository_root(risk_database: Path, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(SOURCE, root / "notebooks" / SOURCE.name)
    shutil.copy(risk_database, root / "dcs_restores.duckdb")
    jupytext_cli = Path(sys.executable).with_name("jupytext")
    done = subprocess.run(
        [str(jupytext_cli), "--to", "ipynb", "--execute", "notebooks/restores_report.py",
         "-o", "notebooks/restores_report.executed.ipynb"],
        cwd=root, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    executed = nbformat.read(root / "notebooks" / "restores_report.executed.ipynb", as_version=4)
    printed = [out.text for out in outputs(executed) if out.output_type == "stream"]
    assert " restores on 4 instances, " in printed[0]
    # only the executed copy is new, under notebooks/, which ruff excludes and git ignores
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == [
        "dcs_restores.duckdb", "restores_report.executed.ipynb", "restores_report.py",
    ]  # fmt: skip
