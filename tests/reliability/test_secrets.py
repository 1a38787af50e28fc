"""Secrets (secret key, security token, IAM token) never show up in logs at any level, errors,
the run summary, dlt's state and trace files, load packages or the database: after runs that
succeed and runs that fail, in AK/SK, temporary AK/SK and token mode."""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path
from typing import Any

import pytest
from dcs_restores.configuration import Credentials
from dcs_restores_pipeline.runner import RunFailed
from dcs_simulator import FaultPlan, FaultRule

from tests.conftest import Runner
from tests.support.cli import cli_env, run_cli
from tests.support.leaks import secret_leaks
from tests.support.truth import assert_matches_truth, cursors, local_state
from tests.support.worlds import quick_run, small_world

P = "SOURCES__DCS_RESTORES__CREDENTIALS__"
AK = "RELIABILITYAK0000001"
SK = "Sk-reliability-5e1f-secret-value-0001"
WRONG_SK = "Sk-reliability-wrong-secret-value-0002"
STS_TOKEN = "sts-reliability-temporary-token-0003"
WRONG_STS_TOKEN = "sts-reliability-wrong-temporary-token-0004"
IAM_TOKEN = "MIIreliability-iam-token-0005"
WRONG_IAM_TOKEN = "MIIreliability-wrong-iam-token-0006"
EVERY_SECRET = (SK, WRONG_SK, STS_TOKEN, WRONG_STS_TOKEN, IAM_TOKEN, WRONG_IAM_TOKEN)

# mode -> (good credentials, credentials the gateway rejects)
MODES = {
    "aksk": (
        Credentials(access_key=AK, secret_key=SK),
        Credentials(access_key=AK, secret_key=WRONG_SK),
    ),
    "temporary-aksk": (
        Credentials(access_key=AK, secret_key=SK, security_token=STS_TOKEN),
        Credentials(access_key=AK, secret_key=SK, security_token=WRONG_STS_TOKEN),
    ),
    "token": (Credentials(auth_token=IAM_TOKEN), Credentials(auth_token=WRONG_IAM_TOKEN)),
}


def _env(credentials: Credentials) -> dict[str, str]:
    return {
        f"{P}ACCESS_KEY": credentials.access_key or "",
        f"{P}SECRET_KEY": credentials.secret_key or "",
        f"{P}SECURITY_TOKEN": credentials.security_token or "",
        f"{P}AUTH_TOKEN": credentials.auth_token or "",
    }


def _failure_texts(exc: BaseException) -> list[str]:
    texts = ["".join(traceback.format_exception(exc)), repr(exc), repr(vars(exc))]
    summary = getattr(exc, "summary", None)
    if summary is not None:
        texts += [json.dumps(summary.as_dict(), default=str), summary.text()]
    return texts


@pytest.mark.parametrize("mode", list(MODES))
def test_no_secret_anywhere_after_good_and_failed_runs(
    serve,
    runner: Runner,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    mode: str,
) -> None:
    good, bad = MODES[mode]
    world = small_world(seed=71, instances=3)
    iid = world.instance_ids[0]
    plan = FaultPlan([FaultRule("503", match="instances", times=1), FaultRule("429", times=1)])
    simulator = serve(
        world,
        credentials={AK: SK},
        security_tokens={AK: STS_TOKEN} if mode == "temporary-aksk" else None,
        tokens=[IAM_TOKEN],
        faults=plan,
    )
    texts: list[str] = []

    # 1. the real command, everything at DEBUG (dlt, requests, urllib3), with retries
    env = cli_env(simulator, runner, **_env(good), RUNTIME__LOG_LEVEL="DEBUG")
    env["DCS_TEST_LOG_ALL"] = "1"
    done = run_cli(["run", "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "urllib3.connectionpool" in done.stderr and "DEBUG" in done.stderr
    assert "retry 1/5" in done.stderr
    assert_matches_truth(runner, simulator)
    texts += [done.stdout, done.stderr]

    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="dlt")
    # 2. a run that fails for good on one instance (retries used up)
    simulator.faults = FaultPlan([FaultRule("503", match=iid)])
    with pytest.raises(RunFailed) as failed:
        quick_run(runner, simulator, credentials=good, max_attempts=2)
    texts += _failure_texts(failed.value)
    # 3. a run the gateway turns away (wrong secret, wrong security token, wrong token)
    simulator.faults = None
    with pytest.raises(RunFailed) as refused:
        quick_run(runner, simulator, credentials=bad)
    assert "401" in str(refused.value)
    texts += _failure_texts(refused.value)

    texts += [record.getMessage() for record in caplog.records]
    texts += [caplog.text, *capsys.readouterr()]
    assert any("urllib3" in record.name for record in caplog.records)
    leaks = secret_leaks(EVERY_SECRET, roots=[tmp_path], database=runner.database, texts=texts)
    assert leaks == []
    # the scan covered dlt's state and trace files and the load packages
    scanned = {path.name for path in Path(runner.pipelines_dir).rglob("*")}
    assert {"state.json", "trace.pickle", "load_package_state.json"} <= scanned
    # positive control: the scan does reach into dlt's compressed state in the database
    newest = [c["max_created_at"] for c in cursors(local_state(runner)).values()]
    assert secret_leaks([max(n for n in newest if n)], database=runner.database)


def test_the_scanner_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The leak scan must be able to fail: plain, gzip and dlt's compressed state."""
    import gzip

    from dlt.common.versioned_state import compress_state

    (tmp_path / "plain.log").write_text(f"x {SK} y")
    (tmp_path / "job.gz").write_bytes(gzip.compress(IAM_TOKEN.encode()))
    state: Any = {"_state_version": 1, "_state_engine_version": 1, "token": STS_TOKEN}
    (tmp_path / "state.txt").write_text(f"state={compress_state(state)}")
    leaks = secret_leaks(EVERY_SECRET, roots=[tmp_path], texts=[f"error: {WRONG_SK}"])
    assert len(leaks) == 4
