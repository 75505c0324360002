"""A notebook as one standalone HTML page: widgets as their still pictures, nothing from a CDN.

``jupyter nbconvert --to html`` makes pages that load require.js, MathJax and (for a notebook
saved with widget state) the widget manager and every widget's code from CDNs; offline, the
widgets come out blank. :func:`export_html` uses the ``vehsim-offline`` template
(``vehsim/ui/jupyter/nbconvert/templates``: nbconvert's lab template without those scripts) and
leaves the widget state out, so every widget output shows the picture it carries for front ends
without widgets (the dashboard's ``image/svg+xml``, :mod:`vehsim.ui.snapshot`).

The same page from the command line::

    JUPYTER_PATH=$(python -c "import vehsim.ui.export as e; print(e.JUPYTER_DATA_DIR)") \\
        jupyter nbconvert --to html --template vehsim-offline notebooks/drive_live.ipynb

(on a notebook saved without widget state, JupyterLab's default).
"""

from __future__ import annotations

import base64
import copy
import re
from pathlib import Path
from typing import Any

from vehsim.errors import VehsimError
from vehsim.ui.server import JUPYTER_DATA_DIR

#: The nbconvert template of :func:`export_html`.
TEMPLATE = "vehsim-offline"
#: nbconvert's template directory under :data:`JUPYTER_DATA_DIR`.
TEMPLATE_DIR = JUPYTER_DATA_DIR / "nbconvert" / "templates"
WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"

#: Elements and attributes through which a page makes the browser fetch something.
_FETCHING = re.compile(
    r"""<(?:script|img|link|iframe|source|video|audio|embed|object)\b[^>]*?"""
    r"""\b(?:src|href|data)\s*=\s*["']([^"']+)""",
    re.IGNORECASE,
)
_SVG_IMAGE = re.compile(r'<img\b[^>]*\bsrc="data:image/svg\+xml;base64,([^"]+)"')


def widget_outputs(nb: Any) -> list[dict]:
    """The outputs of ``nb`` that show a widget (carry a widget view)."""
    return [
        output
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if WIDGET_VIEW_MIMETYPE in output.get("data", {})
    ]


def external_fetches(html: str) -> list[str]:
    """The URLs a page would fetch from another host (scripts, styles, images, frames); links
    a reader may follow are not fetches, ``data:`` URIs and relative paths are local."""
    return [url for url in _FETCHING.findall(html) if re.match(r"(?i)(https?:)?//", url)]


def svg_images(html: str) -> list[str]:
    """The SVG documents a page embeds as images (the widgets' still pictures among them)."""
    return [base64.b64decode(data).decode("utf-8") for data in _SVG_IMAGE.findall(html)]


def export_html(notebook: str | Path | Any, out: str | Path | None = None) -> str:
    """Render ``notebook`` (a path or an ``nbformat`` notebook) as one offline HTML page.

    Widget state is left out, so each widget output shows its still picture (or its text when
    it has none); plots and pictures are embedded. Writes the page to ``out`` when given.

    Raises:
        VehsimError: ``notebook`` is a path that does not exist.
    """
    import nbformat
    from nbconvert import HTMLExporter

    if isinstance(notebook, str | Path):
        path = Path(notebook)
        if not path.is_file():
            raise VehsimError(f"notebook {path} does not exist")
        nb = nbformat.read(path, as_version=4)
    else:
        nb = copy.deepcopy(notebook)
    nb.metadata.pop("widgets", None)
    exporter = HTMLExporter(
        template_name=TEMPLATE,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        embed_images=True,
    )
    html, _resources = exporter.from_notebook_node(nb)
    if out is not None:
        Path(out).write_text(html, encoding="utf-8")
    return html


__all__ = [
    "TEMPLATE",
    "TEMPLATE_DIR",
    "export_html",
    "external_fetches",
    "svg_images",
    "widget_outputs",
]
