"""The collector is paused while the command imports, and what was imported is frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from dcs_restores_pipeline.gcpause import imports_without_gc


@pytest.fixture
def restore_gc() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


@pytest.mark.usefixtures("restore_gc")
def test_paused_inside_then_frozen_and_running_again() -> None:
    gc.unfreeze()
    with imports_without_gc():
        assert not gc.isenabled()
        made = [object() for _ in range(10)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(made)


@pytest.mark.usefixtures("restore_gc")
def test_resumes_after_an_error_and_leaves_an_inactive_caller_alone() -> None:
    gc.unfreeze()
    with pytest.raises(SystemExit), imports_without_gc():
        raise SystemExit(2)  # argparse's way out
    assert gc.isenabled()
    gc.unfreeze()
    with imports_without_gc(active=False):
        assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    gc.disable()
    with imports_without_gc():
        pass
    assert not gc.isenabled()  # a collector the caller had switched off stays off
    assert gc.get_freeze_count() == 0
