"""The app's pure parts without a Streamlit server: URL state, transforms, scenes, messages, exports."""
from __future__ import annotations

import base64
import doctest
import importlib
import io
import json
import re
import zipfile

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from app import pipeline, plot_view, render, scene
from tensorframes_core.group import mirror, rotation_about, rotation_from_euler
from app.settings import DEFAULTS, FIELDS, Settings, from_query, to_query
from tensorframes_core.data import load_point_cloud

MODULES = ("app.settings", "app.tour", "app.export", "app.charts", "app.panels")


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_url_round_trip_and_garbage():
    s = Settings(shape="box", n_points=700, noise=0.006, angle=-45, reflect=True, mirror="z", arch="dgcnn",
                 mode="scalar_frames", frames="learned", show_frames=True, frame_size=1.5)
    assert Settings(**from_query(to_query(s))) == s
    assert to_query(DEFAULTS) == {}
    junk = {"angle": "999", "n_points": "1e9", "mode": "evil", "reflect": "maybe", "weights": "x", "zzz": "1",
            "noise": "0.5", "seed": "-1"}
    assert from_query(junk) == {}
    assert set(FIELDS) >= set(from_query({k: "1" for k in FIELDS}))


def test_transforms_are_orthogonal_and_compose():
    eye = torch.eye(3, dtype=torch.float64)
    for g in (rotation_about("diagonal", 37), rotation_from_euler(10, -70, 150), mirror("y")):
        assert torch.allclose(g @ g.T, eye, atol=1e-12)
    assert torch.linalg.det(mirror("z")) == pytest.approx(-1)
    s = Settings(rot_mode="Euler angles", euler_x=30, reflect=True, mirror="y")
    g = pipeline.transform_of(s)
    assert np.allclose(g, (rotation_from_euler(30, 0, 0) @ mirror("y")).numpy())
    assert not s.is_identity and Settings(angle=360).is_identity


@pytest.fixture(scope="module")
def small_cloud():
    return pipeline.gallery_cloud("ellipsoid", 300, 0.0, 0)


@pytest.mark.parametrize("mode", ["tensor_frames", "scalar_frames", "baseline"])
def test_message_view_shows_the_frame_change(small_cloud, mode):
    """Tensor frames: what j means equals what i reads (globally); scalar messages: it does not."""
    loaded = pipeline.shared_model("gcn", mode, "pca")
    res = pipeline.run(small_cloud, pipeline.transform_of(Settings(angle=70, reflect=True)), loaded)
    msgs = [scene.message(res.pred, i, 3) for i in range(0, 300, 37)]
    agree = [np.allclose(m.meant_global, m.read_global, atol=1e-4) for m in msgs if m is not None]
    assert len(agree) > 5
    if mode == "scalar_frames":
        assert not any(agree)  # a negative control: the picture CAN show a mismatch
        assert res.eq_error < 1e-4  # ... although scalar frames are still equivariant
    else:
        assert all(agree)
    if mode == "baseline":
        assert res.eq_error > 1e-3
    else:
        assert res.eq_error < 1e-4 and res.gap_deg.max() < 1e-2


def test_scene_layers_and_plotly_figure(small_cloud):
    loaded = pipeline.shared_model("gcn", "tensor_frames", "pca")
    res = pipeline.run(small_cloud, pipeline.transform_of(Settings(angle=90)), loaded)
    full = Settings(show_gt=True, show_frames=True, show_messages=True, show_undo=True, node=5)
    side = scene.build_scene(res, full)
    assert [v.title for v in side.views] == ["original x", "transformed g·x"]
    names = {a.name for a in side.views[0].arrows}
    assert {"predicted normal", "true normal", "g⁻¹·f(g·x)", "frame e1", "edges j→i"} <= names
    undo = next(a for a in side.views[0].arrows if a.name == "g⁻¹·f(g·x)")
    pred = next(a for a in side.views[0].arrows if a.name == "predicted normal")
    assert np.allclose(undo.vectors, pred.vectors, atol=1e-4 * np.abs(pred.vectors).max())
    fig = render.plotly_figure(side)
    layout = fig["layout"]
    assert layout["uirevision"] == render.UIREVISION and layout["scene2"]["uirevision"] == render.UIREVISION
    go.Figure(fig)  # a valid plotly figure (validated here, not on every run)
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["original x", "transformed g·x"]
    overlay = scene.build_scene(res, full.replace(layout="overlay", show_messages=False))
    assert len(overlay.views) == 1
    plain = scene.as_plain(overlay)
    assert plain["views"][0]["points"][0]["pos"].shape == (300, 3)


def test_plotly_js_is_served_from_the_installed_package(tmp_path, monkeypatch):
    """The views' plotly.js is the plotly package's bundle, copied whole into the static folder once
    (again when the package's bundle changes), never fetched."""
    served = tmp_path / "static" / "plotly.min.js"
    monkeypatch.setattr(plot_view, "SERVED", served)
    plot_view.serve_plotly_js()
    assert served.read_bytes() == plot_view.BUNDLE.read_bytes()
    stamp = served.stat().st_mtime_ns
    plot_view.serve_plotly_js()
    assert served.stat().st_mtime_ns == stamp  # not copied twice
    served.write_bytes(b"old")
    plot_view.serve_plotly_js()
    assert served.stat().st_size == plot_view.BUNDLE.stat().st_size and list(served.parent.iterdir()) == [served]
    assert plot_view.SOURCE_URL in plot_view.JS and "https://" not in plot_view.JS


