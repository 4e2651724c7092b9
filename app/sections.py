"""The tour, and the Charts / Side by side / Train / Export tabs."""
from __future__ import annotations

import uuid

import streamlit as st

from tensorframes_core.models import ARCHS, FRAMES, MODES

from app import charts, controls, export, panels, pipeline, render, scene
from app.pipeline import Cloud, LoadedModel, Results
from app.plot_view import plot_view
from app.scene import Scene
from app.settings import ARCH_LABELS, MODE_LABELS, Settings
from app.tour import BY_KEY, LESSONS
from app.training import TrainJob
from app.whole_file import WholeFileJob

JOB = "_tfe_job"
TRAINED = controls.TRAINED


# ----------------------------------------------------------------------------- tour
ACTIVE_LESSON = "_tfe_active_lesson"


def _set_up(key: str) -> None:
    controls.apply_values(BY_KEY[key].values)
    st.session_state[ACTIVE_LESSON] = key


def tour() -> None:
    """Lesson picker, its text, and a button that sets every control for it. Setting a lesson up folds the
    tour (a new label is a new, closed expander), so the picture comes up into view."""
    active = st.session_state.get(ACTIVE_LESSON)
    label = ("Classroom tour: seven one-minute lessons (each sets up the page for you)" if active is None else
             f"Classroom tour · set up: {BY_KEY[active].title} (open for its text and the other lessons)")
    with st.expander(label, expanded=False):
        key = st.radio("Lesson", [lesson.key for lesson in LESSONS], key="_tfe_lesson", horizontal=True,
                       format_func=lambda k: BY_KEY[k].title)
        lesson = BY_KEY[key]
        st.markdown(f"#### {lesson.title}\n{lesson.text}")
        st.button("▶ Set up this lesson", on_click=_set_up, args=(key,), type="primary")
        st.caption("The address bar always holds a link to exactly what you see: copy it to share a lesson.")


# ----------------------------------------------------------------------------- charts
def counterpart(s: Settings) -> tuple[str, str]:
    """``(arch, mode)`` to set beside the chosen model: the same network without frames, or with tensor
    frames if a plain (or augmented) network is chosen; GCN for PCA."""
    arch = s.arch if s.arch != "pca" else "gcn"
    return arch, "tensor_frames" if s.mode in ("baseline", "augment") and s.arch != "pca" else "baseline"


def model_label(loaded: LoadedModel, s: Settings) -> str:
    """How the page names a model: architecture and mode, or the name given to one trained here."""
    return f"{ARCH_LABELS[s.arch]} · {MODE_LABELS[s.mode]}" if loaded.status != "trained here" else s.weights


def charts_tab(res: Results, loaded: LoadedModel, s: Settings, cloud: Cloud) -> None:
    """Orbit sweep and angle-error histograms for this model vs the baseline (computed on request)."""
    if not st.toggle("Compute the comparison charts (runs the baseline and a sweep of rotations; cached afterwards)",
                     key="_tfe_charts"):
        st.caption("The sweep measures the equivariance error for rotations every 15° about the chosen axis, with "
                   "and without the mirror, for the chosen model and for the same architecture in the other "
                   "setting: without frames, or with tensor frames if you chose a plain network.")
        return
    arch, other_mode = counterpart(s)
    baseline = pipeline.shared_model(arch, other_mode, s.frames)
    by_axis = s.rot_mode == "axis + angle"
    axis = s.axis if by_axis else "z"
    ours, base = model_label(loaded, s), f"{ARCH_LABELS[arch]} · {MODE_LABELS[other_mode]}"
    with st.spinner("Sweeping rotations…"):
        curves = {}
        for label, model in ((ours, loaded), (base, baseline)):
            curves[label] = pipeline.orbit_sweep(model.key, model.model, cloud.pos, axis, None)
            curves[f"{label} + mirror ⟂{s.mirror}"] = pipeline.orbit_sweep(model.key, model.model, cloud.pos,
                                                                             axis, s.mirror)
        base_res = pipeline.run(cloud, res.g, baseline)
    sweep = charts.sweep_figure(pipeline.SWEEP_ANGLES, curves, axis, current=s.angle if by_axis else None)
    plot_view(sweep, key="tfe-sweep")
    st.download_button("Download this chart (HTML)", lambda: export.figure_html(sweep), "orbit_sweep.html",
                       "text/html", key="dl-sweep")
    if res.err_deg is None:
        st.info("This cloud has no ground-truth normals, so there is no angle-error histogram.")
        return
    hist = charts.histogram_figure({f"{ours} on x": res.err_deg, f"{ours} on g·x": res.moved_err_deg,
                                    f"{base} on x": base_res.err_deg, f"{base} on g·x": base_res.moved_err_deg})
    plot_view(hist, key="tfe-hist")
    st.download_button("Download this chart (HTML)", lambda: export.figure_html(hist), "angle_errors.html",
                       "text/html", key="dl-hist")


