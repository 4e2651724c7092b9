"""Tensor Frames Explorer: ``streamlit run app/main.py``. Layout and wiring only."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
import tensorframes_core  # noqa: E402,F401  before PyG: it then initialises without torch._dynamo (~1 s)
from streamlit.delta_generator import DeltaGenerator  # noqa: E402

from app import controls, panels, pipeline, plot_view, scene, sections  # noqa: E402
from app.errors import step  # noqa: E402
from app.settings import Settings  # noqa: E402

st.set_page_config(page_title="Tensor Frames Explorer", layout="wide")
st.session_state["_tfe_full_runs"] = st.session_state.get("_tfe_full_runs", 0) + 1
controls.init_state(st.query_params.to_dict())


def load_cloud(s):
    """The input cloud; a bad upload shows an error and keeps the last good cloud."""
    if s.source == "upload":
        upload = st.session_state.get("upload")
        if upload is None:
            st.info("Choose a file in the sidebar, or switch back to the shape gallery. Meanwhile showing the last cloud.")
            return st.session_state.get("_tfe_last_cloud") or pipeline.gallery_cloud(s.shape, s.n_points, 0.0, s.seed)
        cloud = pipeline.uploaded_cloud(upload.getvalue(), upload.name, s.n_points)
    else:
        cloud = pipeline.gallery_cloud(s.shape, s.n_points, s.noise, s.seed)
    for notice in cloud.notices:
        st.warning(notice, icon=":material/content_cut:")
    st.session_state["_tfe_last_cloud"] = cloud
    return cloud


def load_model(s):
    """(model, effective settings): an in-session trained model if chosen, else the shared one."""
    if s.weights != "default":
        loaded, job = sections.trained_model(s.weights)
        return loaded, s.replace(arch=job.arch, mode=job.mode, frames=job.frames)
    return pipeline.shared_model(s.arch, s.mode, s.frames), s


@st.fragment
def picture(results: pipeline.Results | None, loaded: pipeline.LoadedModel | None, settings: Settings,
            tabs: tuple[DeltaGenerator, DeltaGenerator, DeltaGenerator]) -> None:
    """Everything drawn from the model's results and the picture controls: the sidebar's section 4, the 3D
    views, the message close-up, the side-by-side views and the views' downloads (``tabs``: the views,
    side-by-side and export containers). A picture-only control reruns this alone: no model, and the rest
    of the page is not sent again. Its last element is the sentinel whose ``data-run`` counts the runs that
    ended (whole or this fragment's) and ``data-full`` the whole-page runs among them."""
    with st.sidebar:
        controls.picture_section()
    settings = controls.with_picture(settings)
    controls.sync_url(settings)
    views_tab, side_tab, export_slot = tabs
    scene_ = None
    with views_tab:
        if results is not None:
            with step("drawing the 3D views"):
                scene_ = scene.build_scene(results, settings)
                panels.views(scene_, settings)
            if settings.show_messages:
                with step("showing the message"):
                    panels.message_panel(results, settings)
    with side_tab:
        if results is not None:
            with step("running the second model"):
                sections.side_by_side_tab(results, loaded, settings, results.cloud)
    with export_slot:
        if scene_ is not None:
            with step("preparing the downloads"):
                sections.export_tab(results, scene_)
    st.session_state["_tfe_run"] = st.session_state.get("_tfe_run", 0) + 1
    st.markdown(f"<div id='tfe-ready' data-run='{st.session_state['_tfe_run']}' "
                f"data-full='{st.session_state['_tfe_full_runs']}'></div>", unsafe_allow_html=True)


panels.page_style()
st.title("Tensor Frames Explorer")
st.markdown("Rotate or mirror a point cloud and watch whether a network's predicted normals turn with it. "
            "**Tensor frames** make any message-passing network do exactly that.")
settings = controls.sidebar(trained=sorted(st.session_state.get(sections.TRAINED, {})))
with st.sidebar:
    plot_view.preload()  # plotly.js loads while the model runs
controls.sync_url(settings)
sections.tour()

results = loaded = None
with step("loading the input") as loading:
    cloud = load_cloud(settings)
if not loading.ok:
    cloud = st.session_state.get("_tfe_last_cloud")
    if cloud is None:
        with step("loading the gallery shape"):
            cloud = pipeline.gallery_cloud(settings.shape, settings.n_points, settings.noise, settings.seed)
    if cloud is not None:
        st.caption(f"Showing “{cloud.name}” meanwhile.")
with step("running the model"):
    if cloud is not None:
        loaded, settings = load_model(settings)
        with st.spinner("Running the model…"):
            results = pipeline.run(cloud, pipeline.transform_of(settings), loaded)
if results is not None:
    with step("showing the equivariance numbers"):
        panels.equivariance(results, loaded, settings)
tab_views, tab_charts, tab_side, tab_layer, tab_train, tab_export = st.tabs(
    ["3D views", "Charts", "Side by side", "Any PyG layer", "Train a model", "Export"])
with tab_charts:
    if results is not None:
        with step("computing the charts"):
            sections.charts_tab(results, loaded, settings, cloud)
with tab_layer:
    if cloud is not None:
        with step("testing the layer"):
            sections.any_layer_tab(cloud, pipeline.transform_of(settings), settings.is_identity)
with tab_train:
    with step("training"):
        sections.train_tab()
with tab_export:
    export_views = st.container()  # filled by the picture fragment, above the whole-file section
    if cloud is not None:
        with step("normals for the whole file"):
            sections.whole_file_section(cloud)
picture(results, loaded, settings, (tab_views, tab_side, export_views))
