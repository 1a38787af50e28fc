"""A scheduled run's first requests go out while dlt is imported (early.py, prefetch.py).

The early reads may only ever save time: every request is still sent once, a refused key once,
and whatever dlt resolves differently is read again as if nothing had been fetched early.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from dcs_restores import prefetch
from dcs_restores.configuration import Credentials, load_settings
from dcs_restores.errors import DcsAuthError
from dcs_restores.paging import list_instances
from dcs_restores.stats import ExtractStats
from dcs_restores_pipeline.early import begin, env_settings
from dcs_simulator import DEMO_ACCESS_KEY, DcsSimulator

from tests.conftest import Runner, expected_restores
from tests.support.cli import cli_env
from tests.support.worlds import early, small_world

COMMAND = str(Path(sys.executable).with_name("dcs-restores"))
P = "SOURCES__DCS_RESTORES__"


def _run(env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    done = subprocess.run(
        [COMMAND, "run", "--json", "--quiet"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stdout.strip().splitlines()
    return done, (json.loads(lines[-1]) if lines else {})


@pytest.fixture(autouse=True)
def _own_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # the early start reads ~/.dlt: never the machine's own
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))


def _one_project_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The four settings a crontab line exports."""
    for key, setting in {
        "ENDPOINT": "https://dcs.eu-de.otc.t-systems.com",
        "PROJECT_ID": "0123456789abcdef0123456789abcdef",
        "CREDENTIALS__ACCESS_KEY": "AKEXAMPLE0001",
        "CREDENTIALS__SECRET_KEY": "secret-example",
    }.items():
        monkeypatch.setenv(P + key, setting)


def _sent_twice(sim: DcsSimulator) -> list[tuple[str, str]]:
    sent = Counter((r.path, json.dumps(r.query, sort_keys=True)) for r in sim.requests)
    return [key for key, times in sent.items() if times > 1]