# ----------------------------------------------------------------------------- side by side
def side_by_side_tab(res: Results, loaded: LoadedModel, s: Settings, cloud: Cloud) -> None:
    """Two models on the same cloud and the same g, each with its own verdict and view (on request)."""
    if not st.toggle("Show a second model next to this one (same cloud, same g)", key="_tfe_compare"):
        st.caption("Puts another network beside the chosen one, say the plain network next to its tensor-frames "
                   "version: both see exactly this cloud and this transform, and each gets its own verdict.")
        return
    arch, mode = counterpart(s)
    pick_arch, pick_mode = st.columns(2)
    arch = pick_arch.selectbox("Second model", ARCHS, index=ARCHS.index(arch), key="_tfe_compare_arch",
                               format_func=ARCH_LABELS.get)
    mode = pick_mode.selectbox("its mode", MODES, index=MODES.index(mode), key="_tfe_compare_mode",
                               format_func=MODE_LABELS.get, disabled=arch == "pca")
    other = pipeline.shared_model(arch, mode, s.frames)
    with st.spinner("Running the second model…"):
        other_res = pipeline.run(cloud, res.g, other)
    other_s = s.replace(arch=arch, mode=mode, weights="default")
    sides = ((loaded, res, s), (other, other_res, other_s))
    for side, (column, (model, run, state)) in enumerate(zip(st.columns(2), sides)):
        with column:
            st.markdown(f"**{model_label(model, state)}** · {model.status}")
            st.metric("Equivariance error", panels.sci(run.eq_error))
            st.markdown(panels.verdict_html(run, s.is_identity), unsafe_allow_html=True)
            if run.moved_err_deg is not None:
                st.caption(f"Mean angle error on g·x: {panels.degrees(float(run.moved_err_deg.mean()))}")
            view = scene.build_scene(run, state.replace(layout="overlay", show_messages=False))
            plot_view(render.plotly_figure(view, height=460, dark=panels.dark_theme()), key=f"tfe-side-{side}",
                      config={"displaylogo": False})


# ----------------------------------------------------------------------------- any PyG layer
LAYER_CALLS = {"PointNetConv": "conv(x, pos, edge_index, frames=R)"}


def any_layer_tab(cloud: Cloud, g, identity: bool) -> None:
    """A layer from torch_geometric.nn, as it is and wrapped by make_equivariant, on this cloud and this g."""
    from tensorframes_core.nn.layer_zoo import LAYERS, OUT_REPS

    st.markdown("Pick any message-passing layer from `torch_geometric.nn`. The page gives it random weights "
                "(equivariance is a property of the architecture, not of training), feeds it each point's "
                "position, and measures ‖f(g·x) − g·f(x)‖ / ‖f(x)‖ for the transform g in the sidebar: as PyG "
                "ships it, and wrapped by `make_equivariant` in PCA frames.")
    name = st.selectbox("PyG layer", LAYERS, key="_tfe_layer")
    if not st.toggle("Measure it live (reruns the layer on every change of g)", key="_tfe_layer_on"):
        return
    if identity:
        st.info("g is the identity: turn the angle or mirror the cloud in the sidebar to test something.")
        return
    with st.spinner(f"Running {name} on x and g·x…"):
        errors = pipeline.layer_errors(name, cloud.pos, g)
    c1, c2 = st.columns(2)
    c1.metric(f"{name} as PyG ships it", panels.sci(errors["plain"]),
              help="Works on global coordinates: a turned input gives a different output.")
    c2.metric(f"make_equivariant({name})", panels.sci(errors["tensor frames"]),
              help="The same weights in local frames, messages moved by ρ(R_i R_jᵀ): round-off only.")
    call = LAYER_CALLS.get(name, "conv(x, edge_index, frames=R)")
    st.code(f"conv = make_equivariant(torch_geometric.nn.{name}(...), local={{'x': reps}})\n"
            f"R = pca_frames(pos).matrices\n"
            f"y = to_global({call.replace('x,', 'to_local(x, in_reps, R),', 1)}, '{OUT_REPS}', R)",
            language="python")


# ----------------------------------------------------------------------------- training
def _start(arch: str, mode: str, frames: str, steps: int, n_points: int) -> None:
    count = len(st.session_state.get(TRAINED, {})) + 1
    label = f"#{count} {ARCH_LABELS[arch]} · {MODE_LABELS[mode]}" + (f" ({frames} frames)" if "frames" in mode else "")
    st.session_state[JOB] = TrainJob(arch, mode, frames, steps=steps, n_points=n_points, label=label).start()


def _register(job: TrainJob) -> bool:
    """Offer a finished job's model under Model → Weights; True if it was new."""
    trained = st.session_state.setdefault(TRAINED, {})
    if job.model is None or job.label in trained:
        return False
    trained[job.label] = job
    return True


