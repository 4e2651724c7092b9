"""Page sections built from pipeline results: the equivariance verdict, the 3D views, the message table."""
from __future__ import annotations

import numpy as np
import streamlit as st

from app import render
from app.pipeline import LoadedModel, Results, device_label
from app.plot_view import plot_view
from app.scene import Scene, message, neighbourhood_scene
from app.settings import ARCH_LABELS, MODE_LABELS, Settings

EXACT, CLOSE = 1e-4, 5e-2
VIEW_KEY = "tfe-views"
VTKJS_HEIGHT = 640
VTKJS_KEY = "tfe-vtkjs"


def sci(x: float) -> str:
    """``2.3e-07`` as ``2.3 × 10⁻⁷`` (readable from the back of a classroom).

    >>> sci(2.3e-07), sci(0.0)
    ('2.3 × 10⁻⁷', '0')
    """
    if x == 0:
        return "0"
    mantissa, exponent = f"{x:.1e}".split("e")
    sup = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa} × 10{sup}"


def degrees(x: float) -> str:
    """An angle the way the page writes every number: ``12.3°``, or ``4.4 × 10⁻⁵°`` when tiny.

    >>> degrees(12.34), degrees(4.4e-05), degrees(0.0)
    ('12.3°', '4.4 × 10⁻⁵°', '0°')
    """
    return f"{x:.1f}°" if x >= 0.1 else f"{sci(x)}°"


def verdict(res: Results, identity: bool) -> tuple[str, str]:
    """(colour, plain-language sentence) for the equivariance of ``res``."""
    error, n_fallback = res.eq_error, int(res.fallback_any.sum())
    if identity:
        return "#546e7a", "g is the identity, so there is nothing to test yet: rotate or reflect the input."
    if error < EXACT:
        return "#2e7d32", ("Equivariant. Transforming the input transforms the predicted normals in exactly the same "
                           "way; the difference is floating-point round-off.")
    if res.gap_deg.max() < 0.01:
        return "#2e7d32", ("Equivariant up to sign. As lines the normals agree exactly, but some point the other way "
                           "(n and −n are the same unoriented normal), where the frame's orientation is ambiguous.")
    if n_fallback and res.eq_error_regular < CLOSE and n_fallback < len(res.fallback_any):
        where = "the point" if n_fallback == 1 else f"the {n_fallback} points"
        return "#f9a825", (f"Equivariant except around {where} where the local frame is degenerate "
                           f"(highlighted in pink): there the fallback frame cannot follow the transform. Away from them "
                           f"the error is {sci(res.eq_error_regular)}.")
    if n_fallback:
        return "#c62828", (f"Not equivariant, and the frames are the cause, not the architecture: {n_fallback} of "
                           f"{len(res.fallback_any)} points have no equivariant frame (highlighted in pink). The cloud "
                           "is symmetric there (a mirror maps it onto itself), so no rule can pick the frame's "
                           f"orientation and a fixed fallback is used. The prediction changes by {100 * error:.0f}%.")
    if error < CLOSE:
        return "#f9a825", f"Almost equivariant: the prediction moves with the input up to {100 * error:.1f}%."
    return "#c62828", (f"Not equivariant. Transforming the input changes the prediction by {100 * error:.0f}%: "
                       "this model sees the orientation of the object.")


def verdict_html(res: Results, identity: bool) -> str:
    """The verdict of :func:`verdict` as a coloured box (``data-tfe='verdict'``)."""
    colour, sentence = verdict(res, identity)
    return (f"<div data-tfe='verdict' style='font-size:clamp(1rem,1.7vw,1.35rem);line-height:1.4;padding:0.6rem 1rem;"
            f"border-radius:0.5rem;border-left:0.4rem solid {colour};background:{colour}14'>{sentence}</div>")


