"""Ending the `dcs-restores` process at once when a run is over, without the interpreter's
teardown.

A run imports some 1,400 modules (dlt, pyarrow, pandas, numpy, duckdb); dismantling them one
by one at exit takes ~0.4 s of CPU on every scheduled run, for nothing: by then the load is
committed and dlt has closed its connections. The exit handlers still run (dlt's telemetry,
logging, temporary directories); only the module teardown is skipped, and only when nothing can be
left half-done: no DuckDB write-ahead log beside the database (a connection that was not
closed would checkpoint at teardown) and no other thread that the interpreter would wait for.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from pathlib import Path


def can_skip_teardown(database: Path | None) -> bool:
    """True when ending now loses nothing: no DuckDB WAL of `database`, no non-daemon thread,
    no profiler or tracer (`python -m cProfile -o` writes its file after the program returns)."""
    if sys.getprofile() is not None or sys.gettrace() is not None:
        return False
    if database is not None and Path(f"{database}.wal").exists():
        return False
    current = threading.current_thread()
    return not any(
        t is not current and t.is_alive() and not t.daemon for t in threading.enumerate()
    )


def exit_now(code: int, database: Path | None) -> None:
    """End the process with `code` once the exit handlers have run, if `can_skip_teardown`;
    otherwise return (to a normal exit)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # a closed or broken stream: the normal exit reports it
    # first: they stop dlt's telemetry thread, which the interpreter would otherwise wait for
    # (and CPython runs each handler once, so a normal exit after this does not repeat them)
    atexit._run_exitfuncs()
    if can_skip_teardown(database):
        os._exit(code)