def test_the_request_path_imports_no_dlt() -> None:
    code = (
        "import sys, dcs_restores, dcs_restores.prefetch, dcs_restores_pipeline.early\n"
        "print(sorted(m for m in sys.modules if m == 'dlt' or m.startswith('dlt.')))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "[]"
    # the public import path loads the source on first use
    from dcs_restores import RESTORE_COLUMNS, dcs_restores

    assert callable(dcs_restores) and "restore_id" in RESTORE_COLUMNS


def test_settings_from_the_environment_equal_what_dlt_resolves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = {
        "ENDPOINT": "https://dcs.eu-de.otc.t-systems.com",
        "PROJECT_ID": "0123456789abcdef0123456789abcdef",
        "CREDENTIALS__ACCESS_KEY": "AKEXAMPLE0001",
        "CREDENTIALS__SECRET_KEY": "secret-example",
        "INSTANCE_IDS": '["11111111-2222-3333-4444-555555555555"]',
        "START_DATE": "2025-01-01",
        "LOOKBACK_HOURS": "36",
        "PAGE_SIZE": "10",
        "CONCURRENCY": "3",
        "MAX_ATTEMPTS": "4",
        "MAX_RETRY_DELAY": "0.5",
        "REQUEST_TIMEOUT": "20",
        "MAX_BODY_MB": "8",
        "BACKUPS": "false",
    }
    for key, value in values.items():
        monkeypatch.setenv(P + key, value)
    early_settings = env_settings(os.environ)
    assert early_settings is not None
    assert early_settings == load_settings()
    assert early_settings.page_size == 10 and early_settings.backups is False
    # the defaults in code are the same on both paths
    for key in ("INSTANCE_IDS", "START_DATE", "LOOKBACK_HOURS", "PAGE_SIZE", "CONCURRENCY"):
        monkeypatch.delenv(P + key)
    for key in ("MAX_ATTEMPTS", "MAX_RETRY_DELAY", "REQUEST_TIMEOUT", "MAX_BODY_MB", "BACKUPS"):
        monkeypatch.delenv(P + key)
    assert env_settings(os.environ) == load_settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (P + "TARGETS", '[{"name": "a"}]'),
        (P + "PAGESIZE", "10"),
        ("ENDPOINT", "https://dcs.eu-de.otc.t-systems.com"),
        ("SOURCES__PAGE_SIZE", "10"),
        ("DCS_RESTORES__SOURCES__DCS_RESTORES__PAGE_SIZE", "10"),
        ("DESTINATION_TYPE", "postgres"),
    ],
)
def test_anything_else_that_configures_the_run_keeps_the_early_start_out(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    _one_project_in_env(monkeypatch)
    assert env_settings(os.environ) is not None
    monkeypatch.setenv(variable, value)
    assert env_settings(os.environ) is None


def test_a_toml_file_with_settings_keeps_the_early_start_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _one_project_in_env(monkeypatch)
    folder = tmp_path / ".dlt"
    folder.mkdir()
    # the repository's own file: a section of comments only changes nothing
    (folder / "config.toml").write_text("[sources.dcs_restores]\n# page_size = 1000\n")
    assert env_settings(os.environ) is not None
    (folder / "config.toml").write_text("[sources.dcs_restores]\npage_size = 5\n")
    assert env_settings(os.environ) is None
    (folder / "config.toml").write_text("[sources.dcs_restores]\npage_size = \n")
    assert env_settings(os.environ) is None  # unreadable: dlt's own message, not a guess


def test_a_run_with_an_early_start_sends_every_request_once(
    serve, runner: Runner, tmp_path: Path
) -> None:
    world = small_world(seed=21, instances=5, restores=12)
    sim = serve(world, now=early(world))
    env = cli_env(sim, runner, **{P + "PAGE_SIZE": "1000"})
    done, summary = _run(env, tmp_path)
    assert done.returncode == 0, done.stderr
    # the listing at least is always answered early: the extract waits for it
    assert summary["early_answers"] >= 1
    assert summary["requests"] == len(sim.requests) == 1 + 2 * len(world.instance_ids)
    assert _sent_twice(sim) == []
    assert runner.restores() == expected_restores(world, sim.now)

    # the next run plans from the cursors the first one stored: every early answer is used
    sim.reset_log()
    sim.advance(world.default_now - early(world))
    done, summary = _run(env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert summary["requests"] == len(sim.requests) == 1 + 2 * len(world.instance_ids)
    assert _sent_twice(sim) == []
    assert runner.restores() == expected_restores(world, sim.now)


def test_a_refused_key_is_sent_once(serve, runner: Runner, tmp_path: Path) -> None:
    world = small_world(seed=22, instances=4)
    sim = serve(world, now=early(world))
    env = cli_env(sim, runner, **{P + "CREDENTIALS__SECRET_KEY": "not-the-secret"})
    done, _ = _run(env, tmp_path)
    assert done.returncode != 0
    assert "credentials" in done.stderr.strip().splitlines()[-1].lower()
    assert len(sim.requests) == 1 and sim.auth_failures == 1
    assert "not-the-secret" not in done.stderr + done.stdout


def test_settings_that_differ_drop_the_early_answers(serve, runner: Runner) -> None:
    world = small_world(seed=23, instances=3)
    sim = serve(world, now=early(world))
    started = prefetch.start(runner.settings(sim), {})
    started.halt.wait(0.2)
    stats = ExtractStats()
    other = runner.settings(sim, page_size=7)
    client = prefetch.take(other, stats, threading.Event())
    # a client of the run's own settings, with nothing kept: every request is sent anew
    assert client is not None and client is not started.client
    sent = len(sim.requests)
    # what was sent early is still counted
    assert stats.requests == sent >= 1 and stats.early_answers == 0
    list_instances(client, 7)
    assert len(sim.requests) > sent and stats.early_answers == 0
    assert prefetch.take(other, stats, threading.Event()) is None


def test_a_key_refused_early_is_not_sent_again_under_other_settings(serve, runner: Runner) -> None:
    world = small_world(seed=26, instances=3)
    sim = serve(world, now=early(world))
    wrong = Credentials(access_key=DEMO_ACCESS_KEY, secret_key="not-the-secret")
    started = prefetch.start(runner.settings(sim, credentials=wrong), {})
    assert started.halt.wait(10)
    client = prefetch.take(
        runner.settings(sim, credentials=wrong, page_size=7), ExtractStats(), threading.Event()
    )
    assert client is not None
    with pytest.raises(DcsAuthError):
        list_instances(client, 7)
    assert len(sim.requests) == 1 and sim.auth_failures == 1
    # another key is another story: nothing is handed over
    started = prefetch.start(runner.settings(sim, credentials=wrong), {})
    assert started.halt.wait(10)
    assert prefetch.take(runner.settings(sim), ExtractStats(), threading.Event()) is None


def test_no_early_start_while_another_run_holds_the_lock(
    serve, runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = small_world(seed=24, instances=3)
    sim = serve(world, now=early(world))
    env = cli_env(sim, runner)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    lock = runner.database.with_name(runner.database.name + ".lock")
    with open(lock, "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert begin(["run", "--quiet"], os.environ) is False
    assert sim.requests == []
    # free again: the same run starts early (and `take` stops it)
    assert begin(["run", "--quiet"], os.environ) is True
    assert prefetch.take(runner.settings(sim), ExtractStats(), threading.Event()) is not None
    assert begin(["report"], os.environ) is False and begin(["run", "--target", "a"]) is False


def test_the_early_reads_pause_at_their_bound(
    serve, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = small_world(seed=25, instances=8, restores=12, empty=0)
    sim = serve(world, now=early(world))
    # the listing's 8 rows fit, the first page of records does not
    monkeypatch.setattr(prefetch, "MAX_KEPT_ROWS", len(world.instance_ids) + 1)
    started = prefetch.start(runner.settings(sim, page_size=1000, concurrency=1), {})
    assert started.halt.wait(10)
    client = prefetch.take(
        runner.settings(sim, page_size=1000, concurrency=1), ExtractStats(), threading.Event()
    )
    assert client is not None
    # the listing, then the first page with rows: the reads stopped there, far from all 16
    assert 2 <= len(sim.requests) <= 3 < 1 + 2 * len(world.instance_ids)


def test_warnings_of_the_early_reads_wait_for_dlts_logger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import types

    from dcs_restores import log

    written: list[str] = []
    fake = types.SimpleNamespace(LOGGER=None, warning=written.append)
    monkeypatch.setitem(sys.modules, "dlt.common.logger", fake)
    monkeypatch.setattr(log, "_held", [])
    log.warning("instance a: HTTP 503; retry 1/5 in 0.5s")
    assert written == []
    fake.LOGGER = object()
    log.flush()
    log.warning("instance b: HTTP 503; retry 1/5 in 0.5s")
    assert written == [
        "instance a: HTTP 503; retry 1/5 in 0.5s",
        "instance b: HTTP 503; retry 1/5 in 0.5s",
    ]


def test_settings_in_dlts_global_folder_keep_the_early_start_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dcs_restores_pipeline import early as early_start

    _one_project_in_env(monkeypatch)
    folder = tmp_path / "global"
    folder.mkdir()
    monkeypatch.setattr(early_start, "_global_dir", lambda environ: folder)
    assert env_settings(os.environ) is not None
    (folder / "secrets.toml").write_text(
        '[sources.dcs_restores.credentials]\nsecret_key = "another"\n'
    )
    assert env_settings(os.environ) is None


def test_a_slow_listing_stops_between_pages_and_nothing_is_sent_twice(
    serve, runner: Runner
) -> None:
    world = small_world(seed=27, instances=40, restores=2)
    sim = serve(world, now=early(world), latency_s=0.15)
    started = prefetch.start(runner.settings(sim, page_size=10), {})
    threading.Event().wait(0.2)
    client = prefetch.take(runner.settings(sim, page_size=10), ExtractStats(), threading.Event())
    assert client is started.client
    # take waited for the early thread: it sends nothing more
    assert not any(thread.is_alive() for thread in started._threads)
    assert len(list_instances(client, 10)) == 40
    assert _sent_twice(sim) == []


def test_a_database_without_its_local_state_keeps_the_early_start_out(
    tmp_path: Path,
) -> None:
    from dcs_restores_pipeline import early as early_start

    environ = {"DLT_DATA_DIR": str(tmp_path / "dlt")}
    database = tmp_path / "restores.duckdb"
    # a first run: nothing to know, everything is read anyway
    assert early_start._cursors(database, environ) == {}
    # a database whose state dlt restores from the database itself
    database.write_bytes(b"")
    assert early_start._cursors(database, environ) is None
