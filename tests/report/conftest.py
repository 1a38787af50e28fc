"""The report tests' world, written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_world import build


@pytest.fixture(scope="session")
def risk_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("risk") / "dcs_restores.duckdb"
    build(path)
    return path
