"""Bad configuration is reported before any request, on one line that says what to set and
where; exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from dcs_restores_pipeline import cli
from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY

from tests.conftest import Runner
from tests.support.cli import REPO, run_cli
from tests.support.worlds import small_world

P = "SOURCES__DCS_RESTORES__"
URL_SECRET = "url-password-Qw7Zr2"

# env changes (None removes) -> words the one-line error must contain
CASES: dict[str, tuple[dict[str, str | None], tuple[str, ...]]] = {
    "no-endpoint": ({"ENDPOINT": None}, ("no endpoint", f"{P}ENDPOINT", f"{P}REGION")),
    "endpoint-not-a-url": ({"ENDPOINT": "dcs.example.com"}, ("not an http(s) URL", f"{P}ENDPOINT")),
    "endpoint-without-scheme-with-password": (
        {"ENDPOINT": f"ak:{URL_SECRET}@dcs.eu-de.otc.t-systems.com"},
        ("not an http(s) URL", f"{P}ENDPOINT"),
    ),
    "endpoint-with-path": ({"ENDPOINT": "https://dcs.example.com/v2/x"}, ("without a path",)),
    "endpoint-plain-http": (
        {"ENDPOINT": "http://dcs.eu-de.otc.t-systems.com"},
        ("uses http", "https", f"{P}ENDPOINT"),
    ),
    "endpoint-with-password": (
        {"ENDPOINT": f"https://ak:{URL_SECRET}@dcs.eu-de.otc.t-systems.com"},
        ("must not contain a user or password", "[sources.dcs_restores.credentials]"),
    ),
    "bad-region": ({"ENDPOINT": None, "REGION": "EU DE"}, ("not a region name", f"{P}REGION")),
    "no-project-id": ({"PROJECT_ID": None}, ("no project id", f"{P}PROJECT_ID")),
    "bad-project-id": ({"PROJECT_ID": "my-project"}, ("32 hex characters", f"{P}PROJECT_ID")),
    "no-secret-key": (
        {"CREDENTIALS__SECRET_KEY": None},
        ("secret_key is missing", f"{P}CREDENTIALS__SECRET_KEY", ".dlt/secrets.toml"),
    ),
    "no-access-key": (
        {"CREDENTIALS__ACCESS_KEY": None},
        ("access_key is missing", f"{P}CREDENTIALS__ACCESS_KEY"),
    ),
    "no-credentials": (
        {"CREDENTIALS__ACCESS_KEY": None, "CREDENTIALS__SECRET_KEY": None},
        ("no credentials", f"{P}CREDENTIALS__ACCESS_KEY", f"{P}CREDENTIALS__AUTH_TOKEN"),
    ),
    "bad-access-key": (
        {"CREDENTIALS__ACCESS_KEY": "not an ak!"},
        ("access_key is malformed", f"{P}CREDENTIALS__ACCESS_KEY"),
    ),
    "security-token-alone": (
        {
            "CREDENTIALS__ACCESS_KEY": None,
            "CREDENTIALS__SECRET_KEY": None,
            "CREDENTIALS__SECURITY_TOKEN": "temporary-token-123",
        },
        ("security_token is set", f"{P}CREDENTIALS__ACCESS_KEY"),
    ),
    "token-and-keys": (
        {"CREDENTIALS__AUTH_TOKEN": "MIItoken-123456"},
        ("both auth_token and access_key", "keep one"),
    ),
    "bad-instance-id": ({"INSTANCE_IDS": "abc"}, ("not a DCS instance id", f"{P}INSTANCE_IDS")),
    "instance-ids-not-a-list": ({"INSTANCE_IDS": "[oops"}, ("not a list", f"{P}INSTANCE_IDS")),
    "bad-start-date": ({"START_DATE": "yesterday"}, ("not a date", f"{P}START_DATE", "YYYY-MM-DD")),
    "bad-page-size": ({"PAGE_SIZE": "0"}, ("page_size must be a number", f"{P}PAGE_SIZE")),
    "bad-max-attempts": ({"MAX_ATTEMPTS": "many"}, ("max_attempts", f"{P}MAX_ATTEMPTS")),
    "bad-targets": ({"TARGETS": "not a list"}, ("targets", f"{P}TARGETS")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_configuration_is_one_line_before_any_request(
    serve, runner: Runner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    name: str,
) -> None:  # fmt: skip
    simulator = serve(small_world(seed=61, instances=2))
    good = {
        "ENDPOINT": simulator.base_url,
        "PROJECT_ID": simulator.world.project_id,
        "CREDENTIALS__ACCESS_KEY": DEMO_ACCESS_KEY,
        "CREDENTIALS__SECRET_KEY": DEMO_SECRET_KEY,
    }
    changes, words = CASES[name]
    for key, value in (good | changes).items():
        if value is not None:
            monkeypatch.setenv(P + key, value)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(runner.database))

    assert cli.main(["run", "--quiet"]) == cli.EXIT_CONFIG
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dcs-restores: error: "), err
    assert all(word in lines[0] for word in words), lines[0]
    assert simulator.requests == []
    assert not runner.database.exists()
    for secret in (DEMO_SECRET_KEY, URL_SECRET, "temporary-token-123", "MIItoken-123456"):
        assert secret not in out + err


def _toml_case(tmp_path: Path, config: str, secrets: str = "") -> str:
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(config, encoding="utf-8")
    if secrets:
        (tmp_path / ".dlt" / "secrets.toml").write_text(secrets, encoding="utf-8")
    env = {"PYTHONPATH": str(REPO), "DLT_DATA_DIR": str(tmp_path / "dlt")}
    result = run_cli(["run", "--quiet"], env, tmp_path)
    assert result.returncode == cli.EXIT_CONFIG
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dcs-restores: error: "), result.stderr
    return lines[0]


def test_broken_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    line = _toml_case(tmp_path, '[sources.dcs_restores]\nproject_id = "0123\n')
    assert "config.toml" in line and "line 2" in line


def test_secret_in_config_toml_says_where_secrets_go(tmp_path: Path) -> None:
    line = _toml_case(
        tmp_path,
        '[sources.dcs_restores.credentials]\naccess_key = "AK123456789"\n'
        'secret_key = "in-the-wrong-file-123"\n',
    )
    assert "secret" in line and ".dlt/secrets.toml" in line
    assert "in-the-wrong-file-123" not in line
