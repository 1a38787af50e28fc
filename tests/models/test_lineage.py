"""The models' layers: loaded tables -> staging (`stg_*`) -> marts, and nothing across them."""

from __future__ import annotations

from pathlib import Path

import pytest
from dcs_restores_pipeline import views
from dcs_restores_pipeline.views import (
    CLOCK_VIEW,
    LAYERS,
    MODELS_DIR,
    OPTIONAL_TABLES,
    SOURCE_TABLES,
    VIEWS,
    layer,
    model_files,
    model_paths,
    reads,
)

STAGING = {"stg_backups", "stg_clock", "stg_instances", "stg_restores"}
LOADED = set(SOURCE_TABLES) | set(OPTIONAL_TABLES)


def test_each_view_is_in_its_layer_folder() -> None:
    assert LAYERS == ("staging", "marts")
    assert {name for name, path in model_paths().items() if layer(path) == "staging"} == STAGING
    assert {name for name, path in model_paths().items() if layer(path) == "marts"} == (
        set(VIEWS) - STAGING
    )
    assert all(name.startswith("stg_") == (name in STAGING) for name in VIEWS)


def test_every_loaded_table_has_one_staging_view() -> None:
    staged = {
        table: [path.stem for path in model_files() if table in reads(path)] for table in LOADED
    }
    assert staged == {
        "restores": ["stg_restores"],
        "instances": ["stg_instances"],
        "backups": ["stg_backups"],
    }


def test_staging_reads_only_loaded_tables_and_marts_never_do() -> None:
    for path in model_files():
        if layer(path) == "staging":
            # the clock reads no table: it is the one place a view reads the time
            assert path.stem == CLOCK_VIEW or reads(path), path.stem
            assert reads(path) <= LOADED, path.stem
        else:
            assert not reads(path) & LOADED, path.stem


def test_the_order_puts_staging_before_the_marts() -> None:
    layers = [layer(path) for path in model_files()]
    assert layers == sorted(layers, key=LAYERS.index)
    assert [path.stem for path in model_files()][:4] == sorted(STAGING)


def test_lineage_of_the_marts() -> None:
    # what each mart reads; the README's lineage lines say the same
    assert {path.stem: sorted(reads(path)) for path in model_files()} == {
        "stg_backups": ["backups"],
        "stg_clock": [],
        "stg_instances": ["instances"],
        "stg_restores": ["restores"],
        "restore_context": ["stg_backups", "stg_restores"],
        "restore_daily": ["stg_restores"],
        "restores_in_progress": ["restore_context", "stg_clock", "stg_restores"],
        "instance_readiness": ["stg_backups", "stg_clock", "stg_instances", "stg_restores"],
        "restore_error_codes": [],
        "restore_durations": ["stg_restores"],
        "restore_failure_rates": ["stg_restores"],
        "restore_failures": ["restore_error_codes", "stg_restores"],
        "restore_slowest": ["stg_instances", "stg_restores"],
        "restore_trend_weekly": ["stg_restores"],
        "restore_duration_percentiles": ["restore_durations", "stg_instances"],
        "restore_failures_by_error_code": ["restore_failures"],
        "restore_instance_summary": [
            "restore_duration_percentiles",
            "stg_instances",
            "stg_restores",
        ],
    }


@pytest.mark.parametrize(
    ("where", "message"),
    [("stray.sql", "belongs in one of"), ("other/stray.sql", "belongs in one of")],
)
def test_a_model_outside_the_layer_folders_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, message: str
) -> None:
    for path in MODELS_DIR.rglob("*.sql"):
        target = tmp_path / path.relative_to(MODELS_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    monkeypatch.setattr(views, "MODELS_DIR", tmp_path)
    assert [path.stem for path in model_files()] == list(VIEWS)
    stray = tmp_path / where
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_text("-- one row per nothing; key x\nselect 1 as x\n")
    with pytest.raises(ValueError, match=message):
        model_files()


def test_one_name_in_two_layers_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for folder in LAYERS:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "twice.sql").write_text("select 1 as x\n")
    monkeypatch.setattr(views, "MODELS_DIR", tmp_path)
    with pytest.raises(ValueError, match="twice is also defined"):
        model_paths()
