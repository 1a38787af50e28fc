"""CLI commands on odd input: `check` rejects bad thresholds on one line (exit 2) and reads a
read-only database; `report` and `check` print names from the database literally."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dcs_restores_pipeline.cli import main

from tests.conftest import Runner
from tests.hostile.conftest import Start
from tests.hostile.proxy import Answer, Exchange, json_answer
from tests.support.cli import cli_env
from tests.support.worlds import small_world

# C0, DEL and C1 controls; newlines separate lines and are checked per line
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

BAD_THRESHOLDS = [
    # (arguments, flag named, what the message must say)
    (["--max-failure-rate", "nan"], "--max-failure-rate", "a fraction from 0 to 1"),
    (["--max-failure-rate", "5"], "--max-failure-rate", "a fraction: 0.05 means 5 %"),
    (["--max-failure-rate", "1.0001"], "--max-failure-rate", "a fraction: 0.05 means 5 %"),
    (["--max-failure-rate", "-0.01"], "--max-failure-rate", "a fraction from 0 to 1"),
    (["--max-failure-rate", "inf"], "--max-failure-rate", "not a finite number"),
    (["--max-failure-rate", "five"], "--max-failure-rate", "not a number"),
    (["--max-p95-seconds", "0"], "--max-p95-seconds", "seconds above 0"),
    (["--max-p95-seconds", "-600"], "--max-p95-seconds", "seconds above 0"),
    (["--max-p95-seconds", "nan"], "--max-p95-seconds", "seconds above 0"),
    (["--max-p95-seconds", "1e999"], "--max-p95-seconds", "not a finite number"),
    (["--since-days", "1e10"], "--since-days", "above 0 and at most 36500"),
    (["--since-days", "36500.5"], "--since-days", "above 0 and at most 36500"),
    (["--since-days", "0"], "--since-days", "above 0 and at most 36500"),
    (["--since-days", "inf"], "--since-days", "not a finite number"),
    (["--min-finished", "-1"], "--min-finished", "0 or more"),
    (["--min-finished", "2.5"], "--min-finished", "not a whole number"),
]


@pytest.mark.parametrize(("args", "flag", "says"), BAD_THRESHOLDS)
def test_check_rejects_a_bad_threshold_on_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], flag: str, says: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", *args])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"dcs-restores check: error: argument {flag}: {args[1]!r}")
    assert says in line


@pytest.fixture
def loaded(serve, runner: Runner, monkeypatch: pytest.MonkeyPatch) -> Runner:
    """A database loaded by a real run (with its views), which the commands then read."""
    world = small_world(seed=51, instances=len(HOSTILE_NAMES) + 1, restores=8, empty=0)
    simulator = serve(world)
    runner.run(simulator)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(runner.database))
    return runner


def test_check_accepts_the_range_limits(loaded: Runner, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--max-failure-rate", "1", "--max-p95-seconds", "1e-9", "--since-days", "36500"]
    assert main(["check", *args, "--min-finished", "0"]) == 3  # any restore is above 1 ns
    assert main(["check", "--max-failure-rate", "0", "--since-days", "1e-6"]) == 0
    assert "dcs-restores" not in capsys.readouterr().err


def _hold_read_only(database: Path) -> subprocess.Popen[str]:
    """Another process with the database open read-only (a notebook, `duckdb -readonly`): it
    shares the file with other readers, and keeps every writer out."""
    code = (
        "import duckdb, sys, time\n"
        f"con = duckdb.connect({str(database)!r}, read_only=True)\n"
        "print('open', flush=True)\n"
        "sys.stdin.read()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "open"
    return child


def test_check_and_report_read_a_read_only_database(
    loaded: Runner, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    database = loaded.database
    before = database.read_bytes()
    database.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # 0444
    holder = _hold_read_only(database)
    try:
        started = time.monotonic()
        assert main(["check", "--max-failure-rate", "1", "--per-instance"]) == 0
        assert main(["check", "--max-failure-rate", "1", "--json"]) == 0
        assert main(["report", "--html", str(tmp_path / "r.html")]) == 0
        assert time.monotonic() - started < 60
    finally:
        holder.communicate("", timeout=30)
        database.chmod(0o644)
    out, err = capsys.readouterr()
    assert "error" not in err
    assert "OK" in out and "HTML report written" in out
    assert database.read_bytes() == before


def test_check_names_a_missing_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "none.duckdb"))
    assert main(["check", "--max-failure-rate", "0.5"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"dcs-restores: error: no database at {tmp_path / 'none.duckdb'}: run " + (
        "`dcs-restores run` first, or name the file with --database PATH or "
        "DESTINATION__DUCKDB__CREDENTIALS"
    )


HOSTILE_NAMES = [
    "a$x^2$b",  # mathtext that parses
    "x$^$y",  # mathtext that does not
    "$\\undefined$",  # an unknown TeX command
    "\x1b[31mred\x1b[0m",  # ANSI colour
    "bell\x07",
    "clear\x1b[2J\x1b[Hscreen",
    "c1\x9bcsi \u202egnp.exe",  # a C1 CSI and a bidi override
    "nl\nbreak\ttab",
]


def _rename_instances(database: Path) -> list[str]:
    """Give each instance of the database one of the hostile names; returns the instance ids.

    The last restore of the first instance also gets a hostile error code, and is failed."""
    with duckdb.connect(str(database)) as con:
        ids = [
            r[0] for r in con.execute("select instance_id from dcs.instances order by 1").fetchall()
        ]
        for instance_id, name in zip(ids, HOSTILE_NAMES, strict=False):
            con.execute(
                "update dcs.instances set name = ? where instance_id = ?", [name, instance_id]
            )
        con.execute(
            "update dcs.restores set status = 'failed', error_code = ? where restore_id = "
            "(select max(restore_id) from dcs.restores where instance_id = ? and "
            "updated_at is not null)",
            ["E\x1b]0;owned\x07", ids[0]],
        )
        # the instance without a name: its restores get an id that would act on a terminal
        con.execute(
            "update dcs.restores set instance_id = ? where instance_id = ?",
            ["id\x1b[5mblink", ids[-1]],
        )
    return ids


def test_report_and_check_print_hostile_names_literally(
    loaded: Runner, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _rename_instances(loaded.database)
    html = tmp_path / "report.html"

    assert main(["report", "--html", str(html)]) == 0
    assert (
        main(["check", "--max-failure-rate", "1", "--per-instance", "--since-days", "36500"]) == 0
    )
    out, err = capsys.readouterr()

    assert "error" not in err
    for line in out.splitlines():
        assert not CONTROL.search(line), repr(line)
    # shown, escaped where they would act on the terminal
    assert "a$x^2$b" in out and "x$^$y" in out
    assert "\\x1b[31mred\\x1b[0m" in out and "bell\\x07" in out
    assert "E\\x1b]0;owned\\x07" in out  # the error code, in the report
    assert "id\\x1b[5mblink" in out  # an instance id, in check's per-instance lines
    page = html.read_text(encoding="utf-8")
    assert "a$x^2$b" in page and "bell\\x07" in page
    assert not CONTROL.search(page.replace("\n", ""))
    # the charts are inline SVG, drawn whatever the names say
    assert len(re.findall(r"<figure class='chart' data-chart='[^']+'><svg ", page)) == 3


def test_run_error_lines_are_printable(
    hostile: Start,
    runner: Runner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A failed instance's error echoes the server's `error_msg`: printed literally."""
    world = small_world(seed=52)
    simulator, server = hostile(world)
    target = world.instances_at(simulator.now)[0]["instance_id"]
    evil = "gone\x1b[2J\x1b[31m\x07\u202e"

    def refuse(exchange: Exchange) -> Answer | None:
        if exchange.instance_id != target or exchange.kind != "restores":
            return None
        return json_answer({"error_code": "DCS.4999", "error_msg": evil}, status=400)

    server.hook = refuse
    for key, value in cli_env(simulator, runner).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SOURCES__DCS_RESTORES__ENDPOINT", server.base_url)
    started = time.monotonic()
    code = main(["run", "--quiet"])
    assert time.monotonic() - started < 60
    out, err = capsys.readouterr()
    assert code == 1
    (line,) = [line for line in err.splitlines() if line.startswith("dcs-restores: error:")]
    assert "DCS.4999" in line and "gone\\x1b[2J" in line
    for printed in [*out.splitlines(), line]:
        assert not CONTROL.search(printed) and "\u202e" not in printed, repr(printed)