def model_caption(loaded: LoadedModel, s: Settings) -> str:
    frames = f", {s.frames} frames" if s.mode in ("scalar_frames", "tensor_frames") and s.arch != "pca" else ""
    mode = "" if s.arch == "pca" else f" · {MODE_LABELS[s.mode]}{frames}"
    untrained = ("untrained weights (no checkpoint yet): augmentation only acts through training, so this is the "
                 "plain network" if s.mode == "augment" else
                 "untrained weights (no checkpoint yet): the normals are rough, but equivariance does not depend on training")
    status = {"untrained": untrained,
              "pretrained": "pretrained", "classical": "classical, no weights",
              "trained here": "trained in this session"}[loaded.status]
    return f"**{ARCH_LABELS[s.arch]}{mode}** · {status} · runs on {device_label()}"


PAGE_STYLE = """<style>
[data-testid="stHeader"] {background: transparent; pointer-events: none;}
[data-testid="stHeader"] * {pointer-events: auto;}
[data-testid="stMainBlockContainer"] {padding-top: 1.5rem;}
[data-testid="stMainBlockContainer"] h1 {padding-top: 0; font-size: clamp(1.6rem, 3vw, 2.6rem);}
[data-testid="stMetricValue"] {font-size: clamp(1.15rem, 2.3vw, 2.25rem);}
[data-testid="stMetricValue"] div {overflow: visible; white-space: normal;}
[data-testid="stMetricLabel"] div, [data-testid="stMetricLabel"] p {overflow: visible; white-space: normal;
  text-overflow: clip;}
@media (max-width: 736px) {[data-testid="stMainBlockContainer"] {padding-top: 3.25rem;}}
</style>"""  # room for the picture on a projector (1024 x 768): less padding (the title shows through
# Streamlit's transparent toolbar strip, whose menu stays clickable; on a phone, where the sidebar's
# button sits in that strip, the title starts below it), numbers and their labels that shrink and wrap


def page_style() -> None:
    """The page's few layout rules (:data:`PAGE_STYLE`)."""
    st.html(PAGE_STYLE)


def equivariance(res: Results, loaded: LoadedModel, s: Settings) -> None:
    """The headline: the relative error in big type, a verdict, and a few supporting numbers."""
    left, right = st.columns([2, 3], vertical_alignment="center")
    left.metric("Equivariance error  ‖f(g·x) − g·f(x)‖ / ‖f(x)‖", sci(res.eq_error))
    right.markdown(verdict_html(res, s.is_identity), unsafe_allow_html=True)
    cols = st.columns(4)
    if res.err_deg is not None:
        cols[0].metric("Mean angle error on x", degrees(float(res.err_deg.mean())))
        cols[1].metric("Mean angle error on g·x", degrees(float(res.moved_err_deg.mean())))
    else:
        cols[0].metric("Mean angle error", "no ground truth")
    cols[2].metric("Largest gap f(x) vs g⁻¹f(g·x)", degrees(float(res.gap_deg.max())))
    n_fallback = int(res.pred.fallback.sum())
    cols[3].metric("Frame fallbacks", f"{n_fallback} of {len(res.pred.fallback)}",
                   help="Nodes where the frame was degenerate (flat, symmetric or ambiguous neighbourhood) and a "
                        "deterministic fallback was used: equivariance can break there.")
    st.caption(model_caption(loaded, s))


def legend_html(scene: Scene) -> str:
    """The views' titles side by side and a colour key of the single-colour layers, as HTML: the page's
    own text above a vtk.js view (its export keeps the geometry, not the text)."""
    titles = "".join(f"<div style='flex:1;text-align:center;font-weight:600'>{v.title}</div>" for v in scene.views)
    keys: dict[str, str] = {}
    for view in scene.views:
        keys.update({layer.name: layer.color for layer in view.points if layer.values is None})
        keys.update({layer.name: layer.color for layer in view.arrows if len(layer.origins)})
    key = " &nbsp; ".join(f"<span style='color:{color}'>&#9632;</span> {name}" for name, color in keys.items())
    return f"<div style='display:flex'>{titles}</div><div style='text-align:center;font-size:0.9rem'>{key}</div>"