def test_views_fall_back_to_streamlits_chart_without_static_serving(monkeypatch):
    """Started away from the repository root (no .streamlit/config.toml: no static serving), or from a
    read-only checkout, the views are Streamlit's own plotly charts: the page still draws them."""
    from streamlit.testing.v1 import AppTest

    def page():
        from app import plot_view as view
        view.preload()
        view.plot_view({"data": [{"type": "scatter3d", "x": [0, 1], "y": [0, 1], "z": [0, 1]}], "layout": {}},
                       key="v", config={"displaylogo": False})

    def read_only():
        raise PermissionError("read-only checkout")

    try:
        for serving, writable, charts, components in ((True, True, 0, 2), (False, True, 1, 0), (True, False, 1, 0)):
            monkeypatch.setattr(plot_view, "static_serving", lambda serving=serving: serving)
            if not writable:  # plotly.js cannot be put into app/static/
                monkeypatch.setattr(plot_view, "serve_plotly_js", read_only)
                plot_view._component.clear()
            at = AppTest.from_function(page).run()
            assert not at.exception and len(at.get("plotly_chart")) == charts
            assert len(at.get("bidi_component")) == components
    finally:
        plot_view._component.clear()  # the next test registers the real component again


def test_exports_read_back(small_cloud, tmp_path):
    from app import export

    normals = small_cloud.normals
    for name, data in (("n.csv", export.normals_csv(small_cloud.pos, normals)),
                       ("n.ply", export.normals_ply(small_cloud.pos, normals))):
        back = load_point_cloud(data, filename=name)
        assert np.allclose(back.pos.numpy(), small_cloud.pos, atol=1e-5)
        assert np.allclose(back.normals.numpy(), normals, atol=1e-5)


def test_render_failure_is_a_render_error(monkeypatch):
    """A broken or hanging pyvista process becomes RenderError (the page then falls back to plotly)."""
    with pytest.raises(render.RenderError, match="failed"):
        render._render(b"not a pickle", ".png", timeout=60)
    monkeypatch.setattr(render, "WORKER", render.Path(__file__).with_name("hang_worker.py"))
    with pytest.raises(render.RenderError, match="longer than"):
        render._render(b"", ".html", timeout=1)


def test_vtkjs_export_holds_the_scene(small_cloud):
    """The pinned trame export (pyproject) really writes a vtk.js view of the scene: a page that loads an
    OfflineLocalView from an embedded zip whose index.json has one renderer with actors per view and the
    cloud's points (trame-vtk's HTML export has shipped broken in three releases)."""
    loaded = pipeline.shared_model("gcn", "tensor_frames", "pca")
    res = pipeline.run(small_cloud, pipeline.transform_of(Settings(angle=30)), loaded)
    views = scene.build_scene(res, Settings())
    html = render.pyvista_html(views)
    embedded = re.search(r'base64Str\s*=\s*"([A-Za-z0-9+/=]+)"', html)
    assert "OfflineLocalView.load" in html and embedded
    index = json.loads(zipfile.ZipFile(io.BytesIO(base64.b64decode(embedded.group(1)))).read("index.json"))
    renderers = [d for d in index["scene"]["dependencies"] if d["type"].endswith("Renderer")]
    assert len(renderers) == len(views.views)
    assert all(any(d["type"].endswith("Actor") for d in r["dependencies"]) for r in renderers)
    sizes = {len(base64.b64decode(h["content"])) // 12 for h in index["hashes"].values() if h["vtk"] == "vtkPoints"}
    assert len(small_cloud.pos) in sizes


def test_stpyvista_gets_a_plotter_whose_export_is_the_guarded_page():
    """stpyvista exports its plotter in a child that it waits on without a timeout: the plotter it is
    given returns the page made by the guarded worker, also after pickling (a spawn/forkserver child)."""
    import pickle

    import pyvista as pv

    from app.stpyvista_view import exported_plotter

    plotter = exported_plotter("<html>vtk.js page</html>", 640)
    try:
        assert isinstance(plotter, pv.Plotter) and list(plotter.window_size) == [1500, 640]
        assert plotter.export_html(filename=None).read() == "<html>vtk.js page</html>"
        copy = pickle.loads(pickle.dumps(plotter))
        assert copy.export_html().read() == "<html>vtk.js page</html>" and list(copy.window_size) == [1500, 640]
        copy.close()
    finally:
        plotter.close()


def test_sweep_marks_the_current_angle():
    from app.charts import sweep_figure

    fig = sweep_figure([0, 15, 30], {"a": [1e-7, 1e-7, 1e-7]}, "x", current=-30)
    assert fig.layout.shapes[0].x0 == 330 and "now: -30°" in fig.layout.annotations[0].text
    assert not sweep_figure([0, 15], {"a": [1e-7, 1e-7]}, "x").layout.shapes
