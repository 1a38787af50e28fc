"""What `pip install .` puts into site-packages: only this project's own import names."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OWN = {"dcs_restores", "dcs_simulator", "dcs_restores_pipeline"}


def test_the_wheel_installs_only_the_projects_own_packages(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(REPO)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("dcs_restores-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == OWN
    # the SQL of the views travels with the package
    assert any(n.startswith("dcs_restores_pipeline/models/") and n.endswith(".sql") for n in names)


def test_the_command_works_from_the_root_directory() -> None:
    command = Path(sys.executable).with_name("dcs-restores")
    done = subprocess.run(
        [str(command), "--help"], cwd="/", capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "usage: dcs-restores" in done.stdout
