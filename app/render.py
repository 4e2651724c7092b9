"""Scene -> pixels, safely: plotly in the page (always available), pyvista in a separate process.

pyvista/VTK never runs in the Streamlit server: ``pyvista_png`` and ``pyvista_html`` start
``render_worker.py`` in its own process group with a timeout and read back a PNG or a standalone
vtk.js page (pyvista's export, made in that process, never in the script thread: see
../shared/stack.md). Any failure or timeout raises :class:`RenderError`; the page then shows a
message and the plotly view instead.

The plotly figures are drawn by ``app/plot_view.py`` (one persistent plot per view, the user's camera
kept and shared).
"""
from __future__ import annotations

import base64
import hashlib
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import streamlit as st

from app.scene import ERROR_SCALE, Scene, as_plain

WORKER = Path(__file__).with_name("render_worker.py")
VTKJS_CAMERA = Path(__file__).with_name("vtkjs_camera.js").read_text(encoding="utf-8")  # see pyvista_html
RENDER_TIMEOUT_S = 60
CAMERA = {"eye": {"x": 1.45, "y": 1.45, "z": 1.0}, "up": {"x": 0, "y": 0, "z": 1}}
UIREVISION = "tfe-camera"


class RenderError(RuntimeError):
    """The pyvista render failed or timed out (the message says which)."""


