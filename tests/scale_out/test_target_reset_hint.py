"""A package that cannot load names the command that drops it, for the run that left it."""

from __future__ import annotations

from typing import Any

import pytest
from dcs_restores_pipeline.recovery import PendingLoadFailed, finish_pending


class _BrokenPackage:
    """Just enough of a dlt pipeline: one extracted package whose normalize fails for good."""

    has_pending_data = True

    def list_extracted_load_packages(self) -> list[str]:
        return ["1733100000.123"]

    def list_normalized_load_packages(self) -> list[str]:
        return []

    def normalize(self) -> Any:
        raise ValueError("column no_such_column is not in the schema")


@pytest.mark.parametrize(
    ("target", "command"),
    [
        (None, "`dcs-restores reset-pending`"),
        ("alpha", "`dcs-restores reset-pending --target alpha`"),
    ],
)
def test_a_broken_package_names_the_reset_of_its_own_run(target: str | None, command: str) -> None:
    with pytest.raises(PendingLoadFailed) as failed:
        finish_pending(_BrokenPackage(), target)  # type: ignore[arg-type]
    message = str(failed.value)
    assert message.startswith("a load package left by an earlier run cannot be loaded: run ")
    assert command in message
    assert "no_such_column" in message
