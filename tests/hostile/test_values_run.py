"""Hostile values end to end: a server rewrites some records of one instance's pages with values
no loader stores, or that would make garbage numbers. The run ends normally, the bad record is
in quarantine with its reason, values set aside are NULL and named in `invalid_fields`, every
other row equals the ground truth, and once the server behaves the next run converges."""

from __future__ import annotations

import copy
import dataclasses
import time
from datetime import timedelta
from typing import Any

import pytest
from dcs_restores.records import values_set_aside
from dcs_restores.settings import MAX_TEXT_CHARS
from dcs_simulator import World

from tests.conftest import Runner, expected_restores
from tests.hostile.conftest import Start
from tests.hostile.proxy import Answer, Exchange, json_answer, restores_page
from tests.support.truth import assert_matches_truth
from tests.support.worlds import small_world

SURROGATE = "\ud800"
NUL = "\x00"
# the look-back re-reads every record of the small world: a clean run repairs each one
LOOKBACK = timedelta(days=40)
BOUND_S = 30


def victims(world: World, now: Any, instance_id: str) -> list[dict[str, Any]]:
    """The target instance's finished records, newest first (copies of the API's)."""
    mine = [r for r in world.ground_truth(now) if r["instance_id"] == instance_id]
    finished = [r for r in mine if r["status"] in ("succeed", "failed") and r["updated_at"]]
    return sorted(finished, key=lambda r: r["created_at"], reverse=True)


def test_hostile_values_are_set_aside_and_a_clean_run_converges(
    runner: Runner, hostile: Start
) -> None:
    world = small_world(seed=7, instances=4, restores=20)
    sim, server = hostile(world)
    target = next(
        i["instance_id"]
        for i in world.instances_at(sim.now)
        if len(victims(world, sim.now, i["instance_id"])) >= 10
    )
    v = [r["restore_id"] for r in victims(world, sim.now, target)[:10]]
    truth = {r["restore_id"]: r for r in expected_restores(world, sim.now)}

    def created(rid: str) -> str:
        return str(truth[rid]["created_at"].strftime("%Y-%m-%dT%H:%M:%S"))

    # restore_id -> what the hostile server does to that record
    damage: dict[str, dict[str, Any]] = {
        v[0]: {"restore_remark": f"lone {SURROGATE} surrogate"},
        v[1]: {"backup_name": f"nul{NUL}byte"},
        v[2]: {"createdAt": "1999-01-01T00:00:00Z", "Status": "hacked"},
        v[3]: {"created_at": created(v[3]) + "+24:00"},
        v[4]: {"created_at": "0001-01-01T00:00:00Z"},
        v[5]: {"progress": "NaN"},
        # 67 hours before created_at: a duration of -241200 s
        v[6]: {"updated_at": (truth[v[6]]["created_at"] - timedelta(hours=67)).isoformat()},
        v[7]: {"size_mb": 2**70, "ratio": float("nan"), "blob": {f"k{SURROGATE}": f"v{NUL}"}},
        v[8]: {"restore_id": "bad\x07id"},
        v[9]: {"restore_remark": "x" * (MAX_TEXT_CHARS + 100)},
    }

    def rewrite(exchange: Exchange) -> Answer | None:
        if exchange.kind != "restores" or exchange.instance_id != target:
            return None
        page = restores_page(exchange)
        for item in page.get("restore_record_response") or []:
            item.update(copy.deepcopy(damage.get(item["restore_id"], {})))
        return json_answer(page)

    server.hook = rewrite
    counted = values_set_aside()
    started = time.monotonic()
    summary = runner.run(sim, endpoint=server.base_url, lookback=LOOKBACK)
    assert time.monotonic() - started < BOUND_S
    assert summary.errors == [] and summary.instances_failed == []
    assert summary.rejected == 3

    # rows: the ground truth, less the rejected records, with the values set aside
    rejected = {v[3], v[4], v[8]}
    expected = []
    for row in expected_restores(world, sim.now):
        if row["restore_id"] in rejected:
            continue
        rid = row["restore_id"]
        if rid == v[0]:
            row["restore_remark"] = "lone \ufffd surrogate"
        if rid == v[1]:
            row["backup_name"] = "nul\ufffdbyte"
        if rid == v[5]:
            row["progress"] = None
        if rid == v[6]:
            row["updated_at"] = None
        if rid == v[9]:
            row["restore_remark"] = "x" * MAX_TEXT_CHARS
        expected.append(row)
    assert runner.restores() == expected

    flags = dict(runner.query("select restore_id, invalid_fields from dcs.restores"))
    flagged = {rid for rid, text in flags.items() if text}
    assert flagged == {v[0], v[1], v[2], v[5], v[6], v[7], v[9]}
    assert "restore_remark: 1 characters that cannot be stored" in flags[v[0]]
    assert "backup_name: 1 characters that cannot be stored" in flags[v[1]]
    assert "createdAt: dropped, its column created_at is taken" in flags[v[2]]
    assert "Status: dropped, its column status is taken" in flags[v[2]]
    assert flags[v[5]] == "progress: not a finite number 'NaN'"
    assert flags[v[6]].startswith("updated_at: ") and "is before created_at" in flags[v[6]]
    assert "size_mb: integer outside 64 bits" in flags[v[7]]
    assert "ratio: not a finite number 'nan'" in flags[v[7]]
    assert "blob: 2 values inside that cannot be stored replaced" in flags[v[7]]
    assert f"restore_remark: truncated from {MAX_TEXT_CHARS + 100}" in flags[v[9]]
    assert values_set_aside() - counted == 10
    assert summary.values_set_aside == 10
    assert "values set aside: 10 (NULL, named in column invalid_fields)" in summary.text()
    (blob,) = runner.query(f"select blob from dcs.restores where restore_id = '{v[7]}'")[0]
    assert "k\ufffd" in blob and "v\ufffd" in blob

    quarantine = runner.query(
        "select restore_id, instance_id, reason, raw_record from dcs.restores_rejected"
    )
    reasons = {rid: reason for rid, _, reason, _ in quarantine}
    assert {instance for _, instance, _, _ in quarantine} == {target}
    assert "offset out of range" in reasons[v[3]]
    assert reasons[v[4]] == "created_at 0001-01-01 is not a real restore time"
    assert "not printable" in reasons[None]
    assert any("bad\\u0007id" in raw for *_, raw in quarantine)

    # no negative or infinite durations reach the views
    negative = runner.query(
        "select count(*) from dcs.restore_durations "
        "where duration_seconds < 0 or isinf(duration_seconds)"
    )
    assert negative == [(0,)]
    assert runner.query(
        f"select duration_seconds from dcs.restore_durations where restore_id = '{v[6]}'"
    ) == [(None,)]
    assert runner.query(
        "select count(*) from dcs.restore_duration_percentiles where p95_duration_seconds < 0"
    ) == [(0,)]

    # the server behaves again: the look-back re-reads every record, and all is the truth
    server.hook = None
    started = time.monotonic()
    again = runner.run(sim, endpoint=server.base_url, lookback=LOOKBACK)
    assert time.monotonic() - started < BOUND_S
    assert again.errors == [] and again.rejected == 0 and again.values_set_aside == 0
    assert_matches_truth(runner, sim)
    assert runner.query("select count(*) from dcs.restores where invalid_fields is not null") == [
        (0,)
    ]


