"""Plotly charts: the orbit sweep, angle-error histograms, the live training curve.

>>> fig = sweep_figure([0, 90], {"tensor frames": [1e-7, 2e-7]}, "z")
>>> fig.layout.yaxis.type
'log'
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

FLOOR = 1e-9  # zero errors are drawn here on the log axis
PALETTE = ("#1565c0", "#64b5f6", "#c62828", "#ef9a9a", "#2e7d32", "#a5d6a7")
LAYOUT = {"font": {"size": 15}, "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
          "legend": {"orientation": "h", "y": -0.25},
          "xaxis": {"automargin": True}, "yaxis": {"automargin": True}}  # tick labels and titles never cut


def sweep_figure(angles: Sequence[float], curves: Mapping[str, Sequence[float]], axis: str,
                 current: float | None = None) -> go.Figure:
    """Relative equivariance error vs rotation angle, one line per (model, with/without mirror), log scale;
    a vertical line at the ``current`` angle of the sidebar (in degrees, any sign)."""
    fig = go.Figure()
    for k, (label, errors) in enumerate(curves.items()):
        fig.add_trace(go.Scatter(x=list(angles), y=np.maximum(np.asarray(errors, float), FLOOR), name=label,
                                 mode="lines+markers", line={"color": PALETTE[k % len(PALETTE)], "width": 3,
                                                             "dash": "dot" if "mirror" in label else "solid"}))
    if current is not None:
        fig.add_vline(x=current % 360, line={"color": "#555555", "width": 2, "dash": "dash"},
                      annotation_text=f"now: {current:g}°", annotation_position="top")
    fig.update_layout(title=f"Equivariance error along the orbit: rotate about {axis}", height=420, **LAYOUT)
    fig.update_xaxes(title="rotation angle (°)", tickvals=list(range(0, 361, 45)))
    fig.update_yaxes(title="‖f(g·x) − g·f(x)‖ / ‖f(x)‖", type="log", exponentformat="power")
    return fig


def histogram_figure(errors: Mapping[str, np.ndarray]) -> go.Figure:
    """Overlaid histograms of per-point unoriented angle errors (degrees)."""
    fig = go.Figure()
    for k, (label, values) in enumerate(errors.items()):
        fig.add_trace(go.Histogram(x=values, name=f"{label} (mean {np.mean(values):.1f}°)", opacity=0.6,
                                   xbins={"start": 0, "end": 90, "size": 2.5},
                                   marker_color=PALETTE[k % len(PALETTE)]))
    fig.update_layout(title="Angle error of the predicted normals", barmode="overlay", height=420, **LAYOUT)
    fig.update_xaxes(title="angle error (°)", range=[0, 90])
    fig.update_yaxes(title="points")
    return fig


def loss_figure(losses: Sequence[float], window: int = 4) -> go.Figure:
    """Training loss (1 − |cos|) per step, and its mean over the last ``window`` steps: the in-app run
    cycles through ``window`` batches, so single steps go up and down with the batch; the mean is the trend."""
    y = np.asarray(losses, dtype=float)
    mean = np.convolve(y, np.ones(window) / window, mode="valid") if len(y) >= window else y[:0]
    fig = go.Figure([
        go.Scatter(y=y, mode="lines", line={"color": PALETTE[0], "width": 1}, opacity=0.45, name="each step"),
        go.Scatter(x=np.arange(window - 1, len(y)), y=mean, mode="lines", line={"color": PALETTE[0], "width": 4},
                   name=f"mean of {window} steps (one pass over the data)")])
    fig.update_layout(title="Training loss", height=320, uirevision="loss", **LAYOUT)
    fig.update_xaxes(title="step")
    fig.update_yaxes(title="1 − |cos(n̂, n)|", rangemode="tozero")
    return fig
