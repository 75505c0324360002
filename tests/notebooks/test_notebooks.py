"""Every notebook runs headless from a clean state and ends without errors (nbclient).

Each notebook gets a private ``VEHSIM_HOME`` and no configured broker, so it runs in local
mode and starts whatever else it needs itself through library functions.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
#: Notebooks that start services (broker, Spark) or train and register models.
HEAVY = {"lakehouse", "experiments"}


def _params():
    for path in NOTEBOOKS:
        marks = [pytest.mark.integration, pytest.mark.slow] if path.stem in HEAVY else []
        yield pytest.param(path, id=path.stem, marks=marks)


def test_there_are_notebooks():
    assert {p.stem for p in NOTEBOOKS} >= {"dashboard", "drive_live", "drive_cycles", "sensitivity"}


@pytest.mark.parametrize("path", list(_params()))
def test_notebook_runs_headless(path: Path, tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("VEHSIM_") or name == "MLFLOW_TRACKING_URI":
            monkeypatch.delenv(name)
    monkeypatch.setenv("VEHSIM_HOME", str(tmp_path / "vehsim-home"))
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()  # raises CellExecutionError naming the failing cell
    finally:
        _stop_embedded_broker()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


def _stop_embedded_broker() -> None:
    """A notebook that failed half-way may leave the broker it started running: stop it."""
    try:
        from vehsim.config import load_settings
        from vehsim.stream.broker import EmbeddedBroker
    except ImportError:
        return
    EmbeddedBroker(load_settings()).stop()
