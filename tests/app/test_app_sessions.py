"""The explorer through Streamlit's AppTest, part 2: uploads, renderers, charts, training, sessions.

AppTest runs cost seconds each, so every test drives several widgets in one session. ``ok`` checks
what must hold after every run: no exception element, the sentinel for that run, no error box.
"""
from __future__ import annotations

import ctypes
import gc
import json
import os

import numpy as np

from app.panels import VTKJS_HEIGHT
from app.settings import CHOICES, RANGES

from app_checks import button, headline, ok, verdict, views

BAD_UPLOADS = [
    ("noise.xyz", np.random.default_rng(0).bytes(4000)),
    ("empty.xyz", b""),
    ("nan.xyz", b"0 0 0\n1 nan 0\n" * 10),
    ("flat.csv", b"x,y\n" + b"1,2\n" * 20),
    ("tiny.xyz", b"0 0 0\n1 1 1\n"),
    ("claims.ply", b"ply\nformat ascii 1.0\nelement vertex 1000000000000\nproperty float x\nproperty float y\n"
                   b"property float z\nend_header\n0 0 0\n"),
]


def test_uploads_good_and_bad(app_test):
    at = app_test(source="upload")
    ok(at)  # no file yet: a hint and the last/gallery cloud
    pts = np.random.default_rng(1).normal(size=(500, 3))
    at.file_uploader(key="upload").set_value(("good.xyz", "\n".join(" ".join(map(str, p)) for p in pts).encode(),
                                              "text/plain"))
    at.slider(key="n_points").set_value(300).run()
    ok(at)
    assert any("subsampl" in w.value for w in at.warning), "the size cap must be visible"
    assert "no ground truth" in at.metric[1].value
    good = headline(at)
    huge = ("huge.xyz", b"0 0 0\n" * (9 * 2**20))  # 54 MB: over the app's 50 MB limit
    for name, data in BAD_UPLOADS + [huge]:
        at.file_uploader(key="upload").set_value((name, data, "application/octet-stream")).run()
        ok(at, errors=True)
        assert at.error and "Could not use this input" in at.error[0].value, name
        assert headline(at) == good, "the last good cloud is kept"


def test_pyvista_renderers(app_test):
    """Both pyvista renderers draw (in their worker process) here; the plotly fallback is not used; the
    interactive one is stpyvista's component holding the exported vtk.js page (with the kept-camera script)."""
    at = app_test(renderer="pyvista (image)")
    ok(at)
    assert not any("renderer did not work" in w.value for w in at.warning), [w.value for w in at.warning]
    assert len(at.get("imgs")) + len(at.get("image")) == 1
    at.radio(key="renderer").set_value("pyvista (vtk.js, interactive)").run()
    ok(at)
    assert not any("renderer did not work" in w.value for w in at.warning), [w.value for w in at.warning]
    shown = [json.loads(e.proto.json) for e in at.get("bidi_component") if e.proto.component_name == "stpyvista.simple"]
    assert len(shown) == 1 and shown[0]["backend"] == "trame", "stpyvista does not show the view"
    assert "OfflineLocalView" in shown[0]["_html"] and "tfe-vtkjs-camera" in shown[0]["_html"], "not the vtk.js page"
    assert shown[0]["height"] == VTKJS_HEIGHT and not at.get("iframe")
    assert not at.get("plotly_chart") and not views(at)
    key = next(m.value for m in at.markdown if "&#9632;" in m.value)  # titles and colour key as page text
    assert "original x" in key and "transformed g·x" in key


def test_charts_and_exports(app_test):
    at = app_test(shape="capsule", axis="y", angle="120")
    at.toggle(key="_tfe_charts").set_value(True).run()
    ok(at)
    assert len(views(at)) == 3 and not at.get("plotly_chart")  # the views, the sweep, the histogram
    labels = [b.proto.label for b in at.get("download_button")]
    assert {"Normals on x (CSV)", "Normals on x (PLY)"} <= set(labels)
    at.radio(key="mode").set_value("baseline").run()  # a plain network is compared with tensor frames, not itself
    ok(at)
    sweep = json.dumps(next(f for f in views(at) if "orbit" in f["layout"].get("title", {}).get("text", ""))).lower()
    assert "tensor frames" in sweep and "baseline" in sweep