def _segments(origins: np.ndarray, vectors: np.ndarray, heads: bool = False) -> tuple[np.ndarray, ...]:
    """x, y, z arrays of ``start, end, NaN`` triples: all segments in one Scatter3d trace. With ``heads`` each
    arrow gets four barbs at its tip (two crossed V's, seen from any side) drawn as lines in the same trace:
    far cheaper for the browser than cone meshes."""
    tips = origins + vectors
    gap = np.full_like(origins, np.nan)
    runs = [origins, tips, gap]
    if heads:
        length = np.linalg.norm(vectors, axis=1, keepdims=True)
        helper = np.where(np.abs(vectors[:, :1]) < 0.9 * length, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
        u = np.cross(vectors, helper)
        u /= np.linalg.norm(u, axis=1, keepdims=True).clip(1e-12)
        w = np.cross(vectors / length.clip(1e-12), u)
        back = tips - 0.3 * vectors
        for side in (u, -u, w, -w):
            runs += [tips, back + 0.15 * length * side, gap]
    pts = np.stack(runs, axis=1).reshape(-1, 3)
    return pts[:, 0], pts[:, 1], pts[:, 2]


ON_DARK = {"#212121": "#eeeeee", "#000000": "#ffffff"}  # the scene's near-black inks, on a dark page


VIEW_HEIGHT = {1: 640, 2: 500}  # plotly fits a 3D scene to its height: two views side by side get less, so
# that on a projector (about 350 px per view) the object is not cut at the sides


def typed_array(values: np.ndarray) -> dict:
    """plotly.js's typed-array form of a float array: float32, base64 (a third of the JSON text of the
    numbers, and no per-number parsing in the browser)."""
    data = np.ascontiguousarray(values, dtype="<f4")
    return {"dtype": "f4", "bdata": base64.b64encode(data.tobytes()).decode("ascii")}


def plotly_figure(scene: Scene, height: int | None = None, dark: bool = False) -> dict:
    """A plotly figure dict: one 3D scene per view side by side, titled (annotations named "title <scene>":
    ``plot_view`` stacks the views on narrow screens), the same initial camera, legend
    entries shared between views; ``height`` by the number of views (:data:`VIEW_HEIGHT`) unless given.
    ``dark`` turns the scene's black inks white (the page's colours and font come from ``plot_view``).
    Built as plain dicts with base64 float32 arrays (validating a ``go.Figure`` was most of a rerun's
    drawing time on the server); ``plotly.io`` writes it as JSON or HTML like any figure."""
    height = height or VIEW_HEIGHT.get(len(scene.views), 640)
    ink = (lambda color: ON_DARK.get(color, color)) if dark else (lambda color: color)
    n, gap = len(scene.views), 0.01
    width = (1 - gap * (n - 1)) / n
    traces: list[dict] = []
    layout: dict = {"annotations": []}
    seen: set[str] = set()
    bar_done = False

    def trace(layer_name: str, scene_id: str, **props) -> None:
        traces.append({"type": "scatter3d", "scene": scene_id, "name": layer_name, "legendgroup": layer_name,
                       "showlegend": layer_name not in seen, **props})
        seen.add(layer_name)

    axis = {"showbackground": False, "showgrid": True, "gridcolor": "rgba(128, 128, 128, 0.3)", "zeroline": False,
            "showticklabels": False, "title": {"text": ""}}
    for col, view in enumerate(scene.views):
        scene_id = "scene" if col == 0 else f"scene{col + 1}"
        left = col * (width + gap)
        layout[scene_id] = {"domain": {"x": [left, left + width], "y": [0.0, 1.0]}, "aspectmode": "data",
                            "camera": CAMERA, "uirevision": UIREVISION, "xaxis": axis, "yaxis": axis, "zaxis": axis}
        layout["annotations"].append({"name": f"title {scene_id}", "text": view.title, "x": left + width / 2,
                                      "y": 1.0, "xref": "paper", "yref": "paper", "xanchor": "center",
                                      "yanchor": "bottom", "showarrow": False, "font": {"size": 16}})
        for layer in view.points:
            marker = {"size": layer.size, "color": ink(layer.color)}
            if layer.values is not None:
                marker = {"size": layer.size, "color": typed_array(layer.values), "colorscale": ERROR_SCALE,
                          "cmin": 0, "cmax": layer.cmax, "showscale": not bar_done,
                          "colorbar": {"title": {"text": layer.colorbar, "side": "right"}, "len": 0.6,
                                       "thickness": 12, "xpad": 4}}
                bar_done = True
            x, y, z = (typed_array(layer.pos[:, c]) for c in range(3))
            trace(layer.name, scene_id, x=x, y=y, z=z, mode="markers",
                  marker=marker, hovertemplate=f"{layer.name}<br>point %{{pointNumber}}<extra></extra>")
        for layer in view.arrows:
            if len(layer.origins) == 0:
                continue
            x, y, z = (typed_array(c) for c in _segments(layer.origins, layer.vectors, heads=layer.heads))
            trace(layer.name, scene_id, x=x, y=y, z=z, mode="lines", hoverinfo="skip",
                  line={"color": ink(layer.color), "width": layer.width})
    layout.update(height=height, margin={"l": 0, "r": 0, "t": 30, "b": 0}, uirevision=UIREVISION,
                  legend={"orientation": "h", "y": -0.02, "x": 0.5, "xanchor": "center", "font": {"size": 14}},
                  font={"size": 15})
    return {"data": traces, "layout": layout}


def _render(payload: bytes, suffix: str, timeout: float) -> bytes:
    """The worker's output file (``suffix`` ".png" or ".html") for a pickled plain scene; raises RenderError."""
    with tempfile.TemporaryDirectory(prefix="tfe-render-") as tmp:
        source, target = Path(tmp, "scene.pkl"), Path(tmp, "scene" + suffix)
        source.write_bytes(payload)
        env = {**os.environ, "VTK_DEFAULT_OPENGL_WINDOW": "vtkEGLRenderWindow"}
        try:
            done = subprocess.run([sys.executable, str(WORKER), str(source), str(target)], env=env,
                                  capture_output=True, timeout=timeout, start_new_session=True)
        except subprocess.TimeoutExpired as exc:
            raise RenderError(f"the pyvista render took longer than {timeout:.0f} s and was stopped") from exc
        if done.returncode != 0 or not target.exists():
            last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise RenderError(f"the pyvista render process failed ({last[:200]})")
        return target.read_bytes()


@st.cache_data(max_entries=8, show_spinner=False)
def _cached_render(digest: str, _payload: bytes, suffix: str, timeout: float) -> bytes:
    return _render(_payload, suffix, timeout)


def _pyvista(scene: Scene, suffix: str, timeout: float) -> bytes:
    payload = pickle.dumps(as_plain(scene), protocol=pickle.HIGHEST_PROTOCOL)
    return _cached_render(hashlib.sha256(payload).hexdigest(), payload, suffix, timeout)


def pyvista_png(scene: Scene, timeout: float = RENDER_TIMEOUT_S) -> bytes:
    """A PNG of ``scene`` drawn by pyvista in a separate process (cached); raises RenderError."""
    return _pyvista(scene, ".png", timeout)


def pyvista_html(scene: Scene, timeout: float = RENDER_TIMEOUT_S) -> str:
    """A standalone vtk.js page of ``scene`` (about 1.5 MB, drawn and rotated in the browser), exported by
    pyvista in a separate process (cached), with :data:`VTKJS_CAMERA` added: the camera the user set in
    the last vtk.js view is put back. Raises RenderError."""
    html = _pyvista(scene, ".html", timeout).decode("utf-8", errors="replace")
    return html.replace("</body>", f"<script>{VTKJS_CAMERA}</script></body>", 1)
