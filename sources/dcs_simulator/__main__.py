"""Run the DCS simulator (`python -m dcs_simulator`); the first stdout line is its URL."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from datetime import datetime
from types import FrameType

from dcs_simulator.server import DEMO_ACCESS_KEY, DcsSimulator
from dcs_simulator.world import World


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dcs_simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--instances", type=int, default=12)
    parser.add_argument("--restores", type=int, default=40, help="restores per non-empty instance")
    parser.add_argument("--empty-instances", type=int, default=1)
    parser.add_argument("--big-instance-restores", type=int, default=None)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--now", type=datetime.fromisoformat, default=None, help="simulated time, ISO with zone"
    )
    parser.add_argument("--throttle-rps", type=float, default=None)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM or SIGINT."""
    args = _parser().parse_args(argv)
    world = World.generate(
        seed=args.seed,
        instances=args.instances,
        restores_per_instance=args.restores,
        empty_instances=args.empty_instances,
        big_instance_restores=args.big_instance_restores,
    )
    simulator = DcsSimulator(
        world,
        now=args.now,
        latency_s=args.latency_ms / 1000,
        throttle_rps=args.throttle_rps,
        host=args.host,
        port=args.port,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with simulator:
        print(simulator.base_url, flush=True)
        info = {
            "project_id": world.project_id,
            "access_key": DEMO_ACCESS_KEY,
            "now": simulator.now.isoformat(),
        }
        print(json.dumps(info), flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
