"""Hostile-server suite fixtures: a simulator behind a server whose answers a test damages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dcs_simulator import DcsSimulator, World

from tests.hostile.proxy import HostileServer

Start = Callable[..., tuple[DcsSimulator, HostileServer]]


@pytest.fixture
def hostile() -> Iterator[Start]:
    """`hostile(world, **simulator_options)` starts a simulator and a hostile server over it.

    Point the pipeline at `server.base_url` (e.g. `runner.settings(sim, endpoint=...)`); set
    `server.hook` to damage answers, and back to None to clear the fault.
    """
    started: list[tuple[DcsSimulator, HostileServer]] = []

    def start(world: World, **options: Any) -> tuple[DcsSimulator, HostileServer]:
        simulator = DcsSimulator(world, **options)
        simulator.start()  # unused directly; settings helpers read its base_url
        server = HostileServer(simulator).start()
        started.append((simulator, server))
        return simulator, server

    yield start
    for simulator, server in started:
        server.stop()
        simulator.stop()
