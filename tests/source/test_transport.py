"""The HTTP session: settings from the environment are honoured, but nothing from it may
replace the signed Authorization header."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dcs_restores.client import DcsClient
from dcs_restores.settings import INSTANCES_PATH
from dcs_simulator import World

from tests.conftest import Runner


def test_a_netrc_entry_for_the_endpoint_does_not_replace_the_signature(
    tmp_path: Path, serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulator = serve(World.generate(seed=3, instances=2, restores_per_instance=3))
    host = simulator.base_url.split("//")[1].split(":")[0]
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {host} login someone password something\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    client = DcsClient(Runner(tmp_path).settings(simulator))
    body = client.get(INSTANCES_PATH.format(project_id=simulator.world.project_id), {})
    assert len(body["instances"]) == 2
    assert simulator.stats()["by_status"] == {"200": 1}


def test_proxy_and_ca_bundle_come_from_the_environment(
    tmp_path: Path, serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulator = serve(World.generate(seed=3, instances=1, restores_per_instance=1))
    settings = Runner(tmp_path).settings(simulator, endpoint="https://dcs.eu-de.otc.t-systems.com")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "corporate-ca.pem"))
    session = DcsClient(settings)._session()
    assert session.proxies.get("https") == "http://proxy.example:3128"
    assert session.verify == str(tmp_path / "corporate-ca.pem")
