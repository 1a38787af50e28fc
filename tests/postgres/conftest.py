"""A fresh PostgreSQL database per test, from the server `.ci/postgres.sh` starts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

URL_ENV = "DCS_TEST_POSTGRES_URL"
REQUIRE_ENV = "DCS_REQUIRE_POSTGRES"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """Yield the URL of a new, empty database; dropped afterwards."""
    import psycopg2

    admin_url = os.environ.get(URL_ENV)
    if not admin_url:
        message = f'no PostgreSQL: run `eval "$(bash .ci/postgres.sh)"` to set {URL_ENV}'
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(message)
        pytest.skip(message)
    name = f"dcs_t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    parts = urlsplit(admin_url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()
