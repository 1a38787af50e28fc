"""Ground truth and cursors: what the database and the pipeline state must hold after a run."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from dcs_restores.records import parse_timestamp
from dcs_restores_pipeline.config import PIPELINE_NAME
from dcs_simulator import DcsSimulator, World
from dlt.common.versioned_state import decompress_state, json_decode_state

from tests.conftest import Runner, expected_restores

OPEN = ("waiting", "restoring")


def truth_for(world: World, now: datetime, instance_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The ground truth of `instance_ids` only."""
    wanted = set(instance_ids)
    return [row for row in expected_restores(world, now) if row["instance_id"] in wanted]


def local_state(runner: Runner) -> dict[str, Any]:
    """The pipeline's local state (state.json in its working dir)."""
    path = runner.working_dir / "state.json"
    return json_decode_state(path.read_text(encoding="utf-8"))


def destination_state(runner: Runner) -> dict[str, Any] | None:
    """The newest state the destination holds from a completed load (what dlt restores)."""
    rows = runner.query(
        "select s.state from dcs._dlt_pipeline_state s join dcs._dlt_loads l "
        "on l.load_id = s._dlt_load_id where l.status = 0 order by s._dlt_load_id desc limit 1"
    )
    return decompress_state(rows[0][0]) if rows else None


def cursors(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The per-instance cursors of resource `restores` in a pipeline state."""
    resources = state.get("sources", {}).get(PIPELINE_NAME, {}).get("resources", {})
    return dict(resources.get("restores", {}).get("cursors", {}))


def assert_cursors_consistent(runner: Runner) -> None:
    """Each cursor matches the rows it stands for, and the destination holds the same ones.

    The newest created_at of an instance's rows is its cursor, and its oldest still open
    restore is the cursor's `oldest_open`: the next run neither skips nor misses anything.
    """
    local = cursors(local_state(runner))
    remote = destination_state(runner)
    assert remote is not None and cursors(remote) == local
    rows = runner.restores()
    for instance_id in {row["instance_id"] for row in rows}:
        mine = [row for row in rows if row["instance_id"] == instance_id]
        cursor = local[instance_id]
        assert parse_timestamp(cursor["max_created_at"]) == max(r["created_at"] for r in mine)
        open_times = [r["created_at"] for r in mine if r["status"] in OPEN]
        expected_open = min(open_times) if open_times else None
        assert parse_timestamp(cursor["oldest_open"]) == expected_open


def assert_partial_load_exact(runner: Runner, simulator: DcsSimulator) -> None:
    """After a failed run: every loaded row is exactly the API's, and every instance whose
    cursor moved (read to the end) has all its rows."""
    truth = {row["restore_id"]: row for row in expected_restores(simulator.world, simulator.now)}
    rows = runner.restores()
    assert all(row == truth[row["restore_id"]] for row in rows)
    done = cursors(local_state(runner))
    for instance_id in done:
        mine = [row for row in rows if row["instance_id"] == instance_id]
        assert mine == [row for row in truth.values() if row["instance_id"] == instance_id]


def assert_matches_truth(runner: Runner, simulator: DcsSimulator) -> None:
    """Tables `restores` and `instances` hold exactly what the API holds now; cursors agree."""
    world, now = simulator.world, simulator.now
    assert runner.restores() == expected_restores(world, now)
    (total, distinct), *_ = runner.query(
        "select count(*), count(distinct restore_id) from dcs.restores"
    )
    assert total == distinct
    listed = sorted(item["instance_id"] for item in world.instances_at(now))
    assert [r[0] for r in runner.query("select instance_id from dcs.instances order by 1")] == (
        listed
    )
    assert_cursors_consistent(runner)
