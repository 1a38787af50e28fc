"""The analyst notebook is committed without outputs and runs against a database end to end."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "restores_report.ipynb"


def read_notebook() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def inject_parameters(notebook: nbformat.NotebookNode, source: str) -> None:
    """Add a cell after the `parameters` cell, as papermill does."""
    position = next(
        i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])
    )
    cell = new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(position + 1, cell)


def execute(notebook: nbformat.NotebookNode, cwd: Path) -> None:
    """Run every cell in a python3 kernel; raises CellExecutionError on the first failure."""
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()


def test_notebook_is_committed_without_outputs() -> None:
    notebook = read_notebook()
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert code[0].metadata["tags"] == ["parameters"]
    assert code[0].source == (
        'database = "../dcs_restores.duckdb"\nstart_date = None\nend_date = None'
    )


def test_notebook_runs_and_draws_every_chart(report_database: Path, tmp_path: Path) -> None:
    notebook = read_notebook()
    inject_parameters(notebook, f"database = {str(report_database)!r}")

    execute(notebook, tmp_path)

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    charts = [cell for cell in notebook.cells if "chart" in cell.metadata.get("tags", [])]
    assert len(charts) == 4
    for cell in charts:
        assert any("image/png" in out.get("data", {}) for out in cell.outputs), cell.source[:60]


def test_notebook_date_range_limits_restores(hand_database: Path, tmp_path: Path) -> None:
    notebook = read_notebook()
    # 5 to 11 March: r-b1, r-b2, r-b3, r-b5, r-b6 and r-a4 finished, four of them failed
    inject_parameters(
        notebook,
        f'database = {str(hand_database)!r}\nstart_date = "2024-03-05"\nend_date = "2024-03-11"',
    )
    execute(notebook, tmp_path)

    printed = [out.text for cell in notebook.cells for out in cell.get("outputs", [])
               if out.output_type == "stream"]  # fmt: skip
    assert printed == ["4 instances, 6 finished restores, 4 failed\n"]
