"""After the demo, the required views agree with the simulator's ground truth."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from dcs_restores_pipeline.demo import demo_world, read_clock


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def truth(demo_database: Path) -> list[dict]:
    clock = read_clock(demo_database)
    # the demo database holds one run, made at the time its clock keeps
    return demo_world(clock.anchor, clock.now).ground_truth(clock.now, canonical=True)


def test_restore_durations_match_ground_truth(demo_database: Path, truth: list[dict]) -> None:
    expected = {
        r["restore_id"]: (
            r["instance_id"],
            r["status"],
            (_ts(r["updated_at"]) - _ts(r["created_at"])).total_seconds(),
        )
        for r in truth
        if r["status"] in ("succeed", "failed")
    }
    with duckdb.connect(str(demo_database), read_only=True) as con:
        rows = con.execute(
            "select restore_id, instance_id, status, duration_seconds from dcs.restore_durations"
        ).fetchall()
    got = {r[0]: (r[1], r[2], r[3]) for r in rows}
    assert got.keys() == expected.keys()
    for key, (instance_id, status, seconds) in expected.items():
        assert got[key][:2] == (instance_id, status)
        assert got[key][2] == pytest.approx(seconds, abs=1e-3)


def test_restore_failure_rates_match_ground_truth(demo_database: Path, truth: list[dict]) -> None:
    finished: Counter[tuple[str, str]] = Counter()
    failed: Counter[tuple[str, str]] = Counter()
    for r in truth:
        if r["status"] not in ("succeed", "failed"):
            continue
        key = (r["instance_id"], _ts(r["created_at"]).date().isoformat())
        finished[key] += 1
        failed[key] += r["status"] == "failed"
    with duckdb.connect(str(demo_database), read_only=True) as con:
        rows = con.execute(
            "select instance_id, cast(day as varchar), finished, failed, failure_rate "
            "from dcs.restore_failure_rates"
        ).fetchall()
    got = {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}
    assert got == {
        key: (finished[key], failed[key], pytest.approx(failed[key] / finished[key]))
        for key in finished
    }
