"""After the real demo, the readiness views agree with figures computed here, in Python, from the
simulator's ground truth: the rules of the README re-implemented independently of the SQL."""

from __future__ import annotations

import math
import shutil
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dcs_restores_pipeline.demo import demo_world, read_clock
from dcs_restores_pipeline.views import pin_clock_sql

FINISHED = ("succeed", "failed")


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _pct(values: list[float], p: float) -> float | None:
    """percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    s = sorted(values)
    pos = p * (len(s) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _near(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(pytest.approx(v) if isinstance(v, float) else v for v in row)


def _duration(r: dict[str, Any]) -> float | None:
    if r["status"] not in FINISHED or not r["updated_at"]:
        return None
    seconds = (_ts(r["updated_at"]) - _ts(r["created_at"])).total_seconds()
    return seconds if seconds >= 0 else None


class Truth:
    """The demo world at the moment of its one run, and its backups when the world has them."""

    def __init__(self, database: Path) -> None:
        self.now = read_clock(database).anchor
        world = demo_world(self.now)
        self.instances = {i["instance_id"]: i for i in world.instances_at(self.now)}
        self.restores = world.ground_truth(self.now, canonical=True)
        backups = (
            world.backup_truth(self.now, canonical=True) if hasattr(world, "backup_truth") else []
        )
        self.sizes = {b["backup_id"]: b.get("size") for b in backups}
        self.restorable: dict[str, list[datetime]] = defaultdict(list)
        for b in backups:
            if b["status"] == "succeed" and str(b.get("is_support_restore")).upper() == "TRUE":
                self.restorable[b["instance_id"]].append(_ts(b["created_at"]))

    def size(self, r: dict[str, Any]) -> int | None:
        size = self.sizes.get(r.get("backup_id"))
        return None if size is None else int(size)


@pytest.fixture(scope="module")
def pinned(demo_database: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    """A copy of the demo database with the views' clock at the moment of the demo's run."""
    copy = tmp_path_factory.mktemp("readiness") / "demo.duckdb"
    shutil.copy(demo_database, copy)
    truth = Truth(demo_database)
    with duckdb.connect(str(copy)) as con:
        con.execute(pin_clock_sql("dcs", truth.now))
    return copy, truth


def _query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_restore_daily_matches_ground_truth(pinned: tuple[Path, Truth]) -> None:
    database, truth = pinned
    days: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in truth.restores:
        days[_ts(r["created_at"]).date().isoformat()].append(r)
    expected = {}
    for day, rows in days.items():
        finished = [r for r in rows if r["status"] in FINISHED]
        failed = sum(r["status"] == "failed" for r in rows)
        durations = [d for r in finished if (d := _duration(r)) is not None]
        rate = failed / len(finished) if finished else None
        expected[day] = (
            len(rows),
            len(finished),
            failed,
            rate,
            _pct(durations, 0.5),
            _pct(durations, 0.95),
        )
    got = {
        r[0]: r[1:]
        for r in _query(
            database, "select cast(day as varchar), * exclude (day) from dcs.restore_daily"
        )
    }
    assert len(got) > 30
    assert got == {day: _near(row) for day, row in expected.items()}


def test_instance_readiness_matches_ground_truth(pinned: tuple[Path, Truth]) -> None:
    database, truth = pinned
    per: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in truth.restores:
        per[r["instance_id"]].append(r)
    expected = {}
    for instance_id, info in truth.instances.items():
        rows = sorted(per[instance_id], key=lambda r: (_ts(r["created_at"]), r["restore_id"]))
        wins = [r for r in rows if r["status"] == "succeed"]
        last_win = _ts(wins[-1]["created_at"]) if wins else None
        streak = 0
        for r in reversed([r for r in rows if r["status"] in FINISHED]):
            if r["status"] == "succeed":
                break
            streak += 1
        backups = truth.restorable.get(instance_id)
        newest = max(backups) if backups else None
        durations = [d for r in wins if (d := _duration(r)) is not None]
        expected[instance_id] = (
            info["name"],
            len(rows),
            _ts(rows[-1]["created_at"]) if rows else None,
            rows[-1]["status"] if rows else None,
            last_win,
            None if last_win is None else (truth.now - last_win).total_seconds() / 86400,
            streak,
            sum(r["status"] in ("waiting", "restoring") for r in rows),
            newest,
            None if newest is None else (truth.now - newest).total_seconds(),
            _pct(durations, 0.5),
            _pct(durations, 0.95),
        )
    got = {
        r[0]: r[1:]
        for r in _query(
            database,
            "select instance_id, * exclude (project_id, instance_id) from dcs.instance_readiness",
        )
    }
    # the demo has an instance whose last finished restore failed, and one never restored
    assert any(row[6] >= 1 for row in expected.values())
    assert any(row[1] == 0 for row in expected.values())
    assert got.keys() == expected.keys()
    for instance_id, row in expected.items():
        assert got[instance_id] == _near(row), instance_id


def test_restores_in_progress_match_the_expectation_rule(pinned: tuple[Path, Truth]) -> None:
    database, truth = pinned
    wins = [r for r in truth.restores if r["status"] == "succeed" and _duration(r) is not None]
    own: dict[str, list[float]] = defaultdict(list)
    for r in wins:
        own[r["instance_id"]].append(_duration(r) or 0.0)
    per_byte = [(_duration(r) or 0.0) / size for r in wins if (size := truth.size(r)) and size > 0]
    fleet_p95 = _pct([d for ds in own.values() for d in ds], 0.95)
    expected = {}
    for r in truth.restores:
        if r["status"] not in ("waiting", "restoring"):
            continue
        size = truth.size(r)
        if len(own[r["instance_id"]]) >= 3:
            guess = _pct(own[r["instance_id"]], 0.95)
        elif size and size > 0 and per_byte:
            guess = (_pct(per_byte, 0.5) or 0.0) * size
        else:
            guess = fleet_p95
        elapsed = max((truth.now - _ts(r["created_at"])).total_seconds(), 0.0)
        overdue = None if guess is None else elapsed > guess
        expected[r["restore_id"]] = (r["instance_id"], r["status"], elapsed, guess, overdue)
    got = {
        r[0]: r[1:]
        for r in _query(
            database,
            "select restore_id, instance_id, status, elapsed_seconds, expected_duration_seconds,"
            " is_overdue from dcs.restores_in_progress",
        )
    }
    assert expected, "the demo has restores running at the time of its run"
    assert got == {key: _near(row) for key, row in expected.items()}
