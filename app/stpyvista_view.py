"""The interactive pyvista view through stpyvista, guarded so that it can never hang the page.

stpyvista (trame backend) shows a plotter by calling ``plotter.export_html()`` in a forked child and
waiting on a queue with no timeout: any failure in that child leaves the page running forever
(../shared/stack.md). Here the export is made first, by ``render.pyvista_html`` in its own process
with a timeout (any failure -> ``RenderError`` -> the plotly view and a message), and stpyvista is
handed a plotter whose ``export_html`` returns that page: its child then only passes a string back.
stpyvista's own component draws it (an iframe in the page, rotated in the browser).

Imported only while the app runs (``import stpyvista`` needs a Streamlit runtime).
"""
from __future__ import annotations

import io
import os

from app import render
from app.scene import Scene


def exported_plotter(html: str, height: int):
    """A pyvista ``Plotter`` (nothing drawn in it) whose vtk.js export is ``html``, ``height`` px tall."""
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")  # no X probe in the server
    import pyvista as pv

    class ExportedPlotter(pv.Plotter):
        def export_html(self, filename=None):
            return io.StringIO(html)

        def __reduce__(self):  # a spawn/forkserver child gets the page, not a render window
            return exported_plotter, (html, height)

    return ExportedPlotter(off_screen=True, window_size=[1500, height])


def stpyvista_view(scene: Scene, height: int, key: str) -> None:
    """Draw ``scene`` with stpyvista; raises ``render.RenderError`` when the export failed or timed out,
    or when stpyvista cannot be imported (the caller shows plotly instead)."""
    html = render.pyvista_html(scene)
    try:
        from stpyvista import stpyvista
    except Exception as exc:  # noqa: BLE001  a missing or broken optional package: plotly instead
        raise render.RenderError(f"stpyvista is not usable here ({type(exc).__name__}: {exc})") from exc
    plotter = exported_plotter(html, height)
    try:
        stpyvista(plotter, backend="trame", width="stretch", key=key)
    except Exception as exc:  # noqa: BLE001  e.g. the fork refused: plotly instead, never a traceback
        raise render.RenderError(f"stpyvista could not show the view ({type(exc).__name__}: {exc})") from exc
    finally:
        plotter.close()
