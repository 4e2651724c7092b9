"""Plotly figures as plots that stay in the page: a Streamlit component (``st.components.v2``) whose
element keeps its identity across reruns, so a new figure is drawn by ``Plotly.react`` into the plot
(and the WebGL scenes) already there. ``st.plotly_chart`` remounts its chart whenever the figure changes, and a
fresh ``newPlot`` of two 3D scenes costs 1.5-2 s in headless Chromium against 0.5 s for ``react``
(``benchmarks/browser_latency.py`` measures the whole step).

plotly.js is the installed plotly package's own bundle (no download): :func:`serve_plotly_js` copies it
into ``app/static/``, which Streamlit serves (``server.enableStaticServing``), and the component loads
it once per page (charts too: one plotly.js per page). The camera the user last set is kept in the page:
every 3D view (re)drawn starts from it, and the scenes of one plot turn together. The page's own text
colour and font are applied in the browser, so a figure follows the light or dark theme as drawn.
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

SOURCE_URL = "app/static/plotly.min.js"  # relative to the page: works under any server.baseUrlPath

JS = """
const SOURCE = "%s";

function plotlyJs() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__tfePlotlyLoading) {
    window.__tfePlotlyLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = SOURCE;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => reject(new Error("plotly.js did not load from " + SOURCE));
      document.head.appendChild(script);
    });
  }
  return window.__tfePlotlyLoading;
}

const scenes = (layout) => Object.keys(layout).filter((k) => /^scene\\d*$/.test(k));

// the camera the user last set on any view: every view starts from it, and the scenes of a plot move together
function keepCamera(Plotly, root) {
  root.on("plotly_relayout", (event) => {
    if (root.__tfeApplying) return;
    const key = Object.keys(event || {}).find((k) => /^scene\\d*\\.camera$/.test(k));
    if (!key) return;
    window.__tfeCamera = JSON.parse(JSON.stringify(event[key]));
    const others = scenes(root._fullLayout).filter((s) => s + ".camera" !== key);
    if (!others.length) return;
    const update = Object.fromEntries(others.map((s) => [s + ".camera", window.__tfeCamera]));
    root.__tfeApplying = true;
    Plotly.relayout(root, update).finally(() => { root.__tfeApplying = false; });
  });
}

// the page's look: its background shows through, its text colour and font (light or dark theme), grey grids
function onThePage(layout, element) {
  const style = getComputedStyle(element);
  layout.paper_bgcolor = layout.plot_bgcolor = "rgba(0, 0, 0, 0)";
  layout.font = { ...(layout.font || {}), color: style.color, family: style.fontFamily };
  for (const axis of Object.keys(layout).filter((k) => /^[xy]axis\\d*$/.test(k))) {
    layout[axis] = { gridcolor: "rgba(128, 128, 128, 0.3)", zerolinecolor: "rgba(128, 128, 128, 0.6)",
                     linecolor: "rgba(128, 128, 128, 0.6)", ...layout[axis] };
  }
}

export default function ({ data, parentElement }) {
  let root = parentElement.querySelector(".tfe-plot");
  const fresh = !root;
  if (fresh) {
    root = document.createElement("div");
    root.className = "tfe-plot";
    parentElement.appendChild(root);
  }
  const figure = typeof data === "string" ? JSON.parse(data) : data;
  onThePage(figure.layout, parentElement);
  if (window.__tfeCamera) {
    for (const s of scenes(figure.layout)) figure.layout[s].camera = window.__tfeCamera;
  }
  root.style.height = figure.layout.height + "px";
  plotlyJs()
    .then((Plotly) => Plotly.react(root, figure.data, figure.layout, figure.config).then(() => {
      if (fresh) keepCamera(Plotly, root);
    }))
    .catch((error) => { root.textContent = "The 3D view could not be drawn: " + error.message; });
}
""" % SOURCE_URL


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
    serve_plotly_js()
    return st.components.v2.component("tfe_plot_view", js=JS, isolate_styles=False)


def plot_view(figure: go.Figure | dict, key: str, config: dict | None = None) -> None:
    """Draw ``figure`` (a ``go.Figure`` or a figure dict) in the persistent plot called ``key`` (the same key
    on every run keeps the plot)."""
    spec = plotly.io.to_json(figure, validate=False)  # numpy arrays as base64 typed arrays: plotly.js reads them
    payload = spec[:-1] + ', "config": ' + json.dumps(config or {}) + "}"
    _component()(data=payload, key=key, height="content")
