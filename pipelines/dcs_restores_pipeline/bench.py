"""Benchmark: the command as cron runs it, and the pipeline next to a hand-written serial loop.

`make bench` (`python -m dcs_restores_pipeline.bench`) times `dcs-restores run` whole-process
in the cases of `bench_cases` (first run, idle run, large first run) beside their serial
request time, and the first run's requests alone (`bench_requests`: the same client, nothing
shaped or loaded); `--case first|idle|large` picks one, `--case big-db` times `check`,
`report` and `models` on a 1,000,000-restore database (`bench_bigdb`).

`--case in-process --instances 500 --restores 20 --latency-ms 50`
prints, for a first and an incremental run of the pipeline and of a baseline (pages read one
after another, upserted into DuckDB with pandas, as a user would write it by hand): requests,
wall time, rows per second, peak RSS and the ratio of wall time to the floor
`requests / concurrency x latency`. Each run happens in its own child process, so peak RSS is
that run's alone; the simulator runs in another process, so its memory is not counted (its
CPU still competes with the run on a small machine).
Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

BASELINE_COLUMNS = (
    "restore_id",
    "instance_id",
    "project_id",
    "backup_id",
    "backup_name",
    "restore_name",
    "status",
    "error_code",
    "progress",
    "created_at",
    "updated_at",
)
BASELINE_LOOKBACK_HOURS = 24
DUCKDB_CONFIG_ENV = "DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG"


@dataclass(frozen=True)
class Target:
    """Where the simulator listens and how to sign for it."""

    url: str
    project_id: str
    access_key: str
    secret_key: str


@dataclass
class Result:
    """Figures of one measured run."""

    name: str
    wall_s: float
    rows: int
    requests: int = 0
    throttled: int = 0
    peak_mb: float = 0.0
    rows_per_s: float = 0.0
    floor_s: float | None = None
    ratio_to_floor: float | None = None
    ratio_to_baseline: float | None = None
    steps: dict[str, dict[str, float]] | None = None


def _peak_mb() -> float:
    import resource

    # ru_maxrss is in KiB on Linux: the peak of this process (a fresh child per run)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler:
    """Samples this process's RSS every few ms, to tell which step of a run holds the peak."""

    def __init__(self, every_s: float = 0.02) -> None:
        self.samples: list[tuple[float, float]] = []
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        while not self._stop.is_set():
            with open("/proc/self/statm") as statm:
                self.samples.append((time.time(), int(statm.read().split()[1]) * page_mb))
            self._stop.wait(self._every_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_between(self, start: float, end: float) -> float:
        return max((mb for at, mb in self.samples if start <= at <= end), default=0.0)


def _isolate(workdir: str) -> None:
    # the child must not read the developer's .dlt/ or ~/.dlt, nor write there
    os.chdir(workdir)
    os.environ["DLT_DATA_DIR"] = str(Path(workdir) / "dlt_data")
    for key in list(os.environ):
        if key.startswith(("SOURCES__", "DESTINATION__")):
            del os.environ[key]


def _pipeline_child(
    target: Target, workdir: str, concurrency: int | None, page_size: int, duckdb_memory: str
) -> dict[str, Any]:
    """Run the real pipeline once (extract, normalize, load, views) in this child process."""
    _isolate(workdir)
    if duckdb_memory:
        # dlt's own knob, as a user would set it in the environment
        os.environ[DUCKDB_CONFIG_ENV] = json.dumps({"memory_limit": duckdb_memory})
    import dlt
    from dcs_restores.configuration import Credentials, SourceSettings
    from dcs_restores.settings import DEFAULT_CONCURRENCY

    from dcs_restores_pipeline import runner

    settings = SourceSettings(
        endpoint=target.url,
        project_id=target.project_id,
        credentials=Credentials(access_key=target.access_key, secret_key=target.secret_key),
        page_size=page_size,
        concurrency=concurrency or DEFAULT_CONCURRENCY,
    )
    started = time.perf_counter()
    with RssSampler() as rss:
        summary = runner.run(
            settings, database=Path(workdir) / "ours.duckdb", pipelines_dir=f"{workdir}/pipelines"
        )
    wall = time.perf_counter() - started
    local = runner.local_dir(Path(workdir) / "ours.duckdb", f"{workdir}/pipelines", "duckdb")
    trace = dlt.attach("dcs_restores", pipelines_dir=str(local)).last_trace
    steps = {
        step.step: {
            "s": (step.finished_at - step.started_at).total_seconds(),
            "peak_mb": rss.peak_between(step.started_at.timestamp(), step.finished_at.timestamp()),
        }
        for step in (trace.steps if trace else [])
        if step.finished_at and step.step in ("extract", "normalize", "load")
    }
    return {
        "wall_s": wall,
        "rows": summary.rows_extracted,
        "peak_mb": _peak_mb(),
        "steps": steps,
        "concurrency": settings.concurrency,
    }


def _baseline_child(target: Target, workdir: str, page_size: int) -> dict[str, Any]:
    """What a user writes by hand: a serial loop over instances and pages, upserting each page.

    A second call is its incremental run: it asks each instance only for restores created
    after its newest stored one minus a look-back, as the pipeline does.
    """
    _isolate(workdir)
    from datetime import UTC, timedelta
    from urllib.parse import urlencode

    import duckdb
    import pandas as pd
    import requests
    from dcs_restores.auth import sign_headers

    started = time.perf_counter()
    session = requests.Session()
    base_headers = {"Content-Type": "application/json", "X-Project-Id": target.project_id}

    def pages(path: str, key: str, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
        offset = 0
        while True:
            query = urlencode(sorted({**params, "offset": offset, "limit": page_size}.items()))
            url = f"{target.url}{path}?{query}"
            headers = sign_headers(
                "GET", url, base_headers, b"", target.access_key, target.secret_key
            )
            response = session.get(url, headers=headers, timeout=60)
            response.raise_for_status()
            items = (response.json().get(key) or []) if response.status_code == 200 else []
            if items:
                yield items
            if len(items) < page_size:
                return
            offset += len(items)

    con = duckdb.connect(str(Path(workdir) / "baseline.duckdb"))
    con.execute(
        "create table if not exists restores (restore_id varchar primary key, "
        + ", ".join(f"{c} varchar" for c in BASELINE_COLUMNS[1:8])
        + ", progress double, created_at timestamptz, updated_at timestamptz)"
    )
    rows = 0
    project = target.project_id
    instances = [i for page in pages(f"/v2/{project}/instances", "instances", {}) for i in page]
    for instance in instances:
        instance_id = instance["instance_id"]
        newest = con.execute(
            "select max(created_at) from restores where instance_id = ?", [instance_id]
        ).fetchall()[0][0]
        params = {}
        if newest is not None:
            begin = newest - timedelta(hours=BASELINE_LOOKBACK_HOURS)
            params["begin_time"] = begin.astimezone(UTC).strftime("%Y%m%d%H%M%S")
        path = f"/v2/{project}/instances/{instance_id}/restores"
        for page in pages(path, "restore_record_response", params):
            records = [
                {c: (r.get(c) or None) for c in BASELINE_COLUMNS} | {"instance_id": instance_id}
                for r in page
            ]
            frame = pd.DataFrame(records, columns=list(BASELINE_COLUMNS))
            con.register("page", frame.assign(project_id=project))
            con.execute(
                "insert or replace into restores select restore_id, instance_id, project_id, "
                "backup_id, backup_name, restore_name, status, error_code, "
                "try_cast(progress as double), created_at::timestamptz, "
                "updated_at::timestamptz from page"
            )
            con.unregister("page")
            rows += len(records)
    con.close()
    return {"wall_s": time.perf_counter() - started, "rows": rows, "peak_mb": _peak_mb()}


def _in_child(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    # spawn, not fork: a fresh interpreter, so peak RSS is the run's own
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def _sim_stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_sim/stats", timeout=30) as response:
        stats: dict[str, Any] = json.load(response)
        return stats


@contextmanager
def simulator(args: argparse.Namespace) -> Iterator[Target]:
    """Start `python -m dcs_simulator` in a subprocess and yield where it listens."""
    from dcs_simulator import DEMO_SECRET_KEY

    command = [
        sys.executable, "-m", "dcs_simulator", "--port", "0",
        "--instances", str(args.instances), "--restores", str(args.restores),
        "--latency-ms", str(args.latency_ms),
    ]  # fmt: skip
    if args.big_instance_restores:
        command += ["--big-instance-restores", str(args.big_instance_restores)]
    if args.throttle_rps:
        command += ["--throttle-rps", str(args.throttle_rps)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        info = json.loads(process.stdout.readline())
        if not url.startswith("http"):
            raise RuntimeError("the simulator did not start")
        yield Target(url, info["project_id"], info["access_key"], DEMO_SECRET_KEY)
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure(
    name: str, target: Target, latency_s: float, concurrency: int, run: Callable[[], dict[str, Any]]
) -> Result:
    """Run one child and complete its figures from the simulator's request log."""
    before = _sim_stats(target.url)
    figures = run()
    after = _sim_stats(target.url)
    requests_made = after["requests"] - before["requests"]
    throttled = after["by_status"].get("429", 0) - before["by_status"].get("429", 0)
    result = Result(
        name=name,
        wall_s=figures["wall_s"],
        rows=figures["rows"],
        requests=requests_made,
        throttled=throttled,
        peak_mb=figures["peak_mb"],
        rows_per_s=figures["rows"] / figures["wall_s"] if figures["wall_s"] else 0.0,
        steps=figures.get("steps"),
    )
    if latency_s > 0:
        # throttled attempts are not needed requests; they show up in the ratio instead
        result.floor_s = (requests_made - throttled) / concurrency * latency_s
        result.ratio_to_floor = result.wall_s / result.floor_s if result.floor_s else None
    return result


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run the pipeline (first, incremental) and the baseline (first, incremental)."""
    from dcs_restores.settings import DEFAULT_CONCURRENCY

    concurrency = args.concurrency or DEFAULT_CONCURRENCY
    latency = args.latency_ms / 1000
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="dcs-bench-") as workdir, simulator(args) as target:
        ours = partial(
            _in_child, _pipeline_child, target, workdir, args.concurrency, args.page_size,
            args.duckdb_memory_limit,
        )  # fmt: skip
        theirs = partial(_in_child, _baseline_child, target, workdir, args.page_size)
        phases = ("first", "incremental")
        results += [measure(f"pipeline {p}", target, latency, concurrency, ours) for p in phases]
        if not args.skip_baseline:
            results += [measure(f"baseline {p}", target, latency, 1, theirs) for p in phases]
            for mine, serial in zip(results[:2], results[2:], strict=True):
                mine.ratio_to_baseline = mine.wall_s / serial.wall_s
    return {
        "instances": args.instances,
        "restores_per_instance": args.restores,
        "big_instance_restores": args.big_instance_restores,
        "latency_ms": args.latency_ms,
        "concurrency": concurrency,
        "page_size": args.page_size,
        "throttle_rps": args.throttle_rps,
        "duckdb_memory_limit": args.duckdb_memory_limit or None,
        "results": [asdict(r) for r in results],
    }


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def render(report: dict[str, Any]) -> str:
    """Return the report as a plain-text table."""
    lines = [
        f"{report['instances']} instances x {report['restores_per_instance']} restores"
        + (
            f" + one of {report['big_instance_restores']}"
            if report["big_instance_restores"]
            else ""
        )
        + f", latency {report['latency_ms']:g} ms, concurrency {report['concurrency']}, "
        f"page size {report['page_size']}"
        + (f", throttle {report['throttle_rps']:g} rps" if report["throttle_rps"] else "")
        + (
            f", DuckDB memory_limit {report['duckdb_memory_limit']}"
            if report["duckdb_memory_limit"]
            else ""
        ),
        f"{'run':<22}{'requests':>9}{'429s':>6}{'wall s':>9}{'rows':>10}{'rows/s':>10}"
        f"{'peak MB':>9}{'floor s':>9}{'/floor':>8}{'/baseline':>10}",
    ]
    for r in report["results"]:
        lines.append(
            f"{r['name']:<22}{r['requests']:>9}{r['throttled']:>6}{r['wall_s']:>9.2f}"
            f"{r['rows']:>10}{r['rows_per_s']:>10.0f}{r['peak_mb']:>9.0f}"
            f"{_fmt(r['floor_s'], '.2f'):>9}{_fmt(r['ratio_to_floor'], '.2f'):>8}"
            f"{_fmt(r['ratio_to_baseline'], '.3f'):>10}"
        )
    for r in report["results"]:
        if r["steps"]:
            steps = ", ".join(
                f"{k} {v['s']:.2f}s (peak {v['peak_mb']:.0f} MB)" for k, v in r["steps"].items()
            )
            lines.append(f"{r['name']}: {steps}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dcs_restores_pipeline.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--case",
        choices=("cron", "first", "idle", "large", "big-db", "in-process"),
        default="cron",
        help="cron (default): first, idle and large, whole-process; in-process: run() in a "
        "warm child next to the serial baseline, with the options below",
    )
    parser.add_argument(
        "--no-in-process",
        action="store_true",
        help="whole-process cases: skip the second, in-process line",
    )
    parser.add_argument(
        "--busy-neighbour",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="whole-process cases: keep SHARE (0..1) of one core busy in another process "
        "while the requests-alone baseline runs",
    )
    parser.add_argument(
        "--restores-total",
        type=int,
        default=1_000_000,
        help="big-db: restores in the generated database",
    )
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--restores", type=int, default=20, help="restores per instance")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="default: 8 for the whole-process cases, the source's for in-process",
    )
    parser.add_argument("--big-instance-restores", type=int, default=None)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--throttle-rps", type=float, default=None, help="simulator rate limit")
    parser.add_argument(
        "--duckdb-memory-limit", default="", help="e.g. 256MB: DuckDB's memory_limit for the load"
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--hostile-body-mb",
        type=int,
        default=None,
        metavar="MIB",
        help="instead: serve a body of MIB MiB (plain, then a gzip bomb) to a real run and "
        "print its peak RSS",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 <= args.busy_neighbour < 1:
        parser.error("--busy-neighbour is a share of one core: from 0 up to (not including) 1")
    if args.hostile_body_mb is not None:
        from dcs_restores_pipeline.bench_hostile import render as render_hostile
        from dcs_restores_pipeline.bench_hostile import run_hostile_bench

        results = run_hostile_bench(args.hostile_body_mb, args.concurrency)
        print(json.dumps(results, indent=2) if args.json else render_hostile(results))
        return
    if args.case == "big-db":
        from dcs_restores_pipeline.bench_bigdb import render as render_big
        from dcs_restores_pipeline.bench_bigdb import run_big_db

        figures = run_big_db(args.restores_total)
        print(json.dumps(figures, indent=2) if args.json else render_big(figures))
        return
    if args.case != "in-process":
        from dcs_restores_pipeline.bench_cases import CASES, DEFAULT_CASES, run_case
        from dcs_restores_pipeline.bench_cases import render as render_cases

        names = DEFAULT_CASES if args.case == "cron" else (args.case,)
        results = []
        for name in names:
            results += run_case(
                CASES[name],
                args.concurrency or 8,
                not args.no_in_process,
                busy_neighbour=args.busy_neighbour,
            )
        print(json.dumps(results, indent=2) if args.json else render_cases(results))
        return
    report = run_bench(args)
    print(json.dumps(report, indent=2) if args.json else render(report))


if __name__ == "__main__":
    # through the package, so the children (spawned) find the run functions by their real module
    from dcs_restores_pipeline.bench import main as bench_main

    bench_main()
