"""Shaping of raw restore records: timestamps, numbers, nulls, rejects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dcs_restores.records import RecordError, parse_timestamp, shape_restore

UTC_TS = datetime(2017, 7, 18, 21, 41, 20, 721000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2017-07-18T21:41:20.721Z", UTC_TS),
        ("2017-07-18T21:41:20Z", UTC_TS.replace(microsecond=0)),
        ("2017-07-18T23:41:20.721+02:00", UTC_TS),
        ("2017-07-18T16:41:20.721-0500", UTC_TS),
        ("2017-07-18 21:41:20", UTC_TS.replace(microsecond=0)),
        ("2017-07-18T21:41:20.721", UTC_TS),
        ("2017-07-18T21:41:20,721Z", UTC_TS),
        ("2017-07-18T21:41:20.721000Z", UTC_TS),
        ({}, None),
        ("", None),
        (None, None),
    ],
    ids=[
        "millis-z",
        "no-millis",
        "offset",
        "offset-no-colon",
        "space-form",
        "naive",
        "comma-fraction",
        "micros-z",
        "braces",
        "empty",
        "null",
    ],
)
def test_parse_timestamp(value: object, expected: datetime | None) -> None:
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "not-a-date",
        "2017-13-40T00:00:00Z",
        12345,
        # the usual shape, with an impossible field or a stray character
        "2017-02-30T21:41:20.721Z",
        "2017-07-18T24:41:20.721Z",
        "2017-07-18T21:41:2x.721Z",
        "2017-07-18T21:41:20.72xZ",
    ],
)
def test_parse_timestamp_rejects(value: object) -> None:
    with pytest.raises(RecordError):
        parse_timestamp(value)


@pytest.mark.parametrize(
    "value",
    [
        # offsets of a day or more: timezone() refuses them
        "2024-01-01T00:00:00+24:00",
        "2024-01-01T00:00:00-24:00",
        "2024-01-01T00:00:00+9999",
        "2024-01-01T00:00:00+23:60",
        # years that leave 1..9999 once moved to UTC
        "9999-12-31T23:00:00-05:00",
        "0001-01-01T00:00:00+05:00",
        "0000-01-01T00:00:00Z",
        "0000-01-01T00:00:00.000Z",
        # digits that are not ASCII, characters no loader stores
        "\u0662\u0660\u0662\u0664-01-01T00:00:00Z",
        "2024-01-01T00:00:00\x00Z",
        "2024-01-01T00:00:00\ud800",
        "2024-01-01T00:00:00.1234567890Z",
        # types
        10**30,
        1.5,
        float("nan"),
        True,
        ["2024-01-01T00:00:00Z"],
        {"at": "2024-01-01T00:00:00Z"},
    ],
)
def test_parse_timestamp_raises_only_record_error(value: object) -> None:
    # not ValueError or OverflowError from datetime: a caller catching RecordError is safe
    with pytest.raises(RecordError) as caught:
        parse_timestamp(value)
    assert type(caught.value) is RecordError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9999-12-31T23:00:00+05:00", datetime(9999, 12, 31, 18, tzinfo=UTC)),
        ("0001-01-01T10:00:00+05:00", datetime(1, 1, 1, 5, tzinfo=UTC)),
        ("2024-01-01T00:00:00+23:59", datetime(2023, 12, 31, 0, 1, tzinfo=UTC)),
        ("2024-01-01T00:00:00-23:59", datetime(2024, 1, 1, 23, 59, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_edges_that_fit(value: str, expected: datetime) -> None:
    assert parse_timestamp(value) == expected


def doc_record(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "backup_id": "f4823e9e-fe9b-4ffd-be79-4e5d6de272bb",
        "restore_id": "a6155972-800c-4170-a479-3231e907d2f6",
        "backup_name": "backup_20170718000002",
        "updated_at": "2017-07-18T21:41:35.182Z",
        "restore_remark": "doctest",
        "created_at": "2017-07-18T21:41:20.721Z",
        "progress": "100.00",
        "error_code": {},
        "restore_name": "restore_20170718214120",
        "backup_remark": {},
        "status": "succeed",
    }
    record.update(changes)
    return record


def test_shape_restore_doc_example() -> None:
    row = shape_restore(doc_record(), "p" * 32, "i-1")
    assert row == {
        "backup_id": "f4823e9e-fe9b-4ffd-be79-4e5d6de272bb",
        "restore_id": "a6155972-800c-4170-a479-3231e907d2f6",
        "backup_name": "backup_20170718000002",
        "updated_at": datetime(2017, 7, 18, 21, 41, 35, 182000, tzinfo=UTC),
        "restore_remark": "doctest",
        "created_at": UTC_TS,
        "progress": 100.0,
        "error_code": None,
        "restore_name": "restore_20170718214120",
        "backup_remark": None,
        "status": "succeed",
        "project_id": "p" * 32,
        "instance_id": "i-1",
        "invalid_fields": None,
    }


def test_shape_restore_keeps_unknown_fields_and_nulls_empty_values() -> None:
    row = shape_restore(doc_record(new_field="x", restore_remark="", error_code=None), "p", "i")
    assert row["new_field"] == "x"
    assert row["restore_remark"] is None
    assert row["error_code"] is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"restore_id": None}, "no restore_id"),
        ({"restore_id": ""}, "no restore_id"),
        ({"created_at": "not-a-date"}, "unparseable timestamp"),
        ({"created_at": {}}, "no created_at"),
        ({"progress": ["x"]}, "field progress has type list"),
        ({"status": ["x"]}, "field status has type list"),
    ],
)
def test_shape_restore_rejects(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        shape_restore(doc_record(**changes), "p", "i")


def test_shape_restore_rejects_non_object() -> None:
    with pytest.raises(RecordError, match="expected an object"):
        shape_restore("oops", "p", "i")
