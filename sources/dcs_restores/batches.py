"""Rows of table `restores` gathered into Arrow tables, which dlt writes straight to parquet.

dlt normalises dict rows one by one (~30 µs a row: half of a 10,000-row run's normalize
step); an Arrow table with the table's own columns is imported as a file instead. Only rows
whose fields are all known columns go this way: a row with a field the API added later keeps
the dict path, so that dlt infers its new column exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import dlt
from dlt.common.normalizers.utils import generate_dlt_ids

# dlt's own columns, as its dict normaliser adds them: the table keeps one shape either way
LOAD_ID_COLUMN = "_dlt_load_id"
ROW_ID_COLUMN = "_dlt_id"
# the hints dlt gives these columns on dict rows; Arrow tables must not drop them
DLT_COLUMNS: dict[str, dict[str, Any]] = {
    LOAD_ID_COLUMN: {"data_type": "text", "nullable": False},
    ROW_ID_COLUMN: {"data_type": "text", "nullable": False, "row_key": True, "unique": True},
}
_ARROW_TYPES = {"text": "string", "double": "float64", "bigint": "int64", "bool": "bool_"}


class ArrowBatcher:
    """Collects shaped rows and hands them out as Arrow tables of up to `batch_rows` rows."""

    def __init__(self, columns: Mapping[str, Mapping[str, Any]], batch_rows: int = 5000) -> None:
        # In a fresh process (every scheduled run) this imports pyarrow and numpy, and the
        # first conversion pulls in pandas: ~0.4 s, done here rather than at the first full
        # batch or in normalize. It must happen on the extracting thread: dlt tells items
        # apart by looking for pandas in `sys.modules`, which another thread's half-done
        # import breaks.
        from dlt.common.libs.pyarrow import pyarrow as pa  # type: ignore[attr-defined]

        pa.array([0])
        self._pa = pa
        self._batch_rows = batch_rows
        self._rows: list[dict[str, Any]] = []
        fields = [
            pa.field(name, _arrow_type(pa, column), nullable=column.get("nullable", True))
            for name, column in columns.items()
        ]
        fields += [
            pa.field(LOAD_ID_COLUMN, pa.string(), nullable=False),
            pa.field(ROW_ID_COLUMN, pa.string(), nullable=False),
        ]
        self.schema = pa.schema(fields)
        self._struct = pa.struct(fields[:-2])
        self.known = frozenset(columns)

    def fits(self, row: Mapping[str, Any]) -> bool:
        """True when every field of `row` is a known column (else it takes the dict path)."""
        return self.known.issuperset(row)

    def add(self, row: dict[str, Any]) -> Iterator[Any]:
        """Add a row that `fits`; yields a full table when `batch_rows` are waiting."""
        self._rows.append(row)
        if len(self._rows) >= self._batch_rows:
            yield self._take()

    def add_page(self, rows: list[dict[str, Any]]) -> tuple[list[Any], list[dict[str, Any]]]:
        """Add the rows of a page that `fit`; return the tables now full (at most one, of
        `batch_rows` rows or a page more) and the rows that do not fit (the dict path)."""
        known = self.known
        unusual = [row for row in rows if not known.issuperset(row)]
        self._rows.extend([row for row in rows if known.issuperset(row)] if unusual else rows)
        if len(self._rows) >= self._batch_rows:
            return [self._take()], unusual
        return [], unusual

    def flush(self) -> Iterator[Any]:
        """Yield the rows still waiting, if any, as a last table."""
        if self._rows:
            yield self._take()

    def _take(self) -> Any:
        rows, self._rows = self._rows, []
        pa = self._pa
        # one conversion of the dicts in Arrow's C++ (a missing key is a null), then its
        # columns: 2.5x less CPU than a Python list per column
        arrays = pa.array(rows, type=self._struct).flatten()
        load_id = dlt.current.load_package_state()["load_id"]
        arrays.append(pa.array([load_id] * len(rows), type=pa.string()))
        arrays.append(pa.array(generate_dlt_ids(len(rows)), type=pa.string()))
        return pa.Table.from_arrays(arrays, schema=self.schema)


def _arrow_type(pa: Any, column: Mapping[str, Any]) -> Any:
    kind = column["data_type"]
    if kind == "timestamp":
        return pa.timestamp("us", tz="UTC" if column.get("timezone", True) else None)
    return getattr(pa, _ARROW_TYPES[kind])()
