"""The benchmark's headline: `dcs-restores run` as cron runs it, in three cases with targets.

- first: a first run of 300 instances x 5 restores at 50 ms latency, concurrency 8; target at
  least 5x faster than its serial request time (requests x latency).
- idle: the next run of the same world, nothing new; target within the floor + 1 s.
- large: a first run of 2,000 x 50; target within 1.2x the floor.

The floor is what the requests alone take with perfect overlap: requests / concurrency x
latency. Each measured run is a child process running the installed console script against a
simulator in another process; the request counts (per kind) are the simulator's own.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dcs_restores_pipeline.bench_command import (
    Timed,
    console_script,
    isolated_env,
    run_timed,
    source_settings,
)

if TYPE_CHECKING:
    from dcs_restores_pipeline.bench import Target


@dataclass(frozen=True)
class Case:
    """One world and the runs measured on it, in order."""

    name: str
    instances: int
    restores: int
    latency_ms: float = 50.0
    runs: tuple[str, ...] = ("first",)


CASES = {
    "first": Case("first", 300, 5),
    "idle": Case("idle", 300, 5, runs=("first", "idle")),
    "large": Case("large", 2000, 50),
}
# `make bench`: first and idle share one world (the idle run is the first run's next one)
DEFAULT_CASES = ("idle", "large")


@dataclass
class CommandRun:
    """Figures of one whole-process run."""

    case: str
    run: str
    instances: int
    restores: int
    latency_ms: float
    concurrency: int
    wall_s: float
    cpu_s: float
    peak_mb: float
    exit_code: int
    rows: int
    requests: int
    by_kind: dict[str, int] = field(default_factory=dict)
    throttled: int = 0
    error: str = ""

    @property
    def serial_s(self) -> float:
        return serial_s(self.requests, self.throttled, self.latency_ms)

    @property
    def floor_s(self) -> float:
        return self.serial_s / self.concurrency

    @property
    def speedup(self) -> float:
        return self.serial_s / self.wall_s if self.wall_s else 0.0

    def target(self) -> tuple[str, bool]:
        """The issue's target for this run, and whether it was met."""
        if self.run == "idle":
            return "<= floor + 1 s", self.wall_s <= self.floor_s + 1.0
        if self.case == "large":
            return "<= 1.2x floor", self.wall_s <= 1.2 * self.floor_s
        return ">= 5x serial", self.speedup >= 5.0

    def as_dict(self) -> dict[str, Any]:
        text, met = self.target()
        return {
            **{k: v for k, v in vars(self).items()},
            "serial_s": self.serial_s,
            "floor_s": self.floor_s,
            "speedup": self.speedup,
            "target": text,
            "target_met": met,
        }


def serial_s(requests: int, throttled: int, latency_ms: float) -> float:
    """The requests one after another: what a serial loop waits on the network alone (a
    throttled attempt is not a needed request)."""
    return (requests - throttled) * latency_ms / 1000


def last_line(timed: Timed) -> str:
    """What a failed child said last ("" when it succeeded)."""
    return "" if timed.exit_code == 0 else (timed.stderr.strip().splitlines() or ["?"])[-1]


def _env(target: Target, workdir: Path, concurrency: int, page_size: int) -> dict[str, str]:
    """The isolated environment of a child reading `target`, its files in `workdir`."""
    workdir.mkdir()
    settings = source_settings(
        target.url, target.project_id, target.access_key, target.secret_key, concurrency, page_size
    )
    return isolated_env(workdir, settings)


def _counts(before: dict[str, Any], after: dict[str, Any]) -> tuple[int, dict[str, int], int]:
    """Requests between two `/_sim/stats` answers: total, per kind, and throttled (429)."""
    kinds = {
        kind: count - before["by_kind"].get(kind, 0)
        for kind, count in after["by_kind"].items()
        if count - before["by_kind"].get(kind, 0)
    }
    throttled = after["by_status"].get("429", 0) - before["by_status"].get("429", 0)
    return after["requests"] - before["requests"], kinds, throttled


def summary_rows(stdout: str) -> int:
    """`rows_extracted` of the run's `--json` summary (its last line), or 0 without one."""
    lines = stdout.strip().splitlines()
    try:
        summary = json.loads(lines[-1]) if lines else {}
        return int(summary["rows_extracted"]) if isinstance(summary, dict) else 0
    except (ValueError, KeyError, TypeError):
        return 0


def measure_command(
    case: Case,
    run: str,
    concurrency: int,
    env: dict[str, str],
    workdir: Path,
    stats: Callable[[], dict[str, Any]],
) -> CommandRun:
    """Run `dcs-restores run --json` once in a child and read its figures."""
    before = stats()
    timed = run_timed([console_script(), "run", "--json", "--quiet"], env, workdir)
    requests, by_kind, throttled = _counts(before, stats())
    rows = summary_rows(timed.stdout)
    error = last_line(timed)
    return CommandRun(
        case=case.name,
        run=run,
        instances=case.instances,
        restores=case.restores,
        latency_ms=case.latency_ms,
        concurrency=concurrency,
        wall_s=timed.wall_s,
        cpu_s=timed.cpu_s,
        peak_mb=timed.peak_mb,
        exit_code=timed.exit_code,
        rows=rows,
        requests=requests,
        by_kind=by_kind,
        throttled=throttled,
        error=error[:300],
    )


# a process that keeps a share of one core busy: what work moved out of the command's process
# (shaping in a second process, say) would still take from a small machine
_BUSY = """
import sys, time
share, end = float(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    began = time.perf_counter()
    while time.perf_counter() - began < 0.02 * share:
        pass
    time.sleep(0.02 * (1 - share))
"""


