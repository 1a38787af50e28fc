"""Two DCS simulators for the Airflow run in CI: `python -m tests.scale_out.serve_two FILE`.

Target `alpha` takes the shared (demo) keys, target `beta` answers only its own keys. FILE gets
their URLs once they listen; they serve until SIGTERM. The worlds and the simulated time are
fixed here, so the test that checks the DAG's result rebuilds the ground truth from `worlds()`.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from dcs_simulator import DcsSimulator, World

NOW = datetime(2025, 2, 20, tzinfo=UTC)
BETA_PROJECT = "fedcba9876543210fedcba9876543210"
BETA_AK, BETA_SK = "BETAREGIONAK00000001", "beta-region-secret-key-for-ci"


def worlds() -> dict[str, World]:
    """The two targets' worlds: `alpha` (three instances), `beta` (another project)."""
    return {
        "alpha": World.generate(seed=51, instances=3, restores_per_instance=12),
        "beta": World.generate(
            seed=52, project_id=BETA_PROJECT, instances=2, restores_per_instance=7
        ),
    }


def main(out: Path) -> None:
    built = worlds()
    alpha = DcsSimulator(built["alpha"], now=NOW)
    beta = DcsSimulator(built["beta"], now=NOW, credentials={BETA_AK: BETA_SK})
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with alpha, beta:
        info = {
            name: {"endpoint": sim.base_url, "project_id": sim.world.project_id}
            for name, sim in (("alpha", alpha), ("beta", beta))
        }
        partial = out.with_name(out.name + ".tmp")
        partial.write_text(json.dumps(info), encoding="utf-8")
        partial.replace(out)  # whole or absent: the script waits for it
        stop.wait()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
