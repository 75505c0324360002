"""The suite's paths (``testpaths`` in pyproject.toml, ordered slowest first) cover every test."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_testpaths_cover_every_test_file_once():
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    paths = [REPO_ROOT / p for p in config["tool"]["pytest"]["ini_options"]["testpaths"]]
    for path in paths:
        assert path.exists(), f"testpaths names {path.relative_to(REPO_ROOT)}, which is missing"
    for test_file in sorted((REPO_ROOT / "tests").rglob("test_*.py")):
        covering = [p for p in paths if test_file == p or p in test_file.parents]
        assert len(covering) == 1, (
            f"{test_file.relative_to(REPO_ROOT)} is under {len(covering)} of the testpaths in "
            "pyproject.toml (add its folder, once)"
        )
