"""`dcs-restores check --max-days-since-restore/--max-rpo-hours/--max-overdue`: the real command
on a database with the readiness rows of tests/models (clock pinned at 2024-04-01 12:00 UTC)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dcs_restores_pipeline.check import check
from dcs_restores_pipeline.cli import main
from dcs_restores_pipeline.readiness_check import MAX_NAMED_OVERDUE, Breach, Overdue

from tests.models.conftest import create_readiness

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "readiness.duckdb"
    with duckdb.connect(str(path)) as con:
        create_readiness(con)
    return path


def dcs_check(database: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESTINATION", "DCS_"))}
    env.update(PYTHONPATH=str(REPO), DLT_DATA_DIR=str(cwd / "dlt"))
    command = [sys.executable, "-m", "dcs_restores_pipeline.cli", "check"]
    return subprocess.run(
        [*command, "--database", str(database), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def crossed(stdout: str) -> list[str]:
    prefix = "THRESHOLD CROSSED: "
    return [line[len(prefix) :] for line in stdout.splitlines() if line.startswith(prefix)]


# --max-days-since-restore 12 --max-rpo-hours 24 --max-overdue 0, instance by instance. i-fleet
# (last success 11.9 days ago, backup 1 h old, r-f2 within its fleet expectation) crosses none;
# i-own's r-o5 runs past its own p95 (r-o6 does not); i-streak failed three times since its last
# success 12.1 days ago; i-old's newer backups failed, cannot restore or expired
LINES = [
    (
        "proj-1 own-history (i-own): 1 restore(s) overdue > 0:"
        " restore r-o5 restoring 16m 40.0s (expected 6m 25.0s)"
    ),
    "proj-1 streak (i-streak): last successful restore 12.1 days ago > 12 days",
    "proj-1 streak (i-streak): newest restorable backup 324.0 h old > 24 h",
    "proj-1 (no name) (i-unlisted): never restored successfully > 12 days",
    "proj-1 (no name) (i-unlisted): no restorable backup > 24 h",
    "proj-2 never (i-none): never restored successfully > 12 days",
    "proj-2 no-size (i-nosize): never restored successfully > 12 days",
    "proj-2 no-size (i-nosize): no restorable backup > 24 h",
    (
        "proj-2 no-size (i-nosize): 1 restore(s) overdue > 0:"
        " restore r-n1 restoring 2h 00m (expected 25m 50.0s)"
    ),
    "proj-2 old-backups (i-old): last successful restore 59.0 days ago > 12 days",
    "proj-2 old-backups (i-old): newest restorable backup 1440.0 h old > 24 h",
]
FLAGS = ("--max-days-since-restore", "12", "--max-rpo-hours", "24", "--max-overdue", "0")


def test_text_names_each_breach(database: Path, tmp_path: Path) -> None:
    done = dcs_check(database, tmp_path, *FLAGS)
    assert done.returncode == 3, done.stderr
    assert crossed(done.stdout) == LINES
    assert done.stdout.splitlines()[-1] == "11 threshold(s) crossed"


def test_json_and_a_check_within_the_thresholds(database: Path, tmp_path: Path) -> None:
    done = dcs_check(database, tmp_path, *FLAGS, "--json")
    assert done.returncode == 3, done.stderr
    body = json.loads(done.stdout)
    assert body["ok"] is False
    assert body["breaches"] == LINES
    assert body["readiness_breaches"][0] == {
        "project_id": "proj-1",
        "instance_id": "i-own",
        "instance_name": "own-history",
        "measure": "overdue_restores",
        "value": 1.0,
        "threshold": 0,
        "overdue": [
            {
                "restore_id": "r-o5",
                "status": "restoring",
                "elapsed_seconds": 1000.0,
                "expected_seconds": 385.0,
            }
        ],
    }
    assert body["readiness_breaches"][3]["value"] is None
    within = dcs_check(database, tmp_path, "--max-overdue", "1", "--json")
    assert within.returncode == 0, within.stderr
    assert json.loads(within.stdout)["breaches"] == []


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--max-rpo-hours", "nan", "'nan' is not a finite number: give hours, 0 or more"),
        ("--max-days-since-restore", "-1", "'-1' is out of range: give days, 0 or more"),
        ("--max-overdue", "1.5", "'1.5' is not a whole number: give a whole number, 0 or more"),
    ],
)
def test_invalid_values_are_usage_errors(
    database: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "--database", str(database), flag, value])
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert f"argument {flag}: {message}" in err


def test_views_older_than_the_readiness_views(database: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(database)) as con:
        con.execute("drop view dcs.restores_in_progress")
    done = dcs_check(database, tmp_path, "--max-overdue", "0")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "dcs-restores: error: no view dcs.instance_readiness or dcs.restores_in_progress:"
        " run `dcs-restores models` first"
    )


def test_check_in_code_validates_and_combines(database: Path) -> None:
    with pytest.raises(ValueError, match="max_rpo_hours"):
        check(database, max_failure_rate=None, max_p95_seconds=None, max_rpo_hours=float("inf"))
    result = check(
        database,
        max_failure_rate=None,
        max_p95_seconds=None,
        since_days=36500,
        max_days_since_restore=30,
        max_rpo_hours=1000,
        max_overdue=0,
    )
    # one instance may cross several thresholds: one line each, in instance order
    assert [(b.instance_id, b.measure) for b in result.readiness] == [
        ("i-own", "overdue_restores"),
        ("i-unlisted", "days_since_successful_restore"),
        ("i-unlisted", "rpo_hours"),
        ("i-none", "days_since_successful_restore"),
        ("i-nosize", "days_since_successful_restore"),
        ("i-nosize", "rpo_hours"),
        ("i-nosize", "overdue_restores"),
        ("i-old", "days_since_successful_restore"),
        ("i-old", "rpo_hours"),
    ]
    assert result.breaches == [b.line() for b in result.readiness]


def test_a_value_just_above_its_threshold_reads_above_it() -> None:
    breach = Breach("p", "abcdef0123456789", None, "days_since_successful_restore", 0.4304, 0.4)
    assert (
        breach.line()
        == "p (no name) (abcdef0123456789): last successful restore 0.43 days ago > 0.4 days"
    )
    rpo = Breach("p", "i", "n\x1b[2J", "rpo_hours", 24.00001, 24)
    assert rpo.line() == "p n\\x1b[2J (i): newest restorable backup 24.00001 h old > 24 h"


def test_a_failing_streak_alerts_on_its_own(database: Path, tmp_path: Path) -> None:
    # i-streak failed three times since a success 12.1 days ago: within 13 days, so only its
    # streak crosses; like every --max-* flag the value itself is allowed (3 > 3 is not)
    flags = ("--max-consecutive-failures", "2", "--max-days-since-restore", "13")
    done = dcs_check(database, tmp_path, *flags)
    assert done.returncode == 3, done.stderr
    assert [line for line in crossed(done.stdout) if "(i-streak)" in line] == [
        "proj-1 streak (i-streak): 3 consecutive failed restores > 2"
    ]
    as_json = dcs_check(database, tmp_path, "--max-consecutive-failures", "2", "--json")
    assert as_json.returncode == 3, as_json.stderr
    assert json.loads(as_json.stdout)["readiness_breaches"] == [
        {
            "project_id": "proj-1",
            "instance_id": "i-streak",
            "instance_name": "streak",
            "measure": "consecutive_failed_restores",
            "value": 3.0,
            "threshold": 2,
            "overdue": [],
        }
    ]
    allowed = dcs_check(database, tmp_path, "--max-consecutive-failures", "3")
    assert allowed.returncode == 0, allowed.stderr
    assert crossed(allowed.stdout) == []
    assert allowed.stdout.splitlines()[-1] == "OK"


def test_an_overdue_line_names_its_restores_and_stays_bounded() -> None:
    late = tuple(
        Overdue(f"r-{n}\x1b[2J", "waiting", 5400.0 + n, 90.0) for n in range(MAX_NAMED_OVERDUE + 2)
    )
    line = Breach("p", "i-1", "n", "overdue_restores", float(len(late)), 0, late).line()
    named = "; ".join(
        f"restore r-{n}\\x1b[2J waiting 1h 30m (expected 1m 30.0s)"
        for n in range(MAX_NAMED_OVERDUE)
    )
    assert line == f"p n (i-1): 7 restore(s) overdue > 0: {named}; 2 more"
