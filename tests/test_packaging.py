"""What `pip install .` puts into site-packages: only this project's own import names."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from dcs_restores_pipeline.views import LAYERS, MODELS_DIR, VIEWS

REPO = Path(__file__).resolve().parents[1]
OWN = {"dcs_restores", "dcs_simulator", "dcs_restores_pipeline"}
# what a checkout has that a fresh clone has not: an editable install's *.egg-info lists the
# files of an earlier build, and setuptools would ship them whatever pyproject.toml says
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*_cache", "*.duckdb*"
)


def test_the_wheel_installs_only_the_projects_own_packages(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    shutil.copytree(REPO, clone, ignore=NOT_IN_A_CLONE)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(clone)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("dcs_restores-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == OWN
    # the SQL of the views travels with the package
    assert any(n.startswith("dcs_restores_pipeline/models/") and n.endswith(".sql") for n in names)
    # every model file, in its layer folder: views.model_files() finds them where it looks
    shipped = {n for n in names if n.startswith("dcs_restores_pipeline/models/")}
    assert shipped == {
        f"dcs_restores_pipeline/models/{path.relative_to(MODELS_DIR).as_posix()}"
        for path in MODELS_DIR.rglob("*.sql")
    }
    assert {n.split("/")[2] for n in shipped} == set(LAYERS)
    # and the installed package orders them as the checkout does (-S: not the editable install)
    installed = tmp_path / "installed"
    zipfile.ZipFile(wheel).extractall(installed)
    script = (
        f"import sys; sys.path.insert(0, {str(installed)!r}); "
        "from dcs_restores_pipeline.views import model_files; "
        "print(model_files()[0]); print([path.stem for path in model_files()])"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", script],
        cwd="/", capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    first, order = done.stdout.splitlines()
    assert Path(first).is_relative_to(installed), first
    assert order == repr(list(VIEWS))


def test_the_command_works_from_the_root_directory() -> None:
    command = Path(sys.executable).with_name("dcs-restores")
    done = subprocess.run(
        [str(command), "--help"], cwd="/", capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "usage: dcs-restores" in done.stdout