def test_hostile_instance_listing_values_are_set_aside(runner: Runner, hostile: Start) -> None:
    world = small_world(seed=8, instances=3, restores=10)
    sim, server = hostile(world)
    target = world.instances_at(sim.now)[1]["instance_id"]

    def rewrite(exchange: Exchange) -> Answer | None:
        if exchange.kind != "instances":
            return None
        page = exchange.json()
        for item in page["instances"]:
            if item["instance_id"] == target:
                item.update(
                    name=f"cache{NUL}{SURROGATE}",
                    created_at="2024-01-01T00:00:00+24:00",
                    updated_at="9999-12-31T23:00:00-05:00",
                    max_memory=2**70,
                    InstanceId="other",
                    Name="shadow",
                    tags=[{"key": f"k{NUL}", "value": float("inf")}],
                )
        return json_answer(page)

    server.hook = rewrite
    started = time.monotonic()
    summary = runner.run(sim, endpoint=server.base_url)
    assert time.monotonic() - started < BOUND_S
    assert summary.errors == []
    assert runner.restores() == expected_restores(world, sim.now)
    rows = runner.query(
        "select instance_id, name, created_at, updated_at, max_memory, invalid_fields "
        "from dcs.instances order by instance_id"
    )
    flagged = {row[0]: row for row in rows if row[-1] is not None}
    assert set(flagged) == {target}
    _, name, created_at, updated_at, max_memory, text = flagged[target]
    assert name == "cache\ufffd\ufffd" and created_at is None and updated_at is None
    assert max_memory is None
    for part in (
        "name: 2 characters",
        "created_at: unparseable timestamp",
        "updated_at: timestamp out of range",
        "max_memory: integer outside 64 bits",
        "InstanceId: dropped, its column instance_id is taken",
        "Name: dropped, its column name is taken",
        "tags: 2 values inside",
    ):
        assert part in text

    server.hook = None
    runner.run(sim, endpoint=server.base_url)
    assert_matches_truth(runner, sim)
    assert runner.query("select count(*) from dcs.instances where invalid_fields is not null") == [
        (0,)
    ]


def test_a_database_from_before_invalid_fields_goes_on_loading(
    runner: Runner, hostile: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dcs_restores.extract as extract
    import dcs_restores.source as source

    world = small_world(seed=10, instances=3, restores=10)
    sim, server = hostile(world)
    # the previous version: no invalid_fields column, no such key in the rows
    with monkeypatch.context() as patch:
        columns = {k: v for k, v in source.RESTORE_COLUMNS.items() if k != "invalid_fields"}
        shape = extract.shape_restore
        # the table's hints (the source) and the Arrow batches and rows (the extract)
        patch.setattr(source, "RESTORE_COLUMNS", columns)
        patch.setattr(
            extract,
            "RESTORES",
            dataclasses.replace(
                extract.RESTORES,
                columns=columns,
                shape=lambda *args: {
                    k: v for k, v in shape(*args).items() if k != "invalid_fields"
                },
            ),
        )
        runner.run(sim, endpoint=server.base_url)
    assert "invalid_fields" not in {
        name
        for (name,) in runner.query(
            "select column_name from information_schema.columns where table_name = 'restores'"
        )
    }
    victim = expected_restores(world, sim.now)[0]["restore_id"]

    def rewrite(exchange: Exchange) -> Answer | None:
        if exchange.kind != "restores":
            return None
        page = restores_page(exchange)
        for item in page.get("restore_record_response") or []:
            if item["restore_id"] == victim:
                item["progress"] = "NaN"
        return json_answer(page)

    server.hook = rewrite
    summary = runner.run(sim, endpoint=server.base_url, lookback=LOOKBACK)
    assert summary.errors == []
    assert runner.query(
        "select restore_id, invalid_fields from dcs.restores where invalid_fields is not null"
    ) == [(victim, "progress: not a finite number 'NaN'")]
    server.hook = None
    runner.run(sim, endpoint=server.base_url, lookback=LOOKBACK)
    assert_matches_truth(runner, sim)
