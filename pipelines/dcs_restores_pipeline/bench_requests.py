"""The requests of a first run alone: `python -m dcs_restores_pipeline.bench_requests`.

A baseline beside `dcs-restores run` in `make bench`: a new process, configured by the same
`SOURCES__DCS_RESTORES__*` variables, lists the instances and reads every restores and backups
page with the run's client, plan functions and concurrency, and does nothing else (no record
shaped, nothing loaded, no dlt imported). Its wall time is what the network and the server
cost on this machine; the command's time above it is the pipeline's own. It prints one JSON
line: `seconds` (first request to last answer), `pages` and `records`.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

from dcs_restores.client import DcsClient
from dcs_restores.paging import list_instances
from dcs_restores.prefetch import reads
from dcs_restores.reader import read_instances

from dcs_restores_pipeline.early import env_settings


def read_everything() -> dict[str, Any]:
    """Read one project's first run (no cursors) and return its figures."""
    settings = env_settings(os.environ)
    if settings is None:
        raise SystemExit(
            "bench_requests: set SOURCES__DCS_RESTORES__ENDPOINT, __PROJECT_ID and "
            "__CREDENTIALS__* in the environment (and nothing else that configures the source)"
        )
    started = time.perf_counter()
    client = DcsClient(settings)
    listed = list_instances(client, settings.page_size)
    order, pages = reads(settings, listed, {})
    counted = {"pages": 0, "records": 0}
    for event in read_instances(
        client, order, settings.page_size, settings.concurrency, threading.Event(), pages
    ):
        if event.error is not None:
            raise SystemExit(f"bench_requests: {event.error}")
        if event.items is not None:
            counted["pages"] += 1
            counted["records"] += len(event.items)
    instances = len({key.partition(":")[2] for key, _ in order})
    return {"seconds": time.perf_counter() - started, "instances": instances, **counted}


def main() -> None:
    print(json.dumps(read_everything()))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
