"""The READMEs as written: their commands name real options, their exit codes are the code's,
`make lint`/`make test` say what the Makefile does, and the crontab line mails only what needs
a human."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dcs_restores_pipeline.cli import build_parser
from dcs_restores_pipeline.exitcodes import EXIT_CODES
from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DcsSimulator, World

from tests.messages.conftest import PROJECT_ID

REPO = Path(__file__).resolve().parents[2]
READMES = [
    REPO / "README.md",
    REPO / "sources" / "dcs_restores" / "README.md",
    REPO / "pipelines" / "README.md",
]


def _subcommands() -> dict[str, set[str]]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return {
        name: {opt for a in sub._actions for opt in a.option_strings}
        for name, sub in action.choices.items()  # type: ignore[union-attr]
    }


def test_every_command_in_the_readmes_names_a_real_command_and_real_options() -> None:
    commands = _subcommands()
    seen = 0
    for readme in READMES:
        text = readme.read_text()
        # a command in a code span or a code block line, up to its end or a shell operator
        for match in re.finditer(r"dcs-restores ([a-z-]+)([^`\n|;&>]*)", text):
            name, rest = match.group(1), match.group(2)
            if name not in commands:
                continue  # a word after the name in prose, not a command
            seen += 1
            for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", rest):
                assert flag in commands[name], f"{readme.name}: {match.group(0)!r}: {flag}"
    assert seen > 20


def test_no_unknown_subcommand_is_shown_in_code() -> None:
    commands = _subcommands()
    for readme in READMES:
        for match in re.finditer(r"`dcs-restores ([a-z][a-z-]*)", readme.read_text()):
            assert match.group(1) in commands, f"{readme.name}: {match.group(0)}"


def test_the_exit_code_table_is_the_code_s() -> None:
    text = (REPO / "README.md").read_text()
    table = text[text.index("## Exit codes") :].split("\n## ")[0]
    codes = {int(code) for code in re.findall(r"^\| `(\d+)` \|", table, re.MULTILINE)}
    assert codes == set(EXIT_CODES)


def test_make_lint_and_make_test_are_described_as_the_makefile_runs_them() -> None:
    makefile = (REPO / "Makefile").read_text()
    lint = makefile[makefile.index("\nlint:") :].split("\n\n")[0]
    assert all(tool in lint for tool in ("ruff check", "ruff format --check", "mypy"))
    assert re.search(r"^test: lint$", makefile, re.MULTILINE)
    readme = (REPO / "README.md").read_text()
    assert "make lint    # ruff check, ruff format --check and mypy --strict" in readme
    assert "make test    # venv + install, then make lint and the whole test suite" in readme


def _crontab() -> tuple[dict[str, str], str]:
    text = (REPO / "README.md").read_text()
    block = text.split("```cron\n", 1)[1].split("```", 1)[0]
    env, command = {}, ""
    for line in block.strip().splitlines():
        if re.match(r"^[A-Z_]+=", line):
            key, _, value = line.partition("=")
            env[key] = value
        else:
            command = line.split(None, 5)[5]  # after the five time fields
    return env, command


def _cron(tmp_path: Path, endpoint: str, **drop: bool) -> subprocess.CompletedProcess[str]:
    """The README's crontab line, as written, with its paths moved into `tmp_path`."""
    env, command = _crontab()
    bindir = Path(sys.executable).parent
    command = command.replace("/opt/dcs/.venv/bin/", f"{bindir}/")
    command = command.replace("/var/log/", f"{tmp_path}/log/")
    (tmp_path / "log").mkdir()
    (tmp_path / "lib").mkdir()
    env = {key: value.replace("/var/lib/dcs/", f"{tmp_path}/lib/") for key, value in env.items()}
    env.update(
        {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "DLT_DATA_DIR": str(tmp_path / "dlt"),
            "SOURCES__DCS_RESTORES__ENDPOINT": endpoint,
            "SOURCES__DCS_RESTORES__PROJECT_ID": PROJECT_ID,
            "SOURCES__DCS_RESTORES__CREDENTIALS__ACCESS_KEY": DEMO_ACCESS_KEY,
            "SOURCES__DCS_RESTORES__CREDENTIALS__SECRET_KEY": DEMO_SECRET_KEY,
            "SOURCES__DCS_RESTORES__MAX_ATTEMPTS": "1",
        }
    )
    env = {key: value for key, value in env.items() if not drop.get(key)}
    # cron runs the line with /bin/sh from the home directory; what it prints is mailed
    return subprocess.run(
        ["/bin/sh", "-c", command],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_crontab_line_mails_a_failed_run_s_last_line_only(tmp_path: Path) -> None:
    # a run that fails at once (no project id); its log keeps the line, the mail has only it
    result = _cron(tmp_path, "https://dcs.example.com", SOURCES__DCS_RESTORES__PROJECT_ID=True)
    mail = (result.stdout + result.stderr).splitlines()
    database = tmp_path / "lib" / "dcs_restores.duckdb"
    assert mail == [
        "dcs-restores: error: no project id: set SOURCES__DCS_RESTORES__PROJECT_ID or "
        "project_id under [sources.dcs_restores]",
        f"dcs-restores: error: no database at {database}: run `dcs-restores run` first, or "
        "name the file with --database PATH or DESTINATION__DUCKDB__CREDENTIALS",
    ]
    assert (tmp_path / "log" / "dcs_restores.err").read_text().splitlines()[-1] == mail[0]


@pytest.fixture
def failing_world() -> Iterator[DcsSimulator]:
    now = datetime.now(UTC)
    world = World.generate(
        seed=11,
        project_id=PROJECT_ID,
        instances=3,
        restores_per_instance=20,
        start=now - timedelta(days=5),
        span=timedelta(days=4),
        failure_rate=0.5,
    )
    sim = DcsSimulator(world)
    sim.start()
    yield sim
    sim.stop()


def test_the_crontab_line_mails_check_s_breaches(
    tmp_path: Path, failing_world: DcsSimulator
) -> None:
    result = _cron(tmp_path, failing_world.base_url)
    mail = result.stdout + result.stderr
    assert "THRESHOLD CROSSED: " in mail
    assert mail.rstrip().endswith("threshold(s) crossed")
    assert '"restores_total"' not in mail and "instances read" not in mail  # the run's log stays
    assert (tmp_path / "log" / "dcs_restores.jsonl").read_text().count("\n") == 1
