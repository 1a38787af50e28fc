"""The digest of a shaped row (column record_hash), and the skip it decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dcs_restores.backup_records import shape_backup
from dcs_restores.columns import RESTORE_COLUMNS
from dcs_restores.fingerprint import RECORD_HASH, RowDigest, already_stored, record_hash
from dcs_restores.records import shape_instance, shape_restore

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
RAW = {
    "restore_id": "r-1",
    "status": "succeed",
    "progress": "100",
    "created_at": "2026-03-01T12:00:00.000Z",
    "updated_at": "2026-03-01T12:05:00.000Z",
}


def row(**changes: object) -> dict[str, object]:
    return shape_restore(RAW | changes, "p", "i") | {"endpoint": "https://dcs.example"}


def test_the_same_row_hashes_the_same_whatever_the_key_order() -> None:
    first, second = row(), dict(reversed(list(row().items())))
    assert list(first) != list(second)
    digest = record_hash(first)
    assert digest == record_hash(second)
    assert len(digest) == 32 and int(digest, 16) >= 0


def test_every_shaped_column_counts_and_dlt_columns_do_not() -> None:
    digest = record_hash(row())
    assert record_hash(row(status="failed")) != digest
    assert record_hash(row(progress="99.5")) != digest
    assert record_hash(row(updated_at="2026-03-01T12:06:00.000Z")) != digest
    assert record_hash(row() | {"endpoint": "https://other"}) != digest
    assert record_hash(shape_restore(RAW, "q", "i") | {"endpoint": "https://dcs.example"}) != (
        digest
    )
    assert record_hash(shape_restore(RAW, "p", "j") | {"endpoint": "https://dcs.example"}) != (
        digest
    )
    # a new API field is a new column, and a new row
    assert record_hash(row(new_field="x")) != digest
    assert record_hash(row() | {"_dlt_load_id": "1", "_dlt_id": "x", RECORD_HASH: "y"}) == digest


def test_a_missing_column_a_null_and_a_text_that_looks_like_a_time_differ() -> None:
    base = {"id": "1", "at": AT}
    assert record_hash(base) != record_hash(base | {"extra": None})
    assert record_hash(base) != record_hash({"id": "1", "at": AT.isoformat()})
    assert record_hash({"id": "1", "at": AT + timedelta(microseconds=1)}) != record_hash(base)
    assert record_hash({"n": 1}) != record_hash({"n": 1.0}) != record_hash({"n": "1"})


def test_one_instant_in_another_notation_is_the_same_row() -> None:
    # shaping turns every timestamp into UTC: an API changing its format reloads nothing
    digest = record_hash(row())
    assert record_hash(row(created_at="2026-03-01 14:00:00+02:00")) == digest
    assert record_hash(row(created_at="2026-03-01T12:00:00Z")) == digest
    assert record_hash(row(created_at="2026-03-01T12:00:01Z")) != digest


def test_backup_and_instance_rows_hash_too() -> None:
    backup = shape_backup(
        {"backup_id": "b", "status": "succeed", "size": 5, "created_at": RAW["created_at"]},
        "p",
        "i",
    )
    expired = shape_backup(
        {"backup_id": "b", "status": "expired", "size": 5, "created_at": RAW["created_at"]},
        "p",
        "i",
    )
    assert record_hash(backup) != record_hash(expired)
    instance = shape_instance({"instance_id": "i", "name": "a", "tags": [{"k": "v"}]}, "p")
    renamed = shape_instance({"instance_id": "i", "name": "b", "tags": [{"k": "v"}]}, "p")
    assert record_hash(instance) != record_hash(renamed)
    # odd text (a lone surrogate) hashes without an error
    assert record_hash({"name": "\ud800"}) != record_hash({"name": "\ud801"})


def test_already_stored_skips_the_known_row_and_stamps_the_others() -> None:
    known = {"r-1": record_hash(row())}
    same = row()
    assert already_stored(same, known, "restore_id")
    assert RECORD_HASH not in same
    changed = row(status="failed")
    assert not already_stored(changed, known, "restore_id")
    assert changed[RECORD_HASH] == record_hash(changed) != known["r-1"]
    new = row(restore_id="r-2")
    assert not already_stored(new, known, "restore_id")
    assert new[RECORD_HASH] == record_hash(new)
    # nothing known: nothing skipped
    assert not already_stored(row(), {}, "restore_id")


def test_the_fast_digest_of_a_table_agrees_with_itself_not_with_the_generic_one() -> None:
    digest = RowDigest(RESTORE_COLUMNS)
    usual = row()
    assert set(usual) | {RECORD_HASH} == set(RESTORE_COLUMNS)
    assert digest(usual) == digest(dict(reversed(list(usual.items()))))
    assert digest(usual) != record_hash(usual)
    assert digest(row(status="failed")) != digest(usual)
    assert digest(usual | {RECORD_HASH: "x", "_dlt_id": "y"}) == digest(usual)
    # a row with a field the API added (or one column fewer) takes the generic digest
    added = row(new_field="x")
    assert digest(added) == record_hash(added)
    fewer = {k: v for k, v in usual.items() if k != "endpoint"}
    assert digest(fewer) == record_hash(fewer) != digest(usual)
    known = {"r-1": digest(usual)}
    assert already_stored(row(), known, "restore_id", digest)
    assert not already_stored(row(), known, "restore_id")
