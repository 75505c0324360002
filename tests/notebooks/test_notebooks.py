"""Every notebook runs headless from a clean state, quietly, and exports to an offline page.

Each notebook gets a private ``VEHSIM_HOME``, no configured broker and
``VEHSIM_NOTEBOOK_SMALL=1`` (its parameters cell then picks a smaller fleet, shorter drives,
fewer cars), so it runs in local mode and starts whatever else it needs itself through library
functions. A run must:

- end without an error output;
- show a figure for every cell that calls a ``plot_`` function (a library that switches the
  backend to Agg makes them vanish silently);
- write nothing on stderr (no red noise: Spark's and Kafka's logs go to files, warnings are
  dealt with, not shown);
- export (``vehsim.ui.export``) to a page that fetches nothing from another host and shows a
  picture for every widget output.

The executed notebook and its page land in ``artifacts/notebooks/`` for review.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "notebooks"
#: Notebooks that start services (broker, Spark) or train and register models.
HEAVY = {"lakehouse", "experiments", "diagnostics"}
#: Notebooks whose outputs must show widgets (each leaves a picture in the exported page).
WITH_WIDGETS = {"dashboard", "drive_live"}


def _params():
    for path in NOTEBOOKS:
        marks = [pytest.mark.integration, pytest.mark.slow] if path.stem in HEAVY else []
        yield pytest.param(path, id=path.stem, marks=marks)


def test_there_are_notebooks():
    assert {p.stem for p in NOTEBOOKS} >= {
        "dashboard",
        "drive_live",
        "drive_cycles",
        "sensitivity",
        "experiments",
        "lakehouse",
        "diagnostics",
    }


def test_every_notebook_has_a_parameters_cell_or_needs_none():
    """The notebooks that scale with VEHSIM_NOTEBOOK_SMALL say so in a tagged parameters cell."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        sources = "".join(c.source for c in nb.cells if c.cell_type == "code")
        if "VEHSIM_NOTEBOOK_SMALL" in sources:
            tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
            assert tagged and "VEHSIM_NOTEBOOK_SMALL" in tagged[0].source, path.name


@pytest.mark.parametrize("path", list(_params()))
def test_notebook_runs_headless(path: Path, tmp_path, monkeypatch):
    from vehsim.ui.export import export_html, external_fetches, svg_images, widget_outputs

    for name in list(os.environ):
        if name.startswith("VEHSIM_") or name in ("MLFLOW_TRACKING_URI", "MPLBACKEND"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VEHSIM_HOME", str(tmp_path / "vehsim-home"))
    monkeypatch.setenv("VEHSIM_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
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
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, ARTIFACTS / path.name)
    outputs = [(c, o) for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for _c, o in outputs if o.get("output_type") == "error"]
    noise = [
        f"cell {c.get('id')}: {o.get('text', '')[:500]}"
        for c, o in outputs
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
    ]
    assert not noise, "stderr output (red noise) in the notebook:\n" + "\n".join(noise)

    blank = [
        c.get("id")
        for c in nb.cells
        if c.cell_type == "code"
        and re.search(r"\bplot_\w+\(", c.source)
        and not any("image/png" in o.get("data", {}) for o in c.get("outputs", []))
    ]
    assert not blank, f"cells that plot but show no figure: {blank}"

    html = export_html(nb, ARTIFACTS / f"{path.stem}.html")
    assert external_fetches(html) == []
    pictures = [svg for svg in svg_images(html) if 'class="vehsim-snapshot"' in svg]
    assert len(pictures) == len(widget_outputs(nb)), "a widget output without its picture"
    if path.stem in WITH_WIDGETS:
        assert pictures, "the widgets left no picture in the exported page"


def _stop_embedded_broker() -> None:
    """A notebook that failed half-way may leave the broker it started running: stop it."""
    try:
        from vehsim.config import load_settings
        from vehsim.stream.broker import EmbeddedBroker
    except ImportError:
        return
    EmbeddedBroker(load_settings()).stop()