def test_training_in_app_is_per_session(app_test):
    a, b = app_test(), app_test()
    form = a.get("form")[0]
    form.selectbox[0].set_value("dgcnn")  # not the sidebar's architecture ...
    form.selectbox[1].set_value("scalar_frames")  # ... nor its mode
    form.slider[0].set_value(5)  # steps
    form.slider[1].set_value(128)  # points per shape
    a.get("form_submit_button")[0].click().run()
    job = a.session_state["_tfe_job"]
    job.thread.join(timeout=240)
    assert job.status == "done" and len(job.losses) == 5 and all(np.isfinite(job.losses))
    a.run()
    ok(a)
    button(a, "Use this model now").click().run()
    ok(a)
    assert a.selectbox(key="weights").value == job.label
    # the sidebar and the shareable URL follow the trained model
    assert (a.selectbox(key="arch").value, a.radio(key="mode").value) == ("dgcnn", "scalar_frames")
    assert (a.query_params["arch"], a.query_params["mode"]) == ("dgcnn", "scalar_frames")
    assert "trained in this session" in a.caption[0].value or any("trained in this session" in c.value
                                                                     for c in a.caption)
    b.radio(key="mode").set_value("baseline").run()
    ok(b)
    assert b.selectbox(key="weights").options == ["pretrained (or untrained if none)"]
    assert a.radio(key="mode").value == "scalar_frames", "sessions must not share widget state"


def test_two_sessions_do_not_share_results(app_test):
    a = app_test(angle="45")
    b = app_test(angle="45", mode="baseline")
    ok(a)
    ok(b)
    assert "Not equivariant" not in verdict(a) and verdict(a) != verdict(b)
    a.run()
    assert "Not equivariant" not in verdict(a)


def _statm_rss_mb() -> float:
    """This process's resident memory after a garbage collection, with the allocator's free pages handed
    back (so that the figure follows live memory, not how glibc happens to keep freed blocks)."""
    gc.collect()
    ctypes.CDLL(None).malloc_trim(0)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


PICTURE = (("toggle", "show_pred"), ("toggle", "show_gt"), ("toggle", "show_frames"), ("toggle", "show_undo"),
           ("toggle", "show_messages"), ("slider", "arrow_density"), ("slider", "frame_density"),
           ("slider", "point_size"), ("radio", "layout"), ("selectbox", "color_by"))
MODEL = (("selectbox", "shape"), ("slider", "angle"), ("toggle", "reflect"), ("radio", "mode"),
         ("radio", "mirror"), ("selectbox", "axis"), ("selectbox", "frames"))


def test_soak_random_interactions(app_test):
    """200 random widget values (TFE_SOAK=N for another count), 3 of 4 picture-only: no exception, and memory
    that levels off (caches are bounded): the second half of the run may add far less than the first."""
    rng = np.random.default_rng(0)
    steps = int(os.environ.get("TFE_SOAK", "200"))
    at = app_test()
    rss = [_statm_rss_mb()]
    for step in range(steps):
        pool = MODEL if step % 4 == 0 else PICTURE
        kind, key = pool[rng.integers(len(pool))]
        widget = getattr(at, kind)(key=key)
        if not widget.disabled:
            if kind == "toggle":
                value = not widget.value
            elif kind == "slider":
                lo, hi = RANGES[key]
                value = int(rng.integers(lo, hi + 1))
            else:
                value = CHOICES[key][rng.integers(len(CHOICES[key]))]
            widget.set_value(value).run()
            ok(at)
        if step + 1 == steps // 2:
            rss.append(_statm_rss_mb())
    rss.append(_statm_rss_mb())
    first, second = rss[1] - rss[0], rss[2] - rss[1]
    print(f"soak: {steps} interactions, RSS growth {first:.0f} MB in the first half, {second:.0f} MB in the second")
    assert first + second < 250, f"memory grew by {first + second:.0f} MB"
    assert second < 60, f"memory still grows in the second half: {second:.0f} MB"


def test_uploaded_box_turned_any_way_reads_equivariant(app_test):
    """Issue 11's new-user case: a 2 x 1 x 0.5 box saved as STL, DGCNN with tensor frames, any g."""
    import trimesh

    stl = trimesh.creation.box(extents=(2.0, 1.0, 0.5)).export(file_type="stl")
    at = app_test(source="upload", arch="dgcnn", mode="tensor_frames", n_points="1500")
    at.file_uploader(key="upload").set_value(("box.stl", stl, "model/stl")).run()
    ok(at)
    for axis, angle, reflect in (("z", 45, False), ("x", 60, True), ("y", -130, False)):
        at.selectbox(key="axis").set_value(axis)
        at.slider(key="angle").set_value(angle)
        at.toggle(key="reflect").set_value(reflect).run()
        ok(at)
        assert verdict(at).count("Equivariant.") == 1, verdict(at)
        fallbacks = next(m.value for m in at.metric if m.label == "Frame fallbacks")
        assert fallbacks.startswith("0 of"), fallbacks


