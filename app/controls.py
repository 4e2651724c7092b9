"""The sidebar: widgets keyed by :class:`~app.settings.Settings` field names, URL state, presets."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import streamlit as st

from tensorframes_core.data import shapes

from app import settings as cfg
from app.settings import DEFAULTS, FIELDS, NOT_IN_URL, Settings

TRAINED = "_tfe_trained"  # {label: TrainJob} of the models trained in this browser session
PENDING_USE = "_tfe_use"  # a trained model to select on the next full run (set from the training fragment)

_INIT = "_tfe_initialised"


def init_state(query: Mapping[str, str]) -> None:
    """Once per browser session: every control starts from the URL, else its default."""
    if st.session_state.get(_INIT):
        return
    values = cfg.from_query(query)
    for name in FIELDS:
        st.session_state.setdefault(name, values.get(name, getattr(DEFAULTS, name)))
    st.session_state[_INIT] = True


def apply_values(values: Mapping[str, Any]) -> None:
    """Set every control: defaults overridden by ``values`` (a callback: runs before the widgets)."""
    for name in FIELDS:
        if name not in NOT_IN_URL:
            st.session_state[name] = values.get(name, getattr(DEFAULTS, name))


def _random_rotation() -> None:
    rng = np.random.default_rng()
    st.session_state.rot_mode = "Euler angles"
    for name in ("euler_x", "euler_y", "euler_z"):
        st.session_state[name] = int(rng.integers(-36, 37)) * 5


def _reset_transform() -> None:
    for name in ("rot_mode", "axis", "angle", "euler_x", "euler_y", "euler_z", "reflect", "mirror"):
        st.session_state[name] = getattr(DEFAULTS, name)
    st.session_state.angle = 0


def sync_url(s: Settings) -> None:
    """Keep the address bar equal to the current state: it is the shareable link."""
    wanted = cfg.to_query(s)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def _percent(x: float) -> str:
    return "none" if x == 0 else f"{100 * x:.3g}% of size"


def _input_section() -> None:
    st.radio("Input", cfg.SOURCES, key="source", horizontal=True, on_change=_flagship_for_uploads,
             format_func={"gallery": "Shape gallery", "upload": "Upload a file"}.get)
    gallery = st.session_state.source == "gallery"
    st.selectbox("Shape", shapes.NAMES, key="shape", disabled=not gallery, format_func=lambda n: n.replace("_", " "))
    if not gallery:
        st.file_uploader("Point cloud or mesh", key="upload", type=[f.lstrip(".") for f in _formats()],
                         help="ply, obj, stl, off, glb meshes are sampled; xyz/txt/pts/csv, npy/npz, pcd are read "
                              f"as points. At most {cfg.MAX_POINTS:,} points are used (larger clouds are subsampled).")
    st.slider("Number of points", *cfg.RANGES["n_points"], step=100, key="n_points")
    c1, c2 = st.columns(2)
    c1.select_slider("Noise", cfg.NOISE_CHOICES, key="noise", format_func=_percent, disabled=not gallery)
    c2.number_input("Seed", *cfg.RANGES["seed"], step=1, key="seed")


def _flagship_for_uploads() -> None:
    """Your own file gets the estimator trained on real meshes (``load_pretrained()``'s default)."""
    if st.session_state.source == "upload":
        from tensorframes_core.pretrained import FLAGSHIP

        st.session_state.arch, st.session_state.mode, st.session_state.frames = FLAGSHIP
        st.session_state.weights = "default"


def _formats() -> Sequence[str]:
    from tensorframes_core.data.formats import FORMATS
    return FORMATS


def _transform_section() -> None:
    st.radio("Rotation given by", cfg.ROT_MODES, key="rot_mode", horizontal=True)
    by_axis = st.session_state.rot_mode == "axis + angle"
    c1, c2 = st.columns([1, 2])
    c1.selectbox("Axis", cfg.CHOICES["axis"], key="axis", disabled=not by_axis)
    c2.slider("Angle (°)", *cfg.RANGES["angle"], step=5, key="angle", disabled=not by_axis)
    for name, label in (("euler_x", "about x (°)"), ("euler_y", "then about y (°)"), ("euler_z", "then about z (°)")):
        st.slider(label, *cfg.RANGES[name], step=5, key=name, disabled=by_axis)
    st.toggle("Reflect (mirror)", key="reflect")
    st.radio("Mirror plane ⟂", ("x", "y", "z"), key="mirror", disabled=not st.session_state.reflect, horizontal=True,
             format_func=lambda a: f"plane ⟂ {a}")  # a radio: a narrow select box cut its labels to "plane ."
    c1, c2 = st.columns(2)
    c1.button("Random", on_click=_random_rotation, width="stretch", help="A random rotation (Euler angles)")
    c2.button("Reset", on_click=_reset_transform, width="stretch", help="Back to no rotation and no mirror")


def _default_weights() -> None:
    st.session_state.weights = "default"  # a new architecture/mode/frames choice means its own weights


def _model_section(trained: Sequence[str]) -> None:
    st.selectbox("Architecture", cfg.CHOICES["arch"], key="arch", format_func=cfg.ARCH_LABELS.get,
                 on_change=_default_weights)
    st.radio("Mode", cfg.CHOICES["mode"], key="mode", format_func=cfg.MODE_LABELS.get,
             disabled=st.session_state.arch == "pca", on_change=_default_weights)
    uses_frames = st.session_state.mode in ("scalar_frames", "tensor_frames") and st.session_state.arch != "pca"
    st.selectbox("Frames", cfg.CHOICES["frames"], key="frames", disabled=not uses_frames, on_change=_default_weights,
                 help="pca: axes of the local covariance; learned: from a small invariant network; "
                      "3nn and random are controls (random frames are NOT equivariant).")
    options = ("default", *trained)
    if st.session_state.get("weights") not in options:
        st.session_state.weights = "default"
    st.selectbox("Weights", options, key="weights", on_change=_match_trained,
                 format_func=lambda w: "pretrained (or untrained if none)" if w == "default" else f"trained here: {w}")


def _match_trained() -> None:
    """Picking a model trained here sets Architecture, Mode and Frames to its own (so the URL tells the truth)."""
    use_trained(st.session_state.weights)


def use_trained(label: str) -> None:
    """Select the in-session model ``label`` and its architecture, mode and frames (before the widgets run)."""
    job = st.session_state.get(TRAINED, {}).get(label)
    if job is not None:
        st.session_state.update(weights=label, arch=job.arch, mode=job.mode, frames=job.frames)


def picture_section() -> None:
    """Section 4 of the sidebar: the controls that change only the picture (:data:`~app.settings.PICTURE`)."""
    st.header("4 · Picture")
    st.radio("Views", cfg.LAYOUTS, key="layout", horizontal=True)
    st.radio("Renderer", cfg.RENDERERS, key="renderer", horizontal=True)
    st.selectbox("Colour points by", cfg.COLOR_BY, key="color_by")
    st.slider("Point size", *cfg.RANGES["point_size"], key="point_size")
    with st.expander("Normals", expanded=True):
        st.toggle("Predicted normals", key="show_pred")
        st.toggle("True normals", key="show_gt")
        st.slider("Arrows on % of points", *cfg.RANGES["arrow_density"], key="arrow_density")
        st.slider("Arrow length", *cfg.RANGES["arrow_size"], step=0.1, key="arrow_size")
        st.toggle("Undo the transform: g⁻¹·f(g·x) over f(x)", key="show_undo")
    with st.expander("Local frames", expanded=False):
        st.toggle("Show frames (RGB = axes e1, e2, e3)", key="show_frames")
        st.slider("Frames on % of points", *cfg.RANGES["frame_density"], key="frame_density")
        st.slider("Frame size", *cfg.RANGES["frame_size"], step=0.1, key="frame_size")
        st.toggle("Highlight frame fallbacks", key="show_fallback")
    with st.expander("Messages", expanded=False):
        st.toggle("Show one node's messages", key="show_messages")
        c1, c2 = st.columns(2)
        c1.number_input("Node i", *cfg.RANGES["node"], step=1, key="node")
        c2.number_input("Neighbour #", *cfg.RANGES["neighbour"], step=1, key="neighbour")


def sidebar(trained: Sequence[str]) -> Settings:
    """Draw the controls of sections 1-3 (the picture's are drawn by :func:`picture_section`) and return
    the current :class:`Settings`."""
    pending = st.session_state.pop(PENDING_USE, None)
    if pending is not None:
        use_trained(pending)
    with st.sidebar:
        st.header("1 · Input")
        _input_section()
        st.header("2 · Transform g")
        _transform_section()
        st.header("3 · Model")
        _model_section(trained)
    return cfg.from_state(st.session_state)


def with_picture(s: Settings) -> Settings:
    """``s`` with the picture controls' current values (a picture-only rerun keeps the rest of ``s``)."""
    return s.replace(**{name: st.session_state[name] for name in cfg.PICTURE if name in st.session_state})
