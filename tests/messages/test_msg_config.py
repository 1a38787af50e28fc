"""Configuration messages of the real command: every missing setting at once with the demo,
OTC regions, ENDPOINT beside REGION, misspelled variables and keys."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from dcs_restores.configuration import load_settings
from dcs_restores.errors import ConfigError, ConfigWarning
from dcs_restores_pipeline import cli
from dcs_simulator import DcsSimulator, World

from tests.messages.conftest import PROJECT_ID, P, bare_env, configured_env, dcs

ROOT = Path("/")


MISSING = (
    "dcs-restores: error: missing settings: project id (SOURCES__DCS_RESTORES__PROJECT_ID); "
    "endpoint (SOURCES__DCS_RESTORES__ENDPOINT or SOURCES__DCS_RESTORES__REGION); "
    "credentials (SOURCES__DCS_RESTORES__CREDENTIALS__ACCESS_KEY and "
    "SOURCES__DCS_RESTORES__CREDENTIALS__SECRET_KEY, or "
    "SOURCES__DCS_RESTORES__CREDENTIALS__AUTH_TOKEN); set them in the environment or under "
    "[sources.dcs_restores] in .dlt/config.toml (keys in .dlt/secrets.toml); to try the "
    "tool without a DCS project, run `dcs-restores demo`"
)


def test_run_without_configuration_from_root_names_every_missing_setting_and_the_demo(
    tmp_path: Path,
) -> None:
    result = dcs(["run", "--quiet"], bare_env(tmp_path), ROOT)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", MISSING + "\n")


def test_run_without_configuration_in_a_temp_dir(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--quiet"]) == cli.EXIT_CONFIG
    assert capsys.readouterr().err == MISSING + "\n"


@pytest.mark.parametrize(
    "argv",
    [["targets"], ["run", "--target", "alpha", "--quiet"]],
)
def test_target_commands_without_configuration_say_what_run_says(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # no `targets` and no project: not "targets[0] has no usable name"
    assert cli.main(argv) == cli.EXIT_CONFIG
    assert capsys.readouterr().err == MISSING + "\n"


def _configure(monkeypatch: pytest.MonkeyPatch, endpoint: str, **extra: str) -> None:
    for key, value in configured_env(Path("."), endpoint, **extra).items():
        if key.startswith(("SOURCES", "REGION")):
            monkeypatch.setenv(key, value)
    # main() shows the source's warnings its own way: give the test's handler back after
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)


def test_one_missing_setting_keeps_its_own_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure(monkeypatch, "https://dcs.example.com")
    monkeypatch.delenv(f"{P}PROJECT_ID")
    assert cli.main(["run", "--quiet"]) == cli.EXIT_CONFIG
    assert capsys.readouterr().err == (
        "dcs-restores: error: no project id: set SOURCES__DCS_RESTORES__PROJECT_ID or "
        "project_id under [sources.dcs_restores]\n"
    )


@pytest.mark.parametrize(
    ("region", "endpoint"),
    [
        ("eu-de", "https://dcs.eu-de.otc.t-systems.com"),
        ("eu-nl", "https://dcs.eu-nl.otc.t-systems.com"),
        ("eu-west-101", "https://dcs.eu-west-101.myhuaweicloud.com"),
    ],
)
def test_region_builds_the_cloud_s_endpoint(
    monkeypatch: pytest.MonkeyPatch, region: str, endpoint: str
) -> None:
    monkeypatch.setenv(f"{P}REGION", region)
    monkeypatch.setenv(f"{P}PROJECT_ID", PROJECT_ID)
    monkeypatch.setenv(f"{P}CREDENTIALS__AUTH_TOKEN", "token")
    assert load_settings().endpoint == endpoint


def test_otc_region_without_a_known_endpoint_asks_for_endpoint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure(monkeypatch, "")
    monkeypatch.delenv(f"{P}ENDPOINT")
    monkeypatch.setenv("REGION", "eu-ch2")  # dlt also reads the bare key
    assert cli.main(["run", "--quiet"]) == cli.EXIT_CONFIG
    assert capsys.readouterr().err == (
        "dcs-restores: error: region 'eu-ch2' is an Open Telekom Cloud region without a known "
        "DCS endpoint: set SOURCES__DCS_RESTORES__ENDPOINT to its DCS endpoint (see the IAM "
        "token's catalog)\n"
    )


@pytest.fixture
def simulator() -> Iterator[DcsSimulator]:
    sim = DcsSimulator(World.generate(seed=3, project_id=PROJECT_ID, instances=2))
    sim.start()
    yield sim
    sim.stop()


def test_endpoint_beside_region_wins_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], simulator: DcsSimulator
) -> None:
    _configure(monkeypatch, simulator.base_url, **{f"{P}REGION": "eu-de"})
    assert cli.main(["run", "--quiet"]) == cli.EXIT_OK
    out = capsys.readouterr()
    assert "instances read: 2 of 2 listed" in out.out
    assert out.err == (
        f"dcs-restores: warning: both endpoint ({simulator.base_url}) and region (eu-de) are "
        "set: using the endpoint; unset SOURCES__DCS_RESTORES__REGION (or "
        "SOURCES__DCS_RESTORES__ENDPOINT)\n"
    )


def test_misspelled_variables_and_keys_are_named_with_the_closest_known_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], simulator: DcsSimulator
) -> None:
    _configure(
        monkeypatch,
        simulator.base_url,
        SOURCES__DCS_RESTORE__ENDPOINT="https://dcs.example.com",
        SOURCES__DCS_RESTORES__PAGESIZE="10",
    )
    Path(".dlt").mkdir()
    Path(".dlt/config.toml").write_text(
        '[sources.dcs_restores]\npagesize = 10\n\n[sources.dcs_restore]\nregion = "eu-de"\n'
    )
    assert cli.main(["run", "--quiet"]) == cli.EXIT_OK
    assert capsys.readouterr().err.splitlines() == [
        "dcs-restores: warning: environment variable SOURCES__DCS_RESTORES__PAGESIZE is not a "
        "known setting: did you mean SOURCES__DCS_RESTORES__PAGE_SIZE?",
        "dcs-restores: warning: environment variable SOURCES__DCS_RESTORE__ENDPOINT is not read: "
        "did you mean SOURCES__DCS_RESTORES__ENDPOINT?",
        "dcs-restores: warning: unknown key pagesize under [sources.dcs_restores] in "
        ".dlt/config.toml is not read: did you mean page_size?",
        "dcs-restores: warning: [sources.dcs_restore] in .dlt/config.toml is not read: did you "
        "mean [sources.dcs_restores]?",
    ]


def test_settings_of_other_sources_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__GITHUB__ACCESS_TOKEN", "x")
    monkeypatch.setenv(f"{P}ENDPOINT", "https://dcs.example.com")
    monkeypatch.setenv(f"{P}PROJECT_ID", PROJECT_ID)
    monkeypatch.setenv(f"{P}CREDENTIALS__AUTH_TOKEN", "token")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        load_settings()
    assert [str(w.message) for w in seen if w.category is ConfigWarning] == []


def test_bad_region_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="is not a region name"):
        from dcs_restores.validation import _endpoint

        _endpoint(None, "EU DE")