def views(scene: Scene, s: Settings) -> None:
    """The 3D views: pyvista (vtk.js page or image) if asked for and it works, else (and by default) plotly."""
    for note in scene.notes:
        st.info(note, icon=":material/info:")
    if s.renderer.startswith("pyvista"):
        try:
            with st.spinner("Rendering with pyvista in a separate process…"):
                if "vtk.js" in s.renderer:
                    from app.stpyvista_view import stpyvista_view  # imports stpyvista: only in a running app

                    st.markdown(legend_html(scene), unsafe_allow_html=True)  # vtk.js draws no text
                    stpyvista_view(scene, VTKJS_HEIGHT, key=VTKJS_KEY)
                    st.caption("pyvista scene drawn by vtk.js in your browser: drag to rotate (the two views are "
                               "linked), scroll to zoom; your camera is kept when you change settings.")
                else:
                    st.image(render.pyvista_png(scene), width="stretch")
                    st.caption("Static pyvista image. Switch the renderer to plotly or vtk.js to rotate the views.")
            return
        except render.RenderError as exc:
            st.warning(f"The pyvista renderer did not work here ({exc}). Showing the interactive plotly view "
                       "instead.", icon=":material/image:")
    plot_view(render.plotly_figure(scene, dark=dark_theme()), key=VIEW_KEY, config={"displaylogo": False})
    if len(scene.views) > 1:
        st.caption("Drag to rotate, scroll to zoom. The two cameras are linked, and your camera is kept "
                   "when you change settings.")


def dark_theme() -> bool:
    """Whether the page shows Streamlit's dark theme (the browser's preference, or the user's pick in
    the settings menu; the light theme when it cannot be told)."""
    return getattr(st.context.theme, "type", None) == "dark"


def message_panel(res: Results, s: Settings) -> None:
    """The message j → i: a close-up of the neighbourhood (x and g·x) and the numbers sent and received."""
    msg = message(res.pred, s.node % len(res.cloud.pos), s.neighbour)
    close_up = neighbourhood_scene(res, s)
    if msg is None or close_up is None:
        return
    st.subheader(f"Message from neighbour j = {msg.sender} to node i = {msg.receiver}")
    left, right = st.columns([3, 2])
    with left:
        plot_view(render.plotly_figure(close_up, height=430, dark=dark_theme()), key="tfe-neighbourhood",
                  config={"displaylogo": False})
    with right:
        rows = {"j's vector in j's frame (sent)": msg.sent, "as i uses it, in i's frame (received)": msg.received,
                "what j means (global axes)": msg.meant_global, "what i reads (global axes)": msg.read_global}
        st.dataframe({"": list(rows), "1st": [v[0] for v in rows.values()], "2nd": [v[1] for v in rows.values()],
                      "3rd": [v[2] for v in rows.values()]}, hide_index=True)
        moved = message(res.moved_pred, msg.receiver, s.neighbour)
        same = moved is not None and np.allclose(moved.received, msg.received, atol=1e-4)
        st.markdown(_message_story(s, _agree(msg.meant_global, msg.read_global))
                    + (" In g·x the numbers i receives are the same: they are invariant; only the frames turned."
                       if same else ""))


def _agree(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.allclose(a, b, atol=1e-4 * max(1.0, float(np.abs(a).max()))))


def _message_story(s: Settings, agree: bool) -> str:
    if s.mode == "tensor_frames" and s.arch != "pca":
        return ("The purple arrow is j's vector as j means it; the teal arrow is what i reads after ρ(R_i R_jᵀ) "
                f"re-expressed it in i's frame: {'they point the same way' if agree else 'they differ'}.")
    if s.mode == "scalar_frames":
        return ("Scalar messages pass j's three numbers on unchanged, so i reads them in its own, different axes: "
                f"the teal arrow {'happens to match' if agree else 'points somewhere else than'} the purple one.")
    return ("Without local frames every node uses the same global axes, so nothing needs translating, but then "
            "nothing the network sees is invariant either.")
