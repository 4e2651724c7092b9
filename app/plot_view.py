"""Plotly figures as plots that stay in the page: a Streamlit component (``st.components.v2``) whose
element keeps its identity across reruns, so a new figure is drawn by ``Plotly.react`` into the plot
(and the WebGL scenes) already there. ``st.plotly_chart`` remounts its chart whenever the figure
changes, and a fresh ``newPlot`` of two WebGL scenes costs several times a ``react`` into the plot
already there (``benchmarks/browser_latency.py`` measures the whole step).

plotly.js is the installed plotly package's own bundle (no download): :func:`serve_plotly_js` copies it
into ``app/static/``, which Streamlit serves (``server.enableStaticServing``), and the component loads
it once per page (charts too: one plotly.js per page). In the browser (``plot_view.js``): the camera the
user last set is kept in the page (every 3D view drawn starts from it, the scenes of one plot turn
together); the page's own text colour and font are applied, so a figure follows the light or dark theme;
and where the plot is too narrow for its 3D views side by side (a projector, a phone) they go one per
row, laid out again whenever the width changes.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import plotly
import plotly.graph_objects as go
import plotly.io
import streamlit as st

BUNDLE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
SERVED = Path(__file__).with_name("static") / "plotly.min.js"

SOURCE_URL = "app/static/plotly.min.js"  # where plot_view.js loads it from (relative to the page)
JS = Path(__file__).with_suffix(".js").read_text(encoding="utf-8")


def serve_plotly_js() -> None:
    """Put the installed plotly.js where Streamlit serves static files (once; again after an upgrade)."""
    if SERVED.exists() and SERVED.stat().st_size == BUNDLE.stat().st_size:
        return
    SERVED.parent.mkdir(exist_ok=True)
    partial = SERVED.with_name(f".{SERVED.name}.{os.getpid()}")
    shutil.copyfile(BUNDLE, partial)
    os.replace(partial, SERVED)  # atomic: a page never loads half a file


@st.cache_resource
def _component():
    """The registered component, or None where plotly.js cannot be put into app/static/ (a read-only
    checkout): the views then fall back to Streamlit's own chart."""
    try:
        serve_plotly_js()
    except OSError:
        return None
    return st.components.v2.component("tfe_plot_view", js=JS, isolate_styles=False)


def static_serving() -> bool:
    """Whether the server serves app/static/ (the repository's .streamlit/config.toml, read when the app is
    started from the repository root, as ``make app`` does)."""
    return bool(st.get_option("server.enableStaticServing"))


def _mount():
    """The component's mount command, or None where it cannot work here."""
    return _component() if static_serving() else None


def plot_view(figure: go.Figure | dict, key: str, config: dict | None = None) -> None:
    """Draw ``figure`` (a ``go.Figure`` or a figure dict) in the persistent plot called ``key`` (the same key
    on every run keeps the plot). Without static serving, Streamlit's own chart draws it (remounted on
    every change, no shared camera), so the page still works."""
    mount = _mount()
    if mount is None:
        st.plotly_chart(figure, key=key, config=config)
        return
    # a go.Figure holds its arrays in base64 already, the 3D figure dicts bring theirs (render.typed_array)
    spec = plotly.io.to_json(figure, validate=False)
    payload = spec[:-1] + ', "config": ' + json.dumps(config or {}) + "}"  # one JSON object: the figure + config
    mount(data=payload, key=key, height="content")


def preload() -> None:
    """Start loading plotly.js in the browser now (an empty element): it then loads and is evaluated
    while the server still runs the model, not after the first view arrives."""
    mount = _mount()
    if mount is not None:
        mount(key="tfe-plotly-preload", height="content")
