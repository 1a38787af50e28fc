"""Hostile values in API records: shaping is total, and every value it lets through can be
stored by parquet/Arrow, DuckDB and PostgreSQL; what cannot is set aside and named in
`invalid_fields`, or (for what identifies or places a restore) the record is rejected."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dcs_restores import RESTORE_COLUMNS, records, values
from dcs_restores.batches import DLT_COLUMNS, ArrowBatcher
from dcs_restores.records import (
    RESTORE_OWN_FIELDS,
    RecordError,
    Rejected,
    rejected_row,
    shape_instance,
    shape_restore,
    values_set_aside,
)
from dcs_restores.settings import (
    MAX_JSON_DEPTH,
    MAX_RESTORE_ID_CHARS,
    MAX_TEXT_CHARS,
    MAX_UNKNOWN_FIELDS,
    RESTORE_TEXT_FIELDS,
)
from dcs_restores.values import INT64_MAX, INT64_MIN

CREATED = "2025-03-01T10:00:00.000Z"
CREATED_AT = datetime(2025, 3, 1, 10, tzinfo=UTC)
SURROGATE = "\ud800"
NUL = "\x00"


@pytest.fixture(autouse=True)
def _own_column_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # the budget of new column names is per process: these tests invent hundreds of names,
    # which must not use up the budget of the tests that run after them
    monkeypatch.setattr(values, "_new_columns", values._NewColumns())


def record(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "restore_id": "r-1",
        "backup_id": "b-1",
        "backup_name": "backup_20250301",
        "restore_name": "restore_20250301",
        "restore_remark": "Prüfung ✓",
        "backup_remark": {},
        "status": "succeed",
        "error_code": {},
        "progress": "100.00",
        "created_at": CREATED,
        "updated_at": "2025-03-01T10:05:00.000Z",
    }
    base.update(changes)
    return base


def shape(**changes: Any) -> dict[str, Any]:
    return shape_restore(record(**changes), "p", "i")


def assert_storable(value: Any, depth: int = 0) -> None:
    """What parquet (UTF-8, int64, finite doubles), DuckDB and PostgreSQL all accept."""
    assert depth <= MAX_JSON_DEPTH + 1
    if isinstance(value, str):
        value.encode("utf-8")  # no lone surrogates
        assert NUL not in value and len(value) <= MAX_TEXT_CHARS
    elif isinstance(value, bool) or value is None or isinstance(value, datetime):
        pass
    elif isinstance(value, int):
        assert INT64_MIN <= value <= INT64_MAX
    elif isinstance(value, float):
        assert math.isfinite(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            assert_storable(key, depth + 1)
            assert_storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            assert_storable(item, depth + 1)
    else:
        raise AssertionError(f"unexpected {type(value).__name__}")


def flags(row: dict[str, Any]) -> str:
    text = row["invalid_fields"]
    assert isinstance(text, str) and text
    return text


def deep(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"k": value}
    return value


HOSTILE: list[Any] = [
    SURROGATE,
    f"a{SURROGATE}b\udfff",
    NUL,
    f"nul{NUL}byte",
    "x" * (MAX_TEXT_CHARS + 1),
    "é" * (MAX_TEXT_CHARS + 10) + SURROGATE,
    float("nan"),
    float("inf"),
    -float("inf"),
    2**64,
    -(2**63) - 1,
    10**400,
    True,
    "",
    "   ",
    {},
    [],
    {"k": NUL},
    [SURROGATE, float("nan"), 2**70],
    deep(MAX_JSON_DEPTH + 5),
    "2024-01-01T00:00:00+24:00",
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:00:00Z",
    "NaN",
    -5,
    250,
]


# --- 1. totality -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:30])
@pytest.mark.parametrize(
    "field", [*sorted(RESTORE_OWN_FIELDS - {"invalid_fields"}), "new_field", "createdAt"]
)
def test_shape_restore_gives_a_storable_row_or_a_record_error(field: str, value: Any) -> None:
    try:
        row = shape(**{field: value})
    except RecordError as exc:
        assert type(exc) is RecordError and str(exc)
        str(exc).encode("utf-8")
        return
    for key, item in row.items():
        assert_storable(key)
        assert_storable(item)
    assert row["restore_id"] and isinstance(row["created_at"], datetime)


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:30])
@pytest.mark.parametrize("field", ["name", "created_at", "updated_at", "tags", "Instance_Id"])
def test_shape_instance_never_raises_and_gives_a_storable_row(field: str, value: Any) -> None:
    raw = {"instance_id": "inst-1", "name": "cache", "created_at": "2024-06-09T07:12:33.000Z"}
    row = shape_instance(raw | {field: value}, "p")
    assert row["instance_id"] == "inst-1" and row["project_id"] == "p"
    for key, item in row.items():
        assert_storable(key)
        assert_storable(item)


def test_a_clean_instance_row_has_no_flag_column() -> None:
    # table `instances` has no hint for it: an all-NULL column would make dlt warn
    row = shape_instance({"instance_id": "i", "name": "n", "created_at": CREATED}, "p")
    assert row == {"instance_id": "i", "project_id": "p", "name": "n", "created_at": CREATED_AT,
                   "updated_at": None}  # fmt: skip


@pytest.mark.parametrize("raw", [None, "oops", [1, 2], 7, {"instance_id": SURROGATE}])
def test_shape_instance_takes_what_is_not_an_instance(raw: Any) -> None:
    row = shape_instance(raw, "p")
    assert row["project_id"] == "p"
    assert_storable(row["instance_id"])
    if not isinstance(raw, dict):
        assert "expected an object" in flags(row)


def test_a_surprise_while_shaping_becomes_a_record_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(records, "_progress", broken)
    with pytest.raises(RecordError, match="record cannot be shaped: KeyError"):
        shape()
    monkeypatch.setattr(records, "parse_timestamp", broken)
    row = shape_instance({"instance_id": "i-1", "created_at": CREATED}, "p")
    assert row["instance_id"] == "i-1" and "cannot be shaped: KeyError" in flags(row)


# --- 2. implausible times --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created_at", "reason"),
    [
        ("0001-01-01T00:00:00Z", "created_at 0001-01-01 is not a real restore time"),
        ("1970-01-01T00:00:00.000Z", "created_at 1970-01-01 is not a real restore time"),
        ("1999-12-31T23:59:59Z", "created_at 1999-12-31 is not a real restore time"),
        ("2000-01-01T00:30:00+01:00", "created_at 1999-12-31 is not a real restore time"),
        ("9999-12-31T23:59:59Z", "created_at 9999-12-31 is far in the future"),
        ("2999-01-01 00:00:00", "created_at 2999-01-01 is far in the future"),
        ("2024-01-01T00:00:00+24:00", "offset out of range"),
        ("9999-12-31T23:00:00-05:00", "timestamp out of range"),
    ],
)
def test_implausible_created_at_rejects_the_record(created_at: str, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        shape(created_at=created_at)


def test_created_at_from_2000_on_is_a_restore_time() -> None:
    assert shape(created_at="2000-01-01T00:00:00Z", updated_at=None)["created_at"] == datetime(
        2000, 1, 1, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("updated_at", "reason"),
    [
        ("2025-03-01T09:59:59.999Z", "updated_at: 2025-03-01T09:59:59.999000+00:00 is before"),
        ("2025-02-26T15:00:00Z", "is before created_at"),  # -241200 s
        ("1970-01-01T00:00:00Z", "is before created_at"),
        ("0001-01-01T00:00:00Z", "is before created_at"),
        ("9999-12-31T23:59:59Z", "updated_at: 9999-12-31 is far in the future"),
        ("garbage", "updated_at: unparseable timestamp 'garbage'"),
        ("2025-03-01T11:00:00+24:00", "updated_at: unparseable timestamp"),
        ("0001-01-01T00:00:00+05:00", "updated_at: timestamp out of range"),
        (12345, "updated_at: expected a timestamp string, got int"),
    ],
)
def test_implausible_updated_at_is_set_aside(updated_at: Any, reason: str) -> None:
    row = shape(updated_at=updated_at)
    assert row["updated_at"] is None and row["created_at"] == CREATED_AT
    assert reason in flags(row)


def test_updated_at_equal_to_created_at_is_kept() -> None:
    row = shape(updated_at=CREATED)
    assert row["updated_at"] == CREATED_AT and row["invalid_fields"] is None


# --- 3 and 4. progress and numbers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("progress", "reason"),
    [
        ("NaN", "progress: not a finite number 'NaN'"),
        ("nan", "not a finite number"),
        ("inf", "not a finite number"),
        ("-Infinity", "not a finite number"),
        (float("nan"), "not a finite number"),
        (10**400, "not a finite number"),
        (-5, "progress: outside 0..100 '-5'"),
        (250, "outside 0..100"),
        ("100.5%", "outside 0..100"),
        (-0.1, "outside 0..100"),
        ("abc", "progress: not a number 'abc'"),
    ],
)
def test_progress_that_is_no_percentage_is_set_aside(progress: Any, reason: str) -> None:
    row = shape(progress=progress)
    assert row["progress"] is None
    assert reason in flags(row)


@pytest.mark.parametrize(
    ("progress", "expected"),
    [("", None), ("  ", None), (None, None), ({}, None), ("50%", 50.0), (0, 0.0), ("100", 100.0)],
)
def test_progress_kept_or_null_without_a_flag(progress: Any, expected: float | None) -> None:
    row = shape(progress=progress)
    assert row["progress"] == expected and row["invalid_fields"] is None


@pytest.mark.parametrize(
    ("value", "kept", "reason"),
    [
        (2**63 - 1, 2**63 - 1, None),
        (-(2**63), -(2**63), None),
        (2**63, None, "integer outside 64 bits"),
        (-(2**63) - 1, None, "integer outside 64 bits"),
        (10**30, None, "integer outside 64 bits"),
        (float("nan"), None, "not a finite number"),
        (float("inf"), None, "not a finite number"),
        (-float("inf"), None, "not a finite number"),
        (1.5, 1.5, None),
        (True, True, None),
    ],
)
def test_numbers_of_unknown_fields(value: Any, kept: Any, reason: str | None) -> None:
    row = shape(data_size_mb=value)
    assert row.get("data_size_mb") == kept
    if reason:
        assert f"data_size_mb: {reason}" in flags(row)
    else:
        assert row["invalid_fields"] is None


def test_json_of_unknown_fields_is_cleaned_or_set_aside() -> None:
    row = shape(
        details={"size": 2**70, f"k{SURROGATE}": [float("nan"), f"v{NUL}", 1, "ok"]},
        too_deep=deep(MAX_JSON_DEPTH + 1),
        just_deep=deep(MAX_JSON_DEPTH - 1),
        too_many=list(range(20_000)),
    )
    assert row["details"] == {"size": None, "k\ufffd": [None, "v\ufffd", 1, "ok"]}
    assert "too_deep" not in row and "too_many" not in row
    assert row["just_deep"] == deep(MAX_JSON_DEPTH - 1)
    text = flags(row)
    assert "details: 4 values inside that cannot be stored replaced" in text
    assert f"too_deep: nested deeper than {MAX_JSON_DEPTH} levels" in text
    assert "too_many: more than 10000 values inside" in text
    json.dumps(row["details"], allow_nan=False).encode("utf-8")


# --- 5. strings ------------------------------------------------------------------------------


@pytest.mark.parametrize("field", [*RESTORE_TEXT_FIELDS, "new_field"])
@pytest.mark.parametrize(
    ("value", "stored", "reason"),
    [
        (f"lone {SURROGATE} surrogate", "lone \ufffd surrogate", "1 characters that cannot"),
        (f"a\udfff{SURROGATE}b", "a\ufffd\ufffdb", "2 characters that cannot"),
        (f"nul{NUL}byte", "nul\ufffdbyte", "1 characters that cannot"),
        (f"é{NUL}", "é\ufffd", "1 characters that cannot"),
        ("y" * 70_000, "y" * MAX_TEXT_CHARS, f"truncated from 70000 to {MAX_TEXT_CHARS}"),
        ("東" * 70_000, "東" * MAX_TEXT_CHARS, "truncated from 70000"),
    ],
    ids=["surrogate", "two-surrogates", "nul", "non-ascii-nul", "long-ascii", "long-cjk"],
)
def test_strings_no_loader_stores_are_repaired_and_flagged(
    field: str, value: str, stored: str, reason: str
) -> None:
    row = shape(**{field: value})
    expected = stored.lower() if field == "status" else stored
    assert row[field] == expected
    assert f"{field}: {reason}" in flags(row)


@pytest.mark.parametrize("value", ["Prüfung ✓", "東京 backup", "emoji 🎉", "tab\there", "a" * 1000])
def test_ordinary_strings_pass_unchanged(value: str) -> None:
    row = shape(restore_remark=value, new_field=value)
    assert row["restore_remark"] == value.strip() and row["new_field"] == value
    assert row["invalid_fields"] is None


# --- 6. shape collisions and bounds ----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "column"),
    [
        ("createdAt", "created_at"),
        ("CREATED_AT", "created_at"),
        ("Created-At", "created_at"),
        ("Status", "status"),
        ("restoreId", "restore_id"),
        ("UpdatedAt", "updated_at"),
        ("invalidFields", "invalid_fields"),
        ("Endpoint", "endpoint"),
        ("instanceId", "instance_id"),
    ],
)
def test_an_unknown_field_cannot_take_a_known_column(key: str, column: str) -> None:
    row = shape(**{key: "1970-01-01T00:00:00Z"})
    clean = shape()
    assert {k: v for k, v in row.items() if k != "invalid_fields"} == {
        k: v for k, v in clean.items() if k != "invalid_fields"
    }
    assert f"{key}: dropped, its column {column} is taken" in flags(row)


@pytest.mark.parametrize("key", ["_dlt_id", "_dlt_load_id", "_DLT_ID", "", "   "])
def test_fields_that_name_no_column_or_dlt_s_are_dropped(key: str) -> None:
    row = shape(**{key: "x"})
    assert set(row) == set(shape()) and "cannot be a column" in flags(row)


def test_two_unknown_fields_with_one_column_name_keep_the_first() -> None:
    row = shape(fooBar=1, foo_bar=2, FOO_BAR=3)
    assert row["foo_bar"] == 1
    assert "foo_bar: dropped, its column foo_bar is taken" in flags(row)
    assert "FOO_BAR: dropped" in flags(row)


def test_unknown_fields_are_bounded_in_number_and_name_length() -> None:
    many = {f"field_{n:02d}": n for n in range(MAX_UNKNOWN_FIELDS + 8)}
    row = shape(**many)
    kept = [k for k in row if k.startswith("field_")]
    assert kept == [f"field_{n:02d}" for n in range(MAX_UNKNOWN_FIELDS)]
    assert f"8 fields over the limit of {MAX_UNKNOWN_FIELDS} dropped: field_32" in flags(row)

    row = shape(**{"n" * 64: 1, "m" * 65: 2})
    assert row["n" * 64] == 1 and "m" * 65 not in row
    assert "field name longer than 64 characters" in flags(row)


def test_a_record_with_very_many_fields_is_shaped() -> None:
    row = shape(**{f"f{n}": n for n in range(100_000)})
    assert sum(k.startswith("f") for k in row) == MAX_UNKNOWN_FIELDS
    assert f"99968 fields over the limit of {MAX_UNKNOWN_FIELDS} dropped: f32, f33, f34, ..." in (
        flags(row)
    )


def test_new_columns_are_bounded_across_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(values, "MAX_NEW_COLUMNS", 3)
    rows = [shape(restore_id=f"r-{n}", **{f"new_{n}": n, "steady": n}) for n in range(5)]
    assert [row.get(f"new_{n}") for n, row in enumerate(rows)] == [0, 1, None, None, None]
    assert [row["steady"] for row in rows] == [0, 1, 2, 3, 4]
    assert "new_2: dropped, more than 3 new columns" in flags(rows[2])
    # the other table has its own budget
    assert shape_instance({"instance_id": "i", "new_4": 1}, "p")["new_4"] == 1


def test_unknown_field_names_are_stored_as_column_names() -> None:
    row = shape(restoreType="full", **{f"size{SURROGATE}Mb": 5})
    assert row["restore_type"] == "full" and row["size_mb"] == 5
    assert row["invalid_fields"] is None


# --- 8. restore_id ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("restore_id", "reason"),
    [
        ("r" * (MAX_RESTORE_ID_CHARS + 1), "restore_id is 129 characters long, more than 128"),
        ("r" * 100_000, "more than 128"),
        (f"id{NUL}", "not printable"),
        ("id\n2", "not printable"),
        ("id\x1b[31m", "not printable"),
        (f"{SURROGATE}id", "not printable"),
        ("id\u2028x", "not printable"),
        ("\x7f", "not printable"),
        ([], "record has no restore_id"),
        (["r"], "field restore_id has type list"),
        (True, "field restore_id has type bool"),
    ],
)
def test_restore_id_must_be_bounded_and_printable(restore_id: Any, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        shape(restore_id=restore_id)


@pytest.mark.parametrize("restore_id", ["r" * MAX_RESTORE_ID_CHARS, "Ünïcode-id", 42])
def test_restore_ids_that_are_fine(restore_id: Any) -> None:
    assert shape(restore_id=restore_id)["restore_id"] == str(restore_id)


# --- the flag, the count, quarantine, the Arrow path -----------------------------------------


def test_invalid_fields_names_every_value_set_aside_and_they_are_counted() -> None:
    before = values_set_aside()
    row = shape(
        progress="NaN", updated_at="2025-02-26T15:00:00Z", restore_remark=f"a{NUL}", createdAt=1
    )
    assert row["invalid_fields"] == (
        "createdAt: dropped, its column created_at is taken; "
        "restore_remark: 1 characters that cannot be stored (NUL, lone surrogate) replaced; "
        "updated_at: 2025-02-26T15:00:00+00:00 is before created_at; "
        "progress: not a finite number 'NaN'"
    )
    assert values_set_aside() - before == 4
    shape()
    assert values_set_aside() - before == 4


def test_invalid_fields_is_bounded() -> None:
    names = [f"{'f' * 60}{n:02d}{SURROGATE}" for n in range(MAX_UNKNOWN_FIELDS)]
    row = shape(**{name: NUL for name in names})
    text = flags(row)
    assert len(text) <= 4096 and text.endswith("(32 in all)")


@pytest.mark.parametrize(
    "raw",
    [
        {"restore_id": f"r{SURROGATE}", "created_at": f"{NUL}", "x": float("nan")},
        {"restore_id": "r" * 1000, "n": 2**80, f"k{SURROGATE}": [1, {"a": NUL}]},
        {"restore_id": 5, 7: "int key"},
        deep(5000),
        [SURROGATE, NUL],
        "x" * 2_000_000,
    ],
    ids=["surrogate-id", "long-id", "int-keys", "too-deep", "list", "huge"],
)
def test_quarantine_rows_are_storable(raw: Any) -> None:
    row = rejected_row(Rejected(f"bad {SURROGATE}{NUL}", raw), "p", f"i{SURROGATE}")
    for value in row.values():
        if isinstance(value, str):
            value.encode("utf-8")
            assert NUL not in value and len(value) <= 1_048_576
    assert row["restore_id"] in (None, "5")
    assert row["reason"] == "bad \ufffd\ufffd"


def test_flagged_rows_take_the_arrow_path_with_their_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    import dlt

    monkeypatch.setattr(dlt.current, "load_package_state", lambda: {"load_id": "1.1"})
    rows = [
        shape(restore_id="r-1", restore_remark=f"lone {SURROGATE}", progress="NaN"),
        shape(restore_id="r-2", backup_name=f"a{NUL}b", updated_at="2025-02-26T15:00:00Z"),
        shape(restore_id="r-3"),
    ]
    batcher = ArrowBatcher(RESTORE_COLUMNS)
    assert all(batcher.fits(row) for row in rows)
    tables = [t for row in rows for t in batcher.add(row)] + list(batcher.flush())
    (table,) = tables
    assert table.column_names == [*RESTORE_COLUMNS, *DLT_COLUMNS]
    flags_column = table.column("invalid_fields").to_pylist()
    assert "progress: not a finite number" in flags_column[0]
    assert "updated_at:" in flags_column[1] and flags_column[2] is None
    assert table.column("restore_remark").to_pylist()[0] == "lone \ufffd"
    assert table.column("progress").to_pylist()[0] is None


def test_updated_at_set_aside_keeps_the_cursor_on_created_at() -> None:
    row = shape(updated_at="2000-01-01T00:00:00Z", status="restoring")
    assert row["created_at"] == CREATED_AT and row["status"] == "restoring"
    assert row["created_at"] < datetime.now(UTC) + timedelta(days=1)
