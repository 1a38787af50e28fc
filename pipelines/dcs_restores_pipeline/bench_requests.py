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
from datetime import UTC, datetime
from typing import Any

from dcs_restores.backup_plan import backup_begins
from dcs_restores.client import DcsClient
from dcs_restores.cursors import requested_begin, restore_begins
from dcs_restores.ids import valid_instance_id
from dcs_restores.paging import iter_backup_pages, iter_restore_pages, list_instances
from dcs_restores.reader import Pages, read_instances

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
    ids = [str(i["instance_id"]) for i in listed if valid_instance_id(i["instance_id"])]
    now, lookback, start_date = datetime.now(UTC), settings.lookback, settings.start_date
    plans: list[tuple[Pages, dict[str, Any]]] = [
        (iter_restore_pages, restore_begins({}, ids, now, lookback, start_date, {}))
    ]
    if settings.backups:
        plans.append((iter_backup_pages, backup_begins({}, ids, now, lookback, start_date, {})))
    # one pool for both kinds, one request per concurrency slot; an instance's restores and
    # backups side by side, as the run's two reads go through the instances together
    order = [
        (f"{kind}:{iid}", requested_begin(begins[iid][0]))
        for iid in ids
        for kind, (_, begins) in enumerate(plans)
        if iid in begins
    ]

    def pages(client: DcsClient, key: str, begin: datetime | None, size: int) -> Any:
        kind, _, instance_id = key.partition(":")
        return plans[int(kind)][0](client, instance_id, begin, size)

    counted = {"pages": 0, "records": 0}
    for event in read_instances(
        client, order, settings.page_size, settings.concurrency, threading.Event(), pages
    ):
        if event.error is not None:
            raise SystemExit(f"bench_requests: {event.error}")
        if event.items is not None:
            counted["pages"] += 1
            counted["records"] += len(event.items)
    return {"seconds": time.perf_counter() - started, "instances": len(ids), **counted}


def main() -> None:
    print(json.dumps(read_everything()))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
