"""Warnings of the request path: to dlt's logger once a pipeline has set it up, held until then.

A scheduled run starts its first requests before dlt is imported (prefetch.py), and dlt's
logger drops every message until a pipeline configures it: a retry warning of those first
requests is kept here and written when the run's extract begins (`flush`).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

# a server answering every early request with a retry cannot grow this without end
MAX_HELD = 200

_held: list[str] = []
_lock = threading.Lock()


def _dlt_logger() -> Any:
    module = sys.modules.get("dlt.common.logger")
    if module is None or getattr(module, "LOGGER", None) is None:
        return None
    return module


def warning(message: str) -> None:
    """Log `message` as a warning through dlt's logger, or hold it until that exists."""
    logger = _dlt_logger()
    if logger is None:
        with _lock:
            if len(_held) < MAX_HELD:
                _held.append(message)
        return
    flush()
    logger.warning(message)


def flush() -> None:
    """Write the warnings held so far, once dlt's logger is set up."""
    logger = _dlt_logger()
    if logger is None:
        return
    with _lock:
        held = _held[:]
        _held.clear()
    for message in held:
        logger.warning(message)


def debug(message: str) -> None:
    """A debug line through dlt's logger; dropped before it exists, as dlt itself would."""
    logger = _dlt_logger()
    if logger is not None:
        logger.debug(message)
