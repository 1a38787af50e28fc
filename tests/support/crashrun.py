"""Test-only: the `dcs-restores` command, SIGKILLed by itself at a chosen point of a run.

Usage: `python -m tests.support.crashrun run --quiet` with `DCS_TEST_CRASH_AT` set to

- `request:N`  right after the N-th HTTP answer (mid-extract);
- `normalize`  when the extract is committed (package extracted, cursors saved locally);
- `load`       when the package is normalized and not yet loaded;
- `sql:TEXT:N` before the N-th SQL statement that contains TEXT (mid-load);
- `models`     after the load, before the SQL views.

Unset, it runs the command unchanged. `DCS_TEST_LOG_ALL=1` also logs every logger (urllib3
included) at DEBUG to stderr. Nothing in the product imports this module: it patches the product
from outside, in a child process that the tests start and that dies by SIGKILL.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

CRASH_ENV = "DCS_TEST_CRASH_AT"
LOG_ALL_ENV = "DCS_TEST_LOG_ALL"


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _counting(limit: int) -> Callable[[], None]:
    lock, seen = threading.Lock(), [0]

    def tick() -> None:
        with lock:
            seen[0] += 1
            if seen[0] == limit:
                _die()

    return tick


def _patch(owner: Any, name: str, before: Callable[..., None] | None = None,
           after: Callable[[], None] | None = None) -> None:  # fmt: skip
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if before is not None:
            before(*args, **kwargs)
        result = original(*args, **kwargs)
        if after is not None:
            after()
        return result

    setattr(owner, name, wrapper)


def install(point: str) -> None:
    """Arrange for this process to SIGKILL itself at `point` (see the module doc)."""
    kind, _, rest = point.partition(":")
    if kind == "request":
        from dcs_restores.client import DcsClient

        _patch(DcsClient, "_attempt", after=_counting(int(rest)))
    elif kind in ("normalize", "load"):
        import dlt

        _patch(dlt.Pipeline, kind, before=lambda *a, **k: _die())
    elif kind == "sql":
        from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient

        text, _, nth = rest.rpartition(":")
        tick = _counting(int(nth))

        def before(client: Any, query: Any, *args: Any, **kwargs: Any) -> None:
            if text in str(query):
                tick()

        _patch(DuckDbSqlClient, "execute_query", before=before)
    elif kind == "models":
        from dcs_restores_pipeline import runner as pipeline_runner

        _patch(pipeline_runner, "build_views", before=lambda *a, **k: _die())
    else:
        raise SystemExit(f"unknown {CRASH_ENV} point {point!r}")


def main() -> int:
    if os.environ.get(LOG_ALL_ENV):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    point = os.environ.get(CRASH_ENV)
    if point:
        install(point)
    from dcs_restores_pipeline.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