def _progress() -> None:
    job: TrainJob = st.session_state[JOB]
    st.progress(job.progress, text=f"{job.label}: step {len(job.losses)} of {job.steps} · {job.status}")
    if job.losses:
        plot_view(charts.loss_figure(job.losses, window=TrainJob.BATCHES), key="tfe-loss")
    if job.running:
        st.button("Stop training", on_click=job.stop, key="tfe-stop")
        return
    if job.status == "failed":
        st.error(f"Training failed: {job.message}. Try fewer points or another architecture.")
        return
    if _register(job):
        st.rerun(scope="app")
    st.success(f"Model “{job.label}” is ready ({job.status}, final loss {job.losses[-1]:.3f})."
               if job.losses else f"Model “{job.label}” is ready.")
    if st.button("Use this model now", type="primary", key="tfe-use"):
        st.session_state[controls.PENDING_USE] = job.label  # the sidebar applies it before its widgets run
        st.rerun(scope="app")


def train_tab() -> None:
    """Start a small training run in the background; progress, live loss, stop; the result is selectable."""
    job: TrainJob | None = st.session_state.get(JOB)
    busy = job is not None and job.running
    with st.form("tfe-train"):
        c = st.columns(3)
        trainable = [a for a in ARCHS if a != "pca"]
        arch = c[0].selectbox("Architecture", trainable, index=trainable.index("gcn"), format_func=ARCH_LABELS.get)
        mode = c[1].selectbox("Mode", MODES, index=MODES.index("tensor_frames"), format_func=MODE_LABELS.get)
        frames = c[2].selectbox("Frames", FRAMES)
        c = st.columns(2)
        steps = c[0].slider("Steps", 5, 300, 40, step=5)
        n_points = c[1].slider("Points per shape", 128, 1024, 256, step=64)
        start = st.form_submit_button("Start training", disabled=busy, type="primary")
    st.caption("Trains on procedural shapes with exact normals (loss 1 − |cos|), in the background: you can keep "
               "exploring meanwhile. On a laptop CPU, GCN takes about a second per step.")
    if start and not busy:
        _start(arch, mode, frames, steps, n_points)
        job = st.session_state[JOB]
    if job is not None:
        st.fragment(_progress, run_every=1.0 if job.running else None)()


def trained_model(label: str) -> tuple[LoadedModel, TrainJob]:
    """The in-session trained model called ``label`` (a key unique to this browser session)."""
    job: TrainJob = st.session_state[TRAINED][label]
    sid = st.session_state.setdefault("_tfe_sid", uuid.uuid4().hex)
    return LoadedModel(job.model, f"trained/{sid}/{label}", "trained here"), job


# ----------------------------------------------------------------------------- whole file
WHOLE = "_tfe_whole_file"


def whole_file_section(cloud: Cloud) -> None:
    """For an upload larger than the display cap: normals for every point of the file, computed in the
    background (the page stays live) and offered as a binary PLY."""
    upload = st.session_state.get("upload")
    if upload is None or not any("subsampl" in notice for notice in cloud.notices):
        return
    st.subheader("Normals for the whole file")
    job: WholeFileJob | None = st.session_state.get(WHOLE)
    if job is not None and job.filename != upload.name:
        job = None
    if job is None:
        st.caption(f"The views show a sample of {upload.name}; this computes normals for every point of the file "
                   "(in input order) in the background, with the flagship estimator as `tensorframes normals` does.")
        if st.button("Compute normals for every point", key="tfe-whole"):
            st.session_state[WHOLE] = WholeFileJob(upload.getvalue(), upload.name).start()
            st.rerun()
        return
    st.fragment(_whole_file_progress, run_every=1.0 if job.running else None)()


def _whole_file_progress() -> None:
    job: WholeFileJob = st.session_state[WHOLE]
    if job.status == "failed":
        st.error(f"Could not compute the normals: {job.message}")
        return
    if job.status != "done":
        st.progress(job.progress, text=f"{job.filename}: {job.status}…")
        return
    st.download_button(f"Normals for all {job.n_points:,} points (PLY)", job.result,
                       f"{job.filename.rsplit('.', 1)[0]}_normals.ply", "application/octet-stream", key="dl-whole")


# ----------------------------------------------------------------------------- export
def export_tab(res: Results, scene: Scene) -> None:
    """Normals as CSV/PLY (original and transformed input), the 3D views as interactive HTML."""
    name = res.cloud.name or "cloud"
    c = st.columns(4)
    c[0].download_button("Normals on x (CSV)", export.normals_csv(res.cloud.pos, res.pred.normals),
                         f"{name}_normals.csv", "text/csv", key="dl-csv")
    c[1].download_button("Normals on x (PLY)", export.normals_ply(res.cloud.pos, res.pred.normals),
                         f"{name}_normals.ply", "application/octet-stream", key="dl-ply")
    c[2].download_button("Normals on g·x (CSV)", export.normals_csv(res.moved_pos, res.moved_pred.normals),
                         f"{name}_transformed_normals.csv", "text/csv", key="dl-csv-g")
    c[3].download_button("Normals on g·x (PLY)", export.normals_ply(res.moved_pos, res.moved_pred.normals),
                         f"{name}_transformed_normals.ply", "application/octet-stream", key="dl-ply-g")
    st.download_button("3D views as an interactive HTML file (works offline)",
                       lambda: export.figure_html(render.plotly_figure(scene)), f"{name}_scene.html", "text/html",
                       key="dl-scene")
