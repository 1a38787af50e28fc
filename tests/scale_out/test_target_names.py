"""Targets by name: what `dcs-restores targets` lists and `run --target NAME` selects."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dcs_restores.configuration import ConfigError
from dcs_restores.targets import select_target, target_names
from dcs_restores_pipeline.cli import EXIT_CONFIG, main

PREFIX = "SOURCES__DCS_RESTORES__"
FIRST, SECOND = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PREFIX + "CREDENTIALS__ACCESS_KEY", "AK0000000000000000001")
    monkeypatch.setenv(PREFIX + "CREDENTIALS__SECRET_KEY", "sk")


def configure(monkeypatch: pytest.MonkeyPatch, *targets: dict[str, Any]) -> None:
    monkeypatch.setenv(PREFIX + "TARGETS", json.dumps(list(targets)))


def test_a_target_is_named_by_its_name_else_its_project_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(
        monkeypatch,
        {"name": "eu_de", "region": "eu-de", "project_id": FIRST},
        {"region": "eu-nl", "project_id": SECOND},
    )
    assert target_names() == ["eu_de", SECOND]
    chosen = select_target(SECOND)
    assert (chosen.project_id, chosen.endpoint) == (SECOND, "https://dcs.eu-nl.otc.t-systems.com")
    assert select_target("eu_de").project_id == FIRST


def test_one_project_without_targets_is_named_by_its_project_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PREFIX + "REGION", "eu-de")
    monkeypatch.setenv(PREFIX + "PROJECT_ID", FIRST)
    assert target_names() == [FIRST]


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (
            [
                {"name": "a", "region": "eu-de", "project_id": FIRST},
                {"name": "a", "region": "eu-nl", "project_id": SECOND},
            ],
            "two targets have the same name",
        ),
        ([{"name": "EU DE", "region": "eu-de", "project_id": FIRST}], "targets[0]: name must be"),
        ([{"name": "", "region": "eu-de", "project_id": FIRST}], "targets[0]: name must be"),
        ([{"name": "eu__de", "region": "eu-de", "project_id": FIRST}], "targets[0]: name must be"),
    ],
)
def test_names_are_unique_and_safe(
    monkeypatch: pytest.MonkeyPatch, targets: list[dict[str, str]], message: str
) -> None:
    configure(monkeypatch, *targets)
    with pytest.raises(ConfigError) as info:
        target_names()
    assert message in str(info.value)


def test_an_unknown_target_is_refused_with_the_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(monkeypatch, {"name": "eu_de", "region": "eu-de", "project_id": FIRST})
    assert main(["targets", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == ["eu_de"]
    assert main(["run", "--target", "eu_nl"]) == EXIT_CONFIG
    assert "no target named 'eu_nl': the targets are eu_de" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["run", "--target", "../x"])
    assert exited.value.code == EXIT_CONFIG
    assert "is not a target name" in capsys.readouterr().err


def test_names_need_no_keys_and_a_target_needs_only_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A DAG lists the targets without keys; each task has only its own target's keys."""
    monkeypatch.delenv(PREFIX + "CREDENTIALS__ACCESS_KEY")
    monkeypatch.delenv(PREFIX + "CREDENTIALS__SECRET_KEY")
    own = {"access_key": "AK0000000000000000002", "secret_key": "own"}
    configure(
        monkeypatch,
        {"name": "eu_de", "region": "eu-de", "project_id": FIRST, "credentials": own},
        {"name": "eu_nl", "region": "eu-nl", "project_id": SECOND},
    )
    assert target_names() == ["eu_de", "eu_nl"]
    assert select_target("eu_de").credentials.access_key == own["access_key"]
    with pytest.raises(ConfigError) as info:
        select_target("eu_nl")
    assert str(info.value).startswith("targets[1]: no credentials")
