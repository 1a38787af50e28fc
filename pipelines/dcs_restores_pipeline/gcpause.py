"""No cyclic garbage collection while the command imports its modules.

A run imports some 1,400 modules (dlt, pyarrow, pandas, numpy, duckdb), and the collector
scans the growing heap again and again meanwhile: ~300 collections, about a tenth of the
import time, for some 40 objects of garbage. Paused, and with everything imported so far
frozen afterwards (`gc.freeze`: never scanned again), the imports are faster and every later
full collection (the source's before its readers start, the automatic ones) scans only what
the run itself made. Only for the command as a program: a process that calls it from Python
keeps its own collector as it is.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def imports_without_gc(active: bool = True) -> Iterator[None]:
    """Pause the collector for the block (if `active`), then freeze what exists and resume."""
    if not active or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
