"""The adaptive limiter: halves on throttling, recovers step by step, and never lets more than
its limit through; and a run against a throttling simulator slows down and still loads it all."""

from __future__ import annotations

import threading
import time

from dcs_restores.limiter import AdaptiveLimiter
from dcs_simulator import World

from tests.conftest import Runner, expected_restores


def test_a_throttle_halves_the_limit_once_per_cooldown() -> None:
    limiter = AdaptiveLimiter(8, cooldown_s=60)
    limiter.on_throttle()
    # the rest of the same wave of 429s is one signal, not three halvings
    limiter.on_throttle()
    limiter.on_throttle()
    assert (limiter.limit, limiter.lowest, limiter.throttled) == (4, 4, 3)


def test_the_limit_never_drops_below_one() -> None:
    limiter = AdaptiveLimiter(3, cooldown_s=0)
    for _ in range(5):
        limiter.on_throttle()
    assert limiter.limit == limiter.lowest == 1


def test_the_limit_grows_back_one_step_per_round_of_successes() -> None:
    limiter = AdaptiveLimiter(8, cooldown_s=0)
    limiter.on_throttle()
    assert limiter.limit == 4
    for _ in range(3):
        limiter.on_success()
    assert limiter.limit == 4
    limiter.on_success()
    assert limiter.limit == 5
    for _ in range(100):
        limiter.on_success()
    assert limiter.limit == 8


def test_no_growth_during_the_cooldown() -> None:
    limiter = AdaptiveLimiter(8, cooldown_s=60)
    limiter.on_throttle()
    for _ in range(50):
        limiter.on_success()
    assert limiter.limit == 4


def test_slots_never_exceed_the_current_limit() -> None:
    limiter = AdaptiveLimiter(6, cooldown_s=60)
    limiter.on_throttle()
    in_flight, worst = 0, 0
    lock = threading.Lock()

    def request() -> None:
        nonlocal in_flight, worst
        with limiter.slot():
            with lock:
                in_flight += 1
                worst = max(worst, in_flight)
            time.sleep(0.005)
            with lock:
                in_flight -= 1

    threads = [threading.Thread(target=request) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert worst == limiter.limit == 3


def test_a_throttled_run_backs_off_and_loads_everything(serve, runner: Runner) -> None:
    world = World.generate(seed=5, instances=30, restores_per_instance=6)
    # the gateway admits 10 requests a second (bursts of 10); 8 workers at 20 ms ask for 400
    simulator = serve(world, latency_s=0.02, throttle_rps=10)
    # restores only: the counts below are of restores pages (backups share the limiter)
    summary = runner.run(
        simulator,
        concurrency=8,
        page_size=10,
        max_retry_delay=0.2,
        max_attempts=20,
        backups=False,
    )

    assert runner.restores() == expected_restores(world, simulator.now)
    assert summary.retries > 0
    throttled = [r for r in simulator.requests if r.status == 429]
    served = [r for r in simulator.restore_requests() if r.status != 429]
    # one restores page per instance: a throttled request is repeated, never a served one
    assert throttled and len(served) == 30
    # per instance, the pages that were served came in order
    for instance_id in world.instance_ids:
        offsets = [int(r.query["offset"]) for r in served if r.instance_id == instance_id]
        assert offsets == sorted(offsets)
