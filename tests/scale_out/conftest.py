"""The PostgreSQL database fixture of tests/postgres, for the per-target tests here."""

from tests.postgres.conftest import postgres_url

__all__ = ["postgres_url"]
