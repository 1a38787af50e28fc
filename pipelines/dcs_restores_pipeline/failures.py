"""The last line of a failed command: the root cause, never a wrapper's line cut at a colon.

dlt wraps what goes wrong in layers (`PipelineStepFailed`, `DestinationConnectionError`) whose
first lines are generic ("Pipeline execution failed at `step=sync` with exception:", "Please
check if you configured the credentials ..."); the operator needs what is inside.
"""

from __future__ import annotations

import re
from pathlib import Path

from dcs_restores.errors import DcsRestoresError, chain, find, one_line, root

# DuckDB: IO Error: Could not set lock on file "/x.duckdb": Conflicting lock is held in
# /usr/bin/python3.11 (PID 1234) by user ann. See also https://duckdb.org/...
_DUCKDB_LOCK = re.compile(
    r'Could not set lock on file "(?P<path>[^"]+)": Conflicting lock is held in '
    r"(?P<program>.*?) \(PID (?P<pid>\d+)\)"
)
_LOCK_ADVICE = "close it (a notebook kernel, the DuckDB CLI) and run again"


def locked_database(exc: BaseException) -> str | None:
    """The line for a DuckDB file another process holds, if that is what `exc` says; else None."""
    for each in chain(exc):
        found = _DUCKDB_LOCK.search(str(each))
        if found:
            program = Path(found["program"].strip()).name or "unknown program"
            return (
                f"database {found['path']} is locked by process {found['pid']} ({program}): "
                f"{_LOCK_ADVICE}"
            )
    return None


def destination_problem(exc: BaseException) -> str | None:
    """One line for a database that cannot be reached or opened; None for other failures."""
    from dlt.destinations.exceptions import DestinationConnectionError

    if (line := locked_database(exc)) is not None:
        return line
    failed = find(exc, DestinationConnectionError)
    if failed is not None:
        cause = root(failed)
        text = one_line(cause) if cause is not failed else _after_reason(str(failed))
        return f"cannot connect to the database: {text}"
    for each in chain(exc):
        # PostgreSQL refused or unreachable: psycopg2 raises it unwrapped from dlt's client
        if type(each).__name__ == "OperationalError" and "psycopg" in type(each).__module__:
            return f"cannot connect to the database: {one_line(each)}"
    return None


def _after_reason(text: str) -> str:
    # dlt's message ends with "The actual reason given is: <driver's message>"
    _, marker, reason = text.partition("The actual reason given is:")
    return (reason if marker else text).strip().splitlines()[0][:500] if text.strip() else text


def cause_line(exc: BaseException) -> str:
    """One line naming the root cause of `exc`: the source's own error if there is one, else
    the innermost wrapped exception, else the first line of `exc` that says more than a label."""
    from dlt.pipeline.exceptions import PipelineStepFailed

    own = find(exc, DcsRestoresError)
    if own is not None:
        return one_line(own)
    line = one_line(exc)
    inner = root(exc)
    if inner is exc and not line.rstrip().endswith(":"):
        return line
    if inner is not exc:
        step = find(exc, PipelineStepFailed)
        where = f"the {step.step} step failed: " if step is not None else ""
        return f"{where}{type(inner).__name__}: {one_line(inner)}"
    # no wrapped exception: the rest of a message whose first line is only a label
    rest = [part.strip() for part in str(exc).splitlines()[1:] if part.strip()]
    return f"{line} {rest[0]}"[:500] if rest else line


def broken_pipe(exc: BaseException) -> bool:
    """True when the reader of our output went away (`dcs-restores report | head`)."""
    return any(isinstance(each, BrokenPipeError) for each in chain(exc))


class NothingLoaded(DcsRestoresError):
    """The database holds no loaded restores yet (a first run failed before loading)."""


def nothing_loaded(database: Path) -> None:
    """Raise NothingLoaded when `database` has no table dcs.restores (only DuckDB files).

    A first run that failed leaves a file without the schema: `models` cannot help then, and
    the report must not send the user there.
    """
    import duckdb

    from dcs_restores_pipeline.config import DATASET_NAME

    with duckdb.connect(str(database), read_only=True) as con:
        found = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = 'restores'",
            [DATASET_NAME],
        ).fetchone()
    if not found or not found[0]:
        raise NothingLoaded(
            f"no restores loaded in {database} yet (no table {DATASET_NAME}.restores): "
            "run `dcs-restores run` first"
        )
