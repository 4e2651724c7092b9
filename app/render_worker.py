"""Draw a scene with pyvista off-screen: ``python app/render_worker.py scene.pkl out.png|out.html``.

``.png``: a screenshot. ``.html``: pyvista's standalone vtk.js export (trame-pyvista; the scene is
drawn client-side and can be rotated in the browser, with no server behind it).

Runs in its own process (started by ``render.py`` with a timeout), never in the Streamlit server:
VTK/OpenGL failures or hangs then cannot take the app down. Imports nothing from the app.
The input is a pickle the app itself wrote (``scene.as_plain``), never user data.
"""
from __future__ import annotations

import os
import pickle
import sys

import numpy as np

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


def plotter_for(scene: dict, window_size=(1500, 700)):
    """A pyvista off-screen Plotter, one linked subplot per view."""
    import pyvista as pv

    views = scene["views"]
    plotter = pv.Plotter(off_screen=True, shape=(1, len(views)), window_size=list(window_size), border=False)
    plotter.set_background("white")
    bar_done = False
    for col, view in enumerate(views):
        plotter.subplot(0, col)
        plotter.add_text(view["title"], font_size=12, color="black")
        for layer in view["points"]:
            cloud = pv.PolyData(np.asarray(layer["pos"], dtype=np.float32))
            style = {"point_size": layer["size"] * 1.8, "render_points_as_spheres": True}  # arrows stay visible
            if layer["values"] is not None:
                cloud["value"] = np.asarray(layer["values"], dtype=np.float32)
                plotter.add_mesh(cloud, scalars="value", cmap="turbo", clim=(0, layer["cmax"]),
                                 show_scalar_bar=not bar_done,
                                 scalar_bar_args={"title": layer["colorbar"], "color": "black"}, **style)
                bar_done = True
            else:
                plotter.add_mesh(cloud, color=layer["color"], **style)
        for layer in view["arrows"]:
            if len(layer["origins"]) == 0:
                continue
            starts = np.asarray(layer["origins"], dtype=np.float32)
            ends = starts + np.asarray(layer["vectors"], dtype=np.float32)
            lines = pv.line_segments_from_points(np.stack([starts, ends], 1).reshape(-1, 3))
            plotter.add_mesh(lines, color=layer["color"], line_width=layer["width"] * 1.5)
        plotter.view_isometric()
    if len(views) > 1:
        plotter.link_views()
    return plotter


def main(argv: list[str]) -> int:
    source, target = argv
    with open(source, "rb") as f:
        scene = pickle.load(f)
    plotter = plotter_for(scene)
    if target.endswith(".html"):
        plotter.trame.export_html(target)
    else:
        plotter.screenshot(target)
    plotter.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
