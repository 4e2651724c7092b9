"""Downloads: predicted normals as CSV and ASCII PLY, figures as standalone interactive HTML.

>>> import numpy as np
>>> print(normals_csv(np.zeros((1, 3)), np.array([[0.0, 0.0, 1.0]])).decode())
x,y,z,nx,ny,nz
0,0,0,0,0,1
<BLANKLINE>
>>> normals_ply(np.zeros((2, 3)), np.zeros((2, 3))).splitlines()[2]
b'element vertex 2'
"""
from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
import plotly.io


def _rows(pos: np.ndarray, normals: np.ndarray) -> np.ndarray:
    return np.hstack([np.asarray(pos, np.float64), np.asarray(normals, np.float64)])


def normals_csv(pos: np.ndarray, normals: np.ndarray) -> bytes:
    """``x,y,z,nx,ny,nz`` with a header line, one point per row."""
    out = io.StringIO()
    np.savetxt(out, _rows(pos, normals), delimiter=",", fmt="%.7g", header="x,y,z,nx,ny,nz", comments="")
    return out.getvalue().encode()


def normals_ply(pos: np.ndarray, normals: np.ndarray) -> bytes:
    """An ASCII PLY point cloud with float x y z nx ny nz per vertex (readable by the app itself)."""
    header = ("ply\nformat ascii 1.0\n"
              f"element vertex {len(pos)}\n"
              + "".join(f"property float {name}\n" for name in ("x", "y", "z", "nx", "ny", "nz"))
              + "end_header\n")
    out = io.StringIO()
    np.savetxt(out, _rows(pos, normals), fmt="%.7g")
    return (header + out.getvalue()).encode()


def figure_html(fig: go.Figure | dict) -> bytes:
    """A standalone HTML file (plotly.js inlined: works offline) of an interactive figure (or figure dict)."""
    return plotly.io.to_html(fig, include_plotlyjs=True, full_html=True, validate=False).encode()
