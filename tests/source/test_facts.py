"""Facts with one home: the SQL models and the messages say what settings.py says."""

from __future__ import annotations

import re
from pathlib import Path

from dcs_restores import RESTORE_COLUMNS
from dcs_restores.advice import NO_ROUTE_ADVICE, auth_advice
from dcs_restores.records import RESTORE_OWN_FIELDS
from dcs_restores.settings import (
    ENV_PREFIX,
    OPEN_STATUSES,
    RESTORE_TEXT_FIELDS,
    TERMINAL_STATUSES,
    env_var,
)

MODELS = Path(__file__).resolve().parents[2] / "pipelines" / "dcs_restores_pipeline" / "models"


def _statuses(sql: str, flag: str) -> set[str]:
    match = re.search(r"status in \(([^)]*)\) as " + flag, sql)
    assert match, flag
    return set(re.findall(r"'([a-z_]+)'", match.group(1)))


def test_the_staging_view_names_the_statuses_settings_names() -> None:
    sql = (MODELS / "staging" / "stg_restores.sql").read_text(encoding="utf-8")
    assert _statuses(sql, "is_in_progress") == OPEN_STATUSES
    assert _statuses(sql, "is_finished") == TERMINAL_STATUSES


def test_the_restore_columns_are_one_list() -> None:
    assert frozenset(RESTORE_COLUMNS) == RESTORE_OWN_FIELDS
    assert [c for c in RESTORE_COLUMNS if c in RESTORE_TEXT_FIELDS] == list(RESTORE_TEXT_FIELDS)


def test_advice_names_the_environment_variables_of_the_one_prefix() -> None:
    assert ENV_PREFIX == "SOURCES__DCS_RESTORES__"
    assert env_var("credentials.auth_token") == "SOURCES__DCS_RESTORES__CREDENTIALS__AUTH_TOKEN"
    assert "SOURCES__DCS_RESTORES__ENDPOINT (or REGION)" in NO_ROUTE_ADVICE
    advice = auth_advice("APIGW.0301", 401, "aksk")
    assert "SOURCES__DCS_RESTORES__CREDENTIALS__ACCESS_KEY" in advice
    assert "SOURCES__DCS_RESTORES__CREDENTIALS__SECURITY_TOKEN" in advice
    assert "SOURCES__DCS_RESTORES__PROJECT_ID" in auth_advice(None, 403, "token")
