"""The explorer through Streamlit's AppTest: every panel, bad uploads, URL state, session isolation.

AppTest runs cost seconds each, so every test drives several widgets in one session. ``ok`` checks
what must hold after every run: no exception element, the sentinel for that run, no error box.
"""
from __future__ import annotations

from app.settings import from_state, to_query

from app_checks import button, headline, ok, verdict, views


def test_default_page(app_test):
    at = app_test(n_points="1500")  # the default size a user gets
    ok(at)
    assert at.title[0].value == "Tensor Frames Explorer"
    assert "10⁻" in headline(at)
    assert "Not equivariant" not in verdict(at)  # tensor frames (exactness is tested in test_app_units)
    assert to_query(from_state(at.session_state)) == {}
    (figure,) = views(at)  # one plot, two 3D scenes
    assert {"scene", "scene2"} <= set(figure["layout"]) and figure["config"] == {"displaylogo": False}
    assert figure["layout"]["uirevision"] == "tfe-camera" and not at.get("plotly_chart")
    preload = [e for e in at.sidebar.get("bidi_component") if e.proto.component_name == "tfe_plot_view"]
    assert len(preload) == 1 and not preload[0].proto.json  # plotly.js starts loading before the views


def test_shape_transform_model_and_layers(app_test):
    at = app_test()
    at.selectbox(key="shape").set_value("ellipsoid").run()
    ok(at)
    at.radio(key="rot_mode").set_value("Euler angles").run()
    at.slider(key="euler_y").set_value(45).run()
    at.toggle(key="reflect").set_value(True).run()
    ok(at)
    assert "Not equivariant" not in verdict(at)
    at.radio(key="mode").set_value("baseline").run()
    ok(at)
    assert "Not equivariant" in verdict(at) or "Almost" in verdict(at)
    button(at, "Random").click().run()
    ok(at)
    assert at.session_state.rot_mode == "Euler angles"
    button(at, "Reset").click().run()
    ok(at)
    assert "identity" in verdict(at)
    for arch, mode, frames in (("dgcnn", "tensor_frames", "learned"), ("pointnet2", "scalar_frames", "pca"),
                               ("transformer", "augment", "pca"), ("pca", "baseline", "pca")):
        at.selectbox(key="arch").set_value(arch)
        at.radio(key="mode").set_value(mode)
        at.slider(key="angle").set_value(90).run()
        ok(at)
        if not at.selectbox(key="frames").disabled:
            at.selectbox(key="frames").set_value(frames).run()
            ok(at)
    # layers: picture-only changes, all at once
    at.selectbox(key="arch").set_value("gcn").run()
    for key in ("show_gt", "show_frames", "show_undo", "show_messages"):
        at.toggle(key=key).set_value(True)
    at.number_input(key="node").set_value(7)
    at.radio(key="layout").set_value("overlay")
    at.selectbox(key="color_by").set_value("equivariance gap").run()
    ok(at)
    assert any("Message from neighbour" in h.value for h in at.subheader)
    assert len(at.dataframe) == 1


def test_query_params_restore_state_and_url_follows(app_test):
    at = app_test(shape="box", mode="baseline", axis="y", angle="90", reflect="1", arch="transformer",
                  show_frames="1", bogus="1", seed="oops")
    ok(at)
    assert at.selectbox(key="shape").value == "box"
    assert at.radio(key="mode").value == "baseline"
    assert at.slider(key="angle").value == 90 and at.toggle(key="reflect").value
    assert at.selectbox(key="arch").value == "transformer"
    assert at.number_input(key="seed").value == 0
    at.radio(key="mode").set_value("tensor_frames").run()
    assert at.query_params["shape"] == "box" and "mode" not in at.query_params


def test_lesson_preset_sets_every_control(app_test):
    at = app_test(angle="-30", arch="dgcnn")
    at.radio(key="_tfe_lesson").set_value("baseline").run()
    button(at, "Set up this lesson").click().run()
    ok(at)
    assert at.radio(key="mode").value == "baseline" and at.slider(key="angle").value == 90
    assert at.selectbox(key="arch").value == "gcn"  # not in the lesson: back to its default
    assert at.toggle(key="show_undo").value




def test_side_by_side_gives_each_model_its_verdict(app_test):
    """Tensor frames next to the same network without frames, on one cloud and one g: two verdicts that differ."""
    at = app_test(angle="70")
    at.toggle(key="_tfe_compare").set_value(True).run()
    ok(at)
    assert at.selectbox(key="_tfe_compare_mode").value == "baseline"  # the counterpart of tensor frames
    verdicts = [m.value for m in at.markdown if "data-tfe='verdict'" in m.value]
    assert len(verdicts) == 3  # the headline's and one per side
    assert "Not equivariant" not in verdicts[1] and "Not equivariant" in verdicts[2]
    assert len(views(at)) == 3  # the main views and one per side
    at.selectbox(key="_tfe_compare_mode").set_value("scalar_frames").run()
    ok(at)
    assert "Not equivariant" not in [m.value for m in at.markdown if "data-tfe='verdict'" in m.value][2]