def measure_requests_alone(
    case: Case,
    sim_args: argparse.Namespace,
    concurrency: int,
    page_size: int,
    tmp: str,
    busy_neighbour: float = 0.0,
) -> dict[str, Any]:
    """The first run's requests alone, in a process of its own, on a simulator of its own (the
    same world, none of its answers already made): what the network and the server cost.

    `busy_neighbour` (0..1): a share of one core kept busy by another process meanwhile.
    """
    from dcs_restores_pipeline import bench

    with contextlib.ExitStack() as stack:
        target = stack.enter_context(bench.simulator(sim_args))
        workdir = Path(tmp) / "requests-alone"
        env = _env(target, workdir, concurrency, page_size)
        before = bench._sim_stats(target.url)
        if busy_neighbour > 0:
            busy = subprocess.Popen([sys.executable, "-c", _BUSY, str(busy_neighbour), "900"])
            stack.callback(busy.wait)
            stack.callback(busy.kill)
        command = [sys.executable, "-m", "dcs_restores_pipeline.bench_requests"]
        timed = run_timed(command, env, workdir)
        requests, _, throttled = _counts(before, bench._sim_stats(target.url))
    lines = timed.stdout.strip().splitlines()
    figures = json.loads(lines[-1]) if timed.exit_code == 0 and lines else {}
    return {
        "requests_alone": True,
        "case": case.name,
        "busy_neighbour": busy_neighbour,
        "wall_s": timed.wall_s,
        "read_s": figures.get("seconds", 0.0),
        "cpu_s": timed.cpu_s,
        "requests": requests,
        "floor_s": serial_s(requests, throttled, case.latency_ms) / concurrency,
        "exit_code": timed.exit_code,
        "error": last_line(timed),
    }


def run_case(
    case: Case,
    concurrency: int,
    in_process: bool,
    page_size: int = 1000,
    busy_neighbour: float = 0.0,
) -> list[dict[str, Any]]:
    """Measure every run of `case` on one simulator; returns the figures (headline first)."""
    from dcs_restores_pipeline import bench

    sim_args = argparse.Namespace(
        instances=case.instances,
        restores=case.restores,
        latency_ms=case.latency_ms,
        big_instance_restores=None,
        throttle_rps=None,
    )
    results: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="dcs-bench-") as tmp,
        bench.simulator(sim_args) as target,
    ):
        workdir = Path(tmp) / "command"
        env = _env(target, workdir, concurrency, page_size)

        def stats() -> dict[str, Any]:
            return bench._sim_stats(target.url)

        for run in case.runs:
            results.append(measure_command(case, run, concurrency, env, workdir, stats).as_dict())
        if "first" in case.runs:
            results.append(
                measure_requests_alone(case, sim_args, concurrency, page_size, tmp, busy_neighbour)
            )
        if in_process:
            # the older figure: run() in a warm child, imports not counted
            inner = Path(tmp) / "in-process"
            inner.mkdir()
            for run in case.runs:
                result = bench.measure(
                    f"{case.name} {run} (in-process)",
                    target,
                    case.latency_ms / 1000,
                    concurrency,
                    lambda: bench._in_child(
                        bench._pipeline_child, target, str(inner), concurrency, page_size, ""
                    ),
                )
                results.append({"in_process": True, "case": case.name, "run": run, **vars(result)})
    return results


def render(results: list[dict[str, Any]]) -> str:
    """The figures as a table: whole-process runs, then any in-process lines."""
    lines = [
        f"{'case/run':<14}{'inst x rest':>12}{'conc':>5}  {'requests':<40}{'serial s':>9}"
        f"{'floor s':>8}{'wall s':>8}{'x faster':>9}{'CPU s':>7}{'peak MB':>8}  target",
    ]
    for r in results:
        if r.get("in_process") or r.get("requests_alone"):
            continue
        kinds = "+".join(f"{n} {k}" for k, n in sorted(r["by_kind"].items()))
        verdict = "met" if r["target_met"] else "MISSED"
        size = f"{r['instances']} x {r['restores']}"
        lines.append(
            f"{r['case'] + '/' + r['run']:<14}{size:>12}"
            f"{r['concurrency']:>5}  {kinds:<40}{r['serial_s']:>9.2f}{r['floor_s']:>8.2f}"
            f"{r['wall_s']:>8.2f}{r['speedup']:>9.1f}{r['cpu_s']:>7.2f}{r['peak_mb']:>8.0f}  "
            f"{r['target']}: {verdict}"
            + (f" (exit {r['exit_code']}: {r['error']})" if r["exit_code"] else "")
        )
    for r in results:
        if r.get("requests_alone"):
            lines.append(
                f"  requests alone of {r['case']}/first (same client and concurrency, nothing "
                f"shaped or loaded, a process of its own"
                + (
                    f", beside a process busy {r['busy_neighbour']:.0%} of a core"
                    if r.get("busy_neighbour")
                    else ""
                )
                + f"): {r['wall_s']:.2f} s = "
                f"{r['wall_s'] / r['floor_s'] if r['floor_s'] else 0:.2f}x its floor "
                f"{r['floor_s']:.2f} s (first request to last answer {r['read_s']:.2f} s), "
                f"{r['requests']} requests"
                + (f" (exit {r['exit_code']}: {r['error']})" if r["exit_code"] else "")
            )
    for r in results:
        if r.get("in_process"):
            lines.append(
                f"  in-process run() of {r['case']}/{r['run']}, imports not counted: "
                f"{r['wall_s']:.2f} s, {r['requests']} requests, peak {r['peak_mb']:.0f} MB"
            )
    return "\n".join(lines)