def test_symmetric_sheet_fails_and_the_verdict_blames_the_frames(app_test):
    """Lesson 7: a planar cloud is its own mirror image; every frame falls back and the verdict says the
    frames (not the architecture) are the cause. Noise breaks the symmetry and the fallbacks go."""
    at = app_test(shape="disk", arch="gcn", mode="tensor_frames", axis="x", angle="150")
    ok(at)
    assert "frames are the cause" in verdict(at), verdict(at)
    fallbacks = next(m.value for m in at.metric if m.label == "Frame fallbacks")
    assert fallbacks == "300 of 300", fallbacks
    at.select_slider(key="noise").set_value(0.006).run()
    ok(at)
    assert verdict(at).count("Equivariant.") == 1, verdict(at)


def test_whole_file_normals_for_a_subsampled_upload(app_test):
    """An upload above the display cap: every point of the file gets a normal, in the background."""
    from app.sections import WHOLE
    from tensorframes_core.data import load_point_cloud

    pts = np.random.default_rng(3).normal(size=(3000, 3))
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    at = app_test(source="upload")
    at.file_uploader(key="upload").set_value(("ball.xyz", "\n".join(" ".join(map(str, p)) for p in pts).encode(),
                                              "text/plain")).run()
    ok(at)
    button(at, "Compute normals for every point").click().run()
    ok(at)
    job = at.session_state[WHOLE]
    job.thread.join(timeout=120)
    assert job.status == "done", job.message
    at.run()
    ok(at)
    download = next(b for b in at.get("download_button") if "for all 3,000 points" in b.proto.label)
    assert download is not None
    back = load_point_cloud(job.result, filename="out.ply")
    assert len(back) == 3000 and np.allclose(back.pos.numpy(), pts, atol=1e-6)  # every point, in input order
    assert (np.abs((back.normals.numpy() * pts).sum(1)) > 0.99).mean() > 0.99


def test_choosing_upload_switches_to_the_flagship(app_test):
    """Your own file gets the estimator trained on real meshes (``load_pretrained()``'s default)."""
    from tensorframes_core.pretrained import FLAGSHIP

    at = app_test(arch="dgcnn", mode="baseline")
    ok(at)
    at.radio(key="source").set_value("upload").run()
    ok(at)
    assert (at.session_state.arch, at.session_state.mode, at.session_state.frames) == FLAGSHIP


def test_any_pyg_layer_made_equivariant_live(app_test):
    """The paper's title claim on the page: a PyG layer as shipped vs wrapped, for the sidebar's g."""
    at = app_test(shape="chair", angle="45", reflect="1")
    ok(at)
    at.toggle(key="_tfe_layer_on").set_value(True).run()
    ok(at)
    for name in ("GATConv", "PointNetConv"):
        at.selectbox(key="_tfe_layer").set_value(name).run()
        ok(at)
        plain = next(m.value for m in at.metric if m.label == f"{name} as PyG ships it")
        wrapped = next(m.value for m in at.metric if m.label == f"make_equivariant({name})")
        assert number(plain) > 1e-2, plain
        assert number(wrapped) < 1e-12, wrapped  # float64 round-off


def number(text):
    """The value of a number the page writes as ``2.3 × 10⁻⁷`` (``panels.sci``)."""
    mantissa, _, power = text.partition(" × 10")
    return float(mantissa) * 10.0 ** int(power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")) or 0)


def test_a_geo_referenced_upload_is_shown_centred_and_downloaded_as_read(app_test):
    """UTM-like metres (float32 would round them to 0.5 m): the explorer shows the cloud about its centre with
    a notice, its normals are those of the surface, and the whole-file download keeps every coordinate."""
    from app.sections import WHOLE
    from tensorframes_core.data import load_point_cloud

    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 20, (3000, 2))
    pts = np.column_stack([xy + [512345.678, 5401234.567], 312.5 + 0.01 * rng.normal(size=3000)]).round(4)
    text = "\n".join(" ".join(f"{v:.4f}" for v in p) for p in pts).encode()
    at = app_test(source="upload")
    at.file_uploader(key="upload").set_value(("utm.xyz", text, "text/plain")).run()
    ok(at)
    assert any("relative to its centre" in w.value for w in at.warning), [w.value for w in at.warning]
    button(at, "Compute normals for every point").click().run()
    job = at.session_state[WHOLE]
    job.thread.join(timeout=120)
    assert job.status == "done", job.message
    back = load_point_cloud(job.result, filename="out.ply", dtype=None)
    np.testing.assert_array_equal(back.pos.numpy(), pts)
    assert (back.normals[:, 2].abs() > 0.99).float().mean() > 0.99  # a level patch: normals along z
