# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # DCS restore report
#
# Restores of Huawei Cloud / Open Telekom Cloud DCS instances, loaded by the `dcs-restores`
# pipeline. The notebook reads the SQL views in schema `dcs` read-only, with the same code
# and the same charts as `dcs-restores report --html` (`dcs_restores_pipeline.reportdata` and
# `dcs_restores_pipeline.charts`). Run it while no pipeline run is writing.
#
# Parameters (next cell, or injected papermill style):
# - `database`: the DuckDB file; `None` means `dcs_restores.duckdb` in the working directory,
#   else in its parent (the repository root when the notebook runs in `notebooks/`).
# - `start_date`, `end_date`: `"YYYY-MM-DD"`, UTC, both included; `None` means the 30 days
#   up to the last day with a restore. Changes are against the period of equal length before.

# %% tags=["parameters"]
database = None
start_date = None
end_date = None

# %%
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
from IPython.display import SVG, display

from dcs_restores_pipeline import charts
from dcs_restores_pipeline import reportformat as fmt
from dcs_restores_pipeline.reportdata import load


def as_date(value):
    return None if value is None else date.fromisoformat(str(value))


def find_database():
    if database is not None:
        return Path(database)
    candidates = [Path("dcs_restores.duckdb"), Path("..") / "dcs_restores.duckdb"]
    return next((p for p in candidates if p.is_file()), candidates[0])


path = find_database()
with duckdb.connect(str(path), read_only=True) as con:
    data = load(con, "dcs", as_date(start_date), as_date(end_date))

h, p = data.headline, data.previous
print(
    f"{data.period.label()}: {h.restores} restores on {h.instances} instances, "
    f"{h.finished} finished, {h.failed} failed"
)

# %% [markdown]
# ## Headline
#
# The period against the period of equal length just before it.

# %%
pd.DataFrame(
    [
        ["restores", h.restores, p.restores, fmt.change(h.restores, p.restores)],
        ["failure rate", fmt.percent(h.failure_rate), fmt.percent(p.failure_rate),
         fmt.change(h.failure_rate, p.failure_rate, points=True)],
        ["p50 duration", fmt.duration(h.p50), fmt.duration(p.p50), fmt.change(h.p50, p.p50)],
        ["p95 duration", fmt.duration(h.p95), fmt.duration(p.p95), fmt.change(h.p95, p.p95)],
    ],
    columns=["", "period", "previous period", "change"],
).set_index("")

# %% [markdown]
# ## At risk now
#
# From `instance_readiness` and `restores_in_progress`: restores running past their
# expectation, failing streaks, no successful restore for a long time (or never), an old newest
# restorable backup. Highest risk first.

# %%
pd.DataFrame(
    [
        {
            "instance": fmt.name(i.readiness["instance_name"], i.instance_id),
            "id": fmt.short_id(i.instance_id),
            "why": "; ".join(i.reasons),
        }
        for i in data.at_risk
    ],
    columns=["instance", "id", "why"],
)

# %% [markdown]
# ## Volume and failure rate
#
# Bars: restores created per UTC day (failed hatched). Line: failed / finished on the right
# axis, fitted to the data. Partial days (first day of history, today) are marked.

# %% tags=["chart"]
display(SVG(charts.to_svg(charts.volume_and_failure_rate(data.days))))

# %% [markdown]
# ## Duration trend
#
# p50 and p95 of finished restores per UTC day, in minutes or hours as the data needs.

# %% tags=["chart"]
display(SVG(charts.to_svg(charts.duration_trend(data.days))))

# %% [markdown]
# ## Failures by error code
#
# Failed restores per UTC day by error code; the table gives each code's meaning from the API
# reference (`(none)`: the API reported no code).

# %% tags=["chart"]
display(SVG(charts.to_svg(charts.failures_by_code(data.code_days, [d.day for d in data.days]))))
codes = pd.DataFrame(
    [(fmt.code(c.code), c.meaning or "-", c.failures) for c in data.code_days],
    columns=["code", "meaning", "failed"],
)
codes.groupby(["code", "meaning"], as_index=False)["failed"].sum().sort_values(
    ["failed", "code"], ascending=[False, True], ignore_index=True
)

# %% [markdown]
# ## Instances
#
# Sorted by risk, then name. Restores, failed and failure rate count the period; p50/p95 and
# the last success cover all loaded history.

# %%
pd.DataFrame(
    [
        {
            "instance": fmt.name(i.readiness["instance_name"], i.instance_id),
            "id": fmt.short_id(i.instance_id),
            "restores": i.restores,
            "failed": i.failed,
            "failure rate": fmt.percent(i.failure_rate),
            "p50": fmt.duration(i.readiness["p50_duration_seconds"]),
            "p95": fmt.duration(i.readiness["p95_duration_seconds"]),
            "last success (UTC)": fmt.utc(i.readiness["last_successful_restore_at"]),
            "at risk": "; ".join(i.reasons),
        }
        for i in data.instances
    ]
)

# %% [markdown]
# ## Weekly
#
# The period's days summed per UTC week (starting Monday), oldest first.

# %%
days = pd.DataFrame(
    [(d.day, d.restores, d.finished, d.failed) for d in data.days],
    columns=["day", "restores", "finished", "failed"],
)
days["week of"] = pd.to_datetime(days["day"]).dt.to_period("W-SUN").dt.start_time.dt.date
weekly = days.groupby("week of")[["restores", "finished", "failed"]].sum().sort_index()
weekly["failure rate"] = (weekly["failed"] / weekly["finished"]).map(
    lambda r: fmt.percent(None if pd.isna(r) else r)
)
weekly
