"""Configuration: env vars only, defaults in code, one-line errors naming what to set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dcs_restores.configuration import ConfigError, load_settings

PID = "0123456789abcdef0123456789abcdef"
IID = "11111111-2222-3333-4444-555555555555"
PREFIX = "SOURCES__DCS_RESTORES__"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> pytest.MonkeyPatch:  # type: ignore[no-untyped-def]
    # no .dlt/ of the repo: configuration comes from the environment alone
    monkeypatch.chdir(tmp_path)
    for key, value in {
        "ENDPOINT": "https://dcs.eu-de.otc.t-systems.com",
        "PROJECT_ID": PID,
        "CREDENTIALS__ACCESS_KEY": "AKEXAMPLE0001",
        "CREDENTIALS__SECRET_KEY": "very-secret-value",
    }.items():
        monkeypatch.setenv(PREFIX + key, value)
    return monkeypatch


def test_env_only_configuration_with_defaults(env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.endpoint == "https://dcs.eu-de.otc.t-systems.com"
    assert settings.project_id == PID
    assert settings.credentials.access_key == "AKEXAMPLE0001"
    assert settings.instance_ids is None
    assert settings.lookback == timedelta(hours=24)
    assert settings.page_size == 1000
    assert "very-secret-value" not in repr(settings)


def test_region_builds_huawei_endpoint(env: pytest.MonkeyPatch) -> None:
    env.delenv(PREFIX + "ENDPOINT")
    env.setenv(PREFIX + "REGION", "eu-west-101")
    assert load_settings().endpoint == "https://dcs.eu-west-101.myhuaweicloud.com"


@pytest.mark.parametrize("value", [f'["{IID}"]', IID, f"{IID}, {IID}"])
def test_instance_ids_forms(env: pytest.MonkeyPatch, value: str) -> None:
    env.setenv(PREFIX + "INSTANCE_IDS", value)
    assert load_settings().instance_ids == (IID,)


def test_start_date_and_token(env: pytest.MonkeyPatch) -> None:
    env.delenv(PREFIX + "CREDENTIALS__ACCESS_KEY")
    env.delenv(PREFIX + "CREDENTIALS__SECRET_KEY")
    env.setenv(PREFIX + "CREDENTIALS__AUTH_TOKEN", "tok-123")
    env.setenv(PREFIX + "START_DATE", "2026-01-02")
    settings = load_settings()
    assert settings.credentials.mode == "token"
    assert settings.start_date == datetime(2026, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ENDPOINT": None}, "no endpoint: set SOURCES__DCS_RESTORES__ENDPOINT"),
        (
            {"ENDPOINT": "dcs.example.com"},
            "is not an http(s) URL: set SOURCES__DCS_RESTORES__ENDPOINT",
        ),
        ({"ENDPOINT": "https://dcs.example.com/v2"}, "without a path"),
        ({"PROJECT_ID": None}, "no project id: set SOURCES__DCS_RESTORES__PROJECT_ID"),
        ({"PROJECT_ID": "my-project"}, "is not a project id (32 hex characters)"),
        (
            {"CREDENTIALS__SECRET_KEY": None},
            "secret_key is missing: set SOURCES__DCS_RESTORES__CREDENTIALS__SECRET_KEY",
        ),
        (
            {"CREDENTIALS__SECRET_KEY": None, "CREDENTIALS__ACCESS_KEY": None},
            "no credentials: set SOURCES__DCS_RESTORES__CREDENTIALS__ACCESS_KEY",
        ),
        ({"INSTANCE_IDS": "abc"}, "is not a DCS instance id"),
        ({"START_DATE": "yesterday"}, "start_date 'yesterday' is not a date"),
        ({"PAGE_SIZE": "5000"}, "page_size must be a number from 1 to 1000"),
        ({"LOOKBACK_HOURS": "-1"}, "lookback_hours must be a number"),
        (
            {"CONCURRENCY": "lots"},
            "concurrency must be a number from 1 to 64: fix SOURCES__DCS_RESTORES__CONCURRENCY",
        ),
    ],
)
def test_bad_configuration_is_one_clear_line(
    env: pytest.MonkeyPatch, change: dict[str, str | None], message: str
) -> None:
    for key, value in change.items():
        if value is None:
            env.delenv(PREFIX + key)
        else:
            env.setenv(PREFIX + key, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    text = str(info.value)
    assert message in text
    assert "\n" not in text
    assert "very-secret-value" not in text
