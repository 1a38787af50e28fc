"""Write notebooks/restores_report.ipynb without outputs; edit the cells here, then rerun.

.venv/bin/python notebooks/build_notebook.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK = Path(__file__).with_name("restores_report.ipynb")


def md(source: str) -> nbformat.NotebookNode:
    """Return a markdown cell; the source loses its surrounding newlines."""
    return new_markdown_cell(source.strip("\n"))


def code(source: str, *tags: str) -> nbformat.NotebookNode:
    """Return a code cell without outputs, tagged e.g. `parameters` or `chart`."""
    cell = new_code_cell(source.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


CELLS: list[nbformat.NotebookNode] = [
    md(
        """\
# DCS restore report

Restore records of Huawei Cloud / Open Telekom Cloud DCS instances, loaded by the
`dcs-restores` pipeline into DuckDB. The notebook reads only the SQL views in schema `dcs`
(listed in the README) and opens the database read-only, so it never changes
the data. Run it while no pipeline run is writing: DuckDB lets one process write at a time.

Set the parameters in the next cell, or inject them with papermill:
`database` is the DuckDB file (by default the one `make demo` writes at the repository
root, as seen from this folder); `start_date` and `end_date` (`"YYYY-MM-DD"`, inclusive, UTC)
limit the charts to restores created in that range. `None` means no limit.
"""
    ),
    code(
        """\
database = "../dcs_restores.duckdb"
start_date = None
end_date = None
""",
        "parameters",
    ),
    md(
        """\
## Load the views

Each view is read into a pandas DataFrame. Timestamps are shown in UTC. The date range
applies to the per-restore and per-day views; the per-instance overview covers all time.
"""
    ),
    code(
        """\
import duckdb
import matplotlib.pyplot as plt


def date_filter(column):
    \"\"\"Return a where clause and parameters limiting `column` (a UTC date) to the range.\"\"\"
    clauses, params = [], []
    if start_date is not None:
        clauses.append(f"{column} >= cast(? as date)")
        params.append(str(start_date))
    if end_date is not None:
        clauses.append(f"{column} <= cast(? as date)")
        params.append(str(end_date))
    return (" where " + " and ".join(clauses)) if clauses else "", params


def read(view, date_column=None):
    \"\"\"Return a view as a DataFrame, limited to the date range on `date_column`.\"\"\"
    where, params = date_filter(date_column) if date_column else ("", [])
    return con.execute(f"select * from dcs.{view}{where}", params).df()


created_day = "cast((created_at at time zone 'UTC') as date)"
with duckdb.connect(database, read_only=True) as con:
    con.execute("set TimeZone = 'UTC'")
    summary = read("restore_instance_summary")
    failure_rates = read("restore_failure_rates", "day")
    durations = read("restore_durations", created_day)
    failures = read("restore_failures", created_day)
    trend = read("restore_trend_weekly")

# a readable label per instance: its name, or its id when the instances table lacks it
labels = dict(zip(summary["instance_id"], summary["instance_name"].fillna(summary["instance_id"])))


def no_data(ax):
    ax.text(0.5, 0.5, "no data in this range", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


print(f"{len(summary)} instances, {len(durations)} finished restores, "
      f"{len(failures)} failed")
"""
    ),
    md(
        """\
## Instances

One row per instance that has restores: counts by state, the failure rate (failed divided by
finished; restores still waiting or restoring are not finished) and duration percentiles in
seconds.
"""
    ),
    code('summary.sort_values(["count_failed", "instance_id"], ascending=[False, True])'),
    md(
        """\
## Failure rate over time

Failed restores divided by finished restores per UTC day of creation, over all instances. A
day with only running restores has no point. Per-instance rates are in `failure_rates`.
"""
    ),
    code(
        """\
fig, ax = plt.subplots(figsize=(9, 4))
if failure_rates.empty:
    no_data(ax)
else:
    daily = failure_rates.groupby("day")[["finished", "failed"]].sum()
    ax.plot(daily.index, 100 * daily["failed"] / daily["finished"], marker="o")
    ax.set_ylim(0, 105)
    ax.set_ylabel("failed / finished (%)")
    ax.set_title("Failure rate per UTC day")
    fig.autofmt_xdate()
plt.show()
""",
        "chart",
    ),
    md(
        """\
## Duration per instance

How long finished restores took (`updated_at - created_at`), as a box per instance: the line
is the median, the box the middle half. Failed restores count with their time until
failure.
"""
    ),
    code(
        """\
fig, ax = plt.subplots(figsize=(9, 4))
timed = durations.dropna(subset=["duration_seconds"])
if timed.empty:
    no_data(ax)
else:
    busiest = timed["instance_id"].value_counts().index[:15]
    ax.boxplot([timed.loc[timed["instance_id"] == i, "duration_seconds"] for i in busiest])
    ax.set_xticks(range(1, len(busiest) + 1), [labels.get(i, i) for i in busiest], rotation=30)
    ax.set_ylabel("duration (seconds)")
    ax.set_title("Duration of finished restores per instance")
plt.show()
""",
        "chart",
    ),
    md(
        """\
## Failures by error code

Failed restores per `error_code`, with the meaning from the API reference
(`dcs.08.0001` to `dcs.08.0008`). `(none)` means the API reported no code; a code without a
meaning is not documented.
"""
    ),
    code(
        """\
fig, ax = plt.subplots(figsize=(9, 4))
codes = (
    failures.assign(error_code=failures["error_code"].fillna("(none)"))
    .groupby("error_code")
    .agg(failed=("restore_id", "count"), meaning=("meaning", "first"))
    .sort_values("failed", ascending=False)
)
if codes.empty:
    no_data(ax)
else:
    ax.barh(range(len(codes)), codes["failed"])
    ax.set_yticks(range(len(codes)), codes.index)
    ax.invert_yaxis()
    ax.set_xlabel("failed restores")
    ax.set_title("Failures by error code")
plt.show()
codes
""",
        "chart",
    ),
    md(
        """\
## Slowest restores

The ten longest finished restores in the range; red bars failed.
"""
    ),
    code(
        """\
fig, ax = plt.subplots(figsize=(9, 4))
slowest = durations.dropna(subset=["duration_seconds"]).nlargest(10, "duration_seconds")
if slowest.empty:
    no_data(ax)
else:
    colors = ["tab:red" if s == "failed" else "tab:green" for s in slowest["status"]]
    ax.barh(range(len(slowest)), slowest["duration_seconds"], color=colors)
    pairs = zip(slowest["restore_id"], slowest["instance_id"])
    ax.set_yticks(range(len(slowest)), [f"{r} ({labels.get(i, i)})" for r, i in pairs])
    ax.invert_yaxis()
    ax.set_xlabel("duration (seconds)")
    ax.set_title("Slowest finished restores")
plt.show()
slowest
""",
        "chart",
    ),
    md(
        """\
## Weekly trend

All restores per UTC week (starting Monday): volume, failures and the median duration.
"""
    ),
    code("trend"),
]


def build() -> nbformat.NotebookNode:
    """Return the notebook with every cell and no outputs."""
    for number, cell in enumerate(CELLS):
        # fixed ids keep the diff small when the notebook is rebuilt
        cell.id = f"cell-{number:02d}"
    notebook = new_notebook(cells=CELLS)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


if __name__ == "__main__":
    notebook = build()
    nbformat.validate(notebook)
    nbformat.write(notebook, NOTEBOOK)
    print(f"wrote {NOTEBOOK}")
