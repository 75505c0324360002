"""Exported notebooks: each widget leaves a picture in the page, and the page loads nothing from
another host (``vehsim.ui.export``). The executed notebooks are checked the same way in
``tests/notebooks/test_notebooks.py``."""

from __future__ import annotations

import pytest

from vehsim.ui.dashboard import Dashboard
from vehsim.ui.export import export_html, external_fetches, svg_images, widget_outputs

from .fakes import fake_source

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbconvert")


def _notebook_with_dashboards(n: int):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(
        nbformat.v4.new_markdown_cell("# A drive\n\nSpeed in km/h, [a link](https://example.org).")
    )
    for k in range(n):
        dash = Dashboard(fake_source("compact-suv"), autostart=False, unwatched_after_s=None)
        dash.command({"type": "start_engine"})
        dash.run_for(1.0 + k)
        dash.stop()
        cell = nbformat.v4.new_code_cell(f"dash{k} = Dashboard(...)\ndash{k}")
        cell.outputs = [nbformat.v4.new_output("display_data", data=dash._repr_mimebundle_())]
        nb.cells.append(cell)
    # what nbclient stores after a run: the state that would make nbconvert load the widget
    # manager from a CDN instead of showing the pictures
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "version_major": 2,
            "version_minor": 0,
            "state": {},
        }
    }
    return nb


def test_every_widget_leaves_a_picture_and_the_page_loads_nothing_from_elsewhere(tmp_path):
    nb = _notebook_with_dashboards(2)
    out = tmp_path / "drive.html"
    html = export_html(nb, out)
    assert out.read_text(encoding="utf-8") == html
    pictures = svg_images(html)
    assert len(pictures) == len(widget_outputs(nb)) == 2
    for picture in pictures:
        assert 'class="vehsim-snapshot"' in picture and "STOPPED" in picture
    assert external_fetches(html) == []
    assert "https://example.org" in html  # a link is not a fetch
    assert "widgets" in nb.metadata  # the caller's notebook is left as it was


def test_a_saved_notebook_exports_from_its_path(tmp_path):
    path = tmp_path / "saved.ipynb"
    nbformat.write(_notebook_with_dashboards(1), path)
    assert len(svg_images(export_html(path))) == 1


def test_a_missing_notebook_is_named():
    from vehsim.errors import VehsimError

    with pytest.raises(VehsimError, match="does not exist"):
        export_html("no/such.ipynb")
