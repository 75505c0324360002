"""Building the package: no packaging warnings caused by the project, and every data file shipped.

The build runs on a copy of the checkout (tracked and new, non-ignored files), so it neither
writes ``build/`` into the working tree nor races another build there. With a setuptools that
satisfies ``[build-system] requires`` installed, the build reuses it (a few seconds); otherwise
pip builds in an isolated environment, which needs the package index.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

#: What setuptools says when the project's metadata is deprecated or ambiguous.
_WARNINGS = re.compile(
    r"BuildBackendWarning|SetuptoolsDeprecationWarning|SetuptoolsWarning|"
    r"Package would be ignored|is absent from the `packages` configuration"
)


def _source_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [f for f in out.splitlines() if (REPO_ROOT / f).is_file()]


def _setuptools_is_enough() -> bool:
    with (REPO_ROOT / "pyproject.toml").open("rb") as fh:
        requires = tomllib.load(fh)["build-system"]["requires"]
    wanted = next(r for r in requires if r.startswith("setuptools"))
    minimum = re.search(r">=\s*(\d+)", wanted)
    try:
        installed = int(version("setuptools").split(".")[0])
    except PackageNotFoundError:
        return False
    return minimum is None or installed >= int(minimum.group(1))


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory) -> tuple[Path, str]:
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know which files are the project's")
    src = tmp_path_factory.mktemp("src")
    for name in _source_files():
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target)
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-w", str(out)]
    if _setuptools_is_enough():
        cmd.append("--no-build-isolation")
    proc = subprocess.run([*cmd, str(src)], capture_output=True, text=True, timeout=300, cwd=src)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    wheels = list(out.glob("vehsim-*.whl"))
    assert len(wheels) == 1, log[-4000:]
    return wheels[0], log


def test_build_shows_no_packaging_warnings(built_wheel):
    _, log = built_wheel
    noisy = [line.strip() for line in log.splitlines() if _WARNINGS.search(line)]
    assert not noisy, "the build warns about the project's metadata:\n" + "\n".join(noisy[:20])


def test_license_is_an_spdx_expression(built_wheel):
    wheel, _ = built_wheel
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        text = zf.read(meta).decode()
    assert "License-Expression: Apache-2.0" in text


#: Source folder -> the name it installs under.
_INSTALLED_AS = {
    "vehsim": "vehsim",
    "pipelines": "vehsim_pipelines",
    "experiments": "vehsim_experiments",
}


def test_wheel_ships_every_data_file(built_wheel):
    """Every non-Python file of the three layers in the checkout is in the wheel (vehicles,
    cycles, schemas, generic models, Maven poms, the dashboard's scripts, the Spark log config)."""
    wheel, _ = built_wheel
    with zipfile.ZipFile(wheel) as zf:
        shipped = set(zf.namelist())
    data = [
        f
        for f in _source_files()
        if f.split("/")[0] in _INSTALLED_AS and not f.endswith(".py") and "__pycache__" not in f
    ]
    assert any(f.startswith("vehsim/data/") for f in data)
    installed = {f: "/".join([_INSTALLED_AS[f.split("/")[0]], *f.split("/")[1:]]) for f in data}
    missing = sorted(f for f, name in installed.items() if name not in shipped)
    assert not missing, f"not in the wheel: {missing}"


def test_layers_install_under_the_projects_names(built_wheel):
    wheel, _ = built_wheel
    with zipfile.ZipFile(wheel) as zf:
        tops = {
            n.split("/")[0] for n in zf.namelist() if not n.split("/")[0].endswith(".dist-info")
        }
    assert tops == {"vehsim", "vehsim_pipelines", "vehsim_experiments"}
